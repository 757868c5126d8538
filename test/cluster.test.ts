/**
 * A replicated cluster of real processes — nats-server, three voting
 * members, one observer, two gateways — as clients see it when nothing is
 * failing but a gateway: one leader, the same data through every gateway and
 * every learner, ZooKeeper's client API and kazoo's Lock recipe through
 * either gateway, and sessions that survive `kill -9` of their gateway.
 * Failover of members is in cluster-failover.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './harness.js';
import { Cluster } from './cluster/harness.js';
import { KazooHolder, clientPerLearner, connectClient, kazoo, sessionOf, within } from './cluster/clients.js';
import { CreateMode, Exception, errCode } from './clients/nzk.js';

let cluster: Cluster;

beforeAll(async () => {
  cluster = await Cluster.start({ tickTime: 200 });
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

describe('a healthy cluster', () => {
  it('has exactly one leader, and `zooid status --json` shows roles, epochs and zxids', async () => {
    const s = await cluster.settled();
    expect(cluster.leaders()).toHaveLength(1);
    // A write so the zxids say something.
    const c = await connectClient(cluster.connectString);
    await c.create('/status-probe', Buffer.from('x'));
    await c.close();
    const zxid = await cluster.converged();

    const { code, view, stderr } = await cluster.status();
    expect(code, stderr).toBe(0);
    const rows = new Map(view.members.map((m) => [m.id, m]));
    expect([...rows.keys()].sort()).toEqual(['1', '2', '3', 'obs1']);
    const leaders = view.members.filter((m) => m.role === 'leading');
    expect(leaders.map((m) => m.id)).toEqual([s.leader.id]);
    for (const m of cluster.members) {
      const row = rows.get(m.id)!;
      expect(row.role).toBe(m === s.leader ? 'leading' : 'following');
      expect(row.pid).toBe(m.pid);
    }
    expect(rows.get('obs1')!.role).toBe('observing');
    for (const row of view.members) {
      expect(row.epoch).toBe(s.epoch);
      expect(row.zxid).toBe('0x' + zxid.toString(16));
      // zxid = epoch << 32 | counter: the write above is in this epoch.
      expect(Math.floor(Number(row.zxid) / 2 ** 32)).toBe(s.epoch);
      expect(row.lag).toBe(0);
    }
    expect(view.gateways.map((g) => [g.id, g.clientPort]).sort()).toEqual(cluster.gateways.map((g) => [g.id, g.port]).sort());
  });
});

describe('one state, seen through every gateway and learner', () => {
  it('a write through one gateway is visible through the other after sync, and sessions on every learner (the observer too) read the same data', async () => {
    const [gw1, gw2] = cluster.gateways as [(typeof cluster.gateways)[0], (typeof cluster.gateways)[0]];
    const a = await connectClient(gw1.hostPort);
    const b = await connectClient(gw2.hostPort);
    await a.create('/vis', Buffer.from('v0'));
    for (let i = 0; i < 5; i++) await a.create(`/vis/a${i}`, Buffer.from(`a${i}`));
    await a.setData('/vis', Buffer.from('from-gw1'));
    // kazoo through the other gateway only: sync, then read.
    const seen2 = await kazoo<{ children: string[]; data: string }>(['readback', gw2.hostPort, '/vis']);
    expect(seen2.children).toEqual(['a0', 'a1', 'a2', 'a3', 'a4']);
    expect(seen2.data).toBe('from-gw1');

    // And the other way round.
    for (let i = 0; i < 5; i++) await b.create(`/vis/b${i}`);
    await b.setData('/vis', Buffer.from('from-gw2'));
    const seen1 = await kazoo<{ children: string[]; data: string }>(['readback', gw1.hostPort, '/vis']);
    expect(seen1.children).toEqual(['a0', 'a1', 'a2', 'a3', 'a4', 'b0', 'b1', 'b2', 'b3', 'b4']);
    expect(seen1.data).toBe('from-gw2');
    await Promise.all([a.close(), b.close()]);

    // A session pinned to each learner — the observer included.
    const ids = cluster.learners.map((n) => n.id);
    const per = await clientPerLearner(cluster, ids);
    try {
      const obs = per.get('obs1')!;
      // A write from the observer's session goes to the leader and is read back there (read-your-writes).
      await obs.create('/vis/obs', Buffer.from('written-via-observer'));
      expect((await obs.getData('/vis/obs')).data!.toString()).toBe('written-via-observer');
      await cluster.converged();
      const views = new Map<string, unknown>();
      for (const [learner, c] of per) {
        const kids = (await c.getChildren('/vis')).children.sort();
        const { data, stat } = await c.getData('/vis');
        const obsNode = await c.getData('/vis/obs');
        views.set(learner, { kids, data: data!.toString(), version: stat.version, mzxid: stat.mzxid.toString('hex'), obs: obsNode.data!.toString() });
      }
      const first = views.get('obs1');
      expect(first).toMatchObject({ data: 'from-gw2', version: 2, obs: 'written-via-observer' });
      expect((first as { kids: string[] }).kids).toHaveLength(11);
      for (const [learner, v] of views) expect(v, `learner ${learner}`).toEqual(first);
    } finally {
      await Promise.all([...per.values()].map((c) => c.close()));
    }
  });
});

const OP = { create: 1, delete: 2, setData: 5, check: 13, error: -1 };

describe('ZooKeeper clients through a cluster gateway', () => {
  it('node-zookeeper-client: create/get/set/children/multi/ephemeral through each gateway', async () => {
    const other = cluster.gateways;
    for (const [i, gw] of cluster.gateways.entries()) {
      const root = `/nzk-${gw.id}`;
      const c = await connectClient(gw.hostPort);
      const peer = await connectClient(other[(i + 1) % other.length]!.hostPort);
      expect(await c.create(root, Buffer.from('a'))).toBe(root);
      expect(await errCode(c.create(root))).toBe(Exception.NODE_EXISTS);
      let g = await c.getData(root);
      expect([g.data!.toString(), g.stat.version]).toEqual(['a', 0]);
      const st = await c.setData(root, Buffer.from('b'), 0);
      expect(st.version).toBe(1);
      expect(await errCode(c.setData(root, Buffer.from('stale'), 0))).toBe(Exception.BAD_VERSION);
      g = await c.getData(root);
      expect([g.data!.toString(), g.stat.version]).toEqual(['b', 1]);
      await c.create(`${root}/k1`);
      const seq = await c.create(`${root}/s-`, null, undefined, CreateMode.PERSISTENT_SEQUENTIAL);
      expect(seq).toMatch(new RegExp(`^${root}/s-\\d{10}$`));
      expect((await c.getChildren(root)).children.sort()).toEqual(['k1', seq.split('/').pop()]);

      const results = await c.commit((t: any) => t.create(`${root}/m1`, Buffer.from('m')).setData(root, Buffer.from('c'), 1).check(root, 2).remove(`${root}/k1`));
      expect(results.map((r: any) => r.type)).toEqual([OP.create, OP.setData, OP.check, OP.delete]);
      let failed: any;
      try {
        await c.commit((t: any) => t.create(`${root}/m2`).setData(root, Buffer.from('d')).check(root, 99));
      } catch (err) {
        failed = err;
      }
      expect(failed?.getCode?.()).toBe(Exception.BAD_VERSION);
      expect(await c.exists(`${root}/m2`)).toBeNull();
      g = await c.getData(root);
      expect([g.data!.toString(), g.stat.version]).toEqual(['c', 2]);

      const eph = await c.create(`${root}/eph`, Buffer.from('e'), undefined, CreateMode.EPHEMERAL);
      const owner = (await c.exists(eph))!.ephemeralOwner.readBigUInt64BE(0);
      expect(owner).toBe(sessionOf(c));
      // The peer, through the other gateway, sees the multi's result and the ephemeral.
      await waitFor('the peer to see the ephemeral', async () => (await peer.exists(eph)) !== null, 5000);
      expect((await peer.getChildren(root)).children.sort()).toEqual(['eph', 'm1', seq.split('/').pop()].sort());
      expect((await peer.getData(root)).data!.toString()).toBe('c');
      // Closing the session removes its ephemeral for everyone.
      await c.close();
      await waitFor('the ephemeral to go with its session', async () => (await peer.exists(eph)) === null, 5000);
      await peer.close();
    }
  });

  it("kazoo's Lock recipe: two sessions on different gateways exclude each other", async () => {
    const [gw1, gw2] = cluster.gateways;
    const rounds = 15;
    const r = await kazoo<{ counterA: number; counterB: number; overlaps: number; order: string; contenders: string[] }>(['lock', gw1!.hostPort, gw2!.hostPort, '/kz-lock', String(rounds)], 90);
    expect(r.overlaps).toBe(0);
    expect(r.counterA).toBe(2 * rounds);
    expect(r.counterB).toBe(2 * rounds);
    expect(r.order.length).toBe(2 * rounds);
    expect(r.order).toContain('a');
    expect(r.order).toContain('b');
    // Every lock node went away with its release.
    expect(r.contenders).toEqual([]);
  }, 120_000);
});

describe('losing a gateway', () => {
  it('kill -9 of a gateway: its sessions (node-zookeeper-client and kazoo) continue through the other with the same session id, ephemerals and watches intact', async () => {
    const c = await connectClient(cluster.connectString);
    const sid = sessionOf(c);
    await c.create('/gwkill', Buffer.from('0'));
    const eph = await c.create('/gwkill/eph', Buffer.from('mine'), undefined, CreateMode.EPHEMERAL);
    const events: { type: number; path: string }[] = [];
    await c.getData('/gwkill', (e) => events.push({ type: e.type, path: e.path }));
    const port = c.raw.connectionManager.socket.remotePort as number;
    const victim = cluster.gateways.find((g) => g.port === port)!;
    const survivor = cluster.gateways.find((g) => g !== victim)!;
    expect(victim, `connected to port ${port}`).toBeDefined();
    // A kazoo session on the same gateway, with an ephemeral of its own.
    const kz = new KazooHolder(`${victim.hostPort},${survivor.hostPort}`, '/gwkill/kazoo');
    const kzBefore = await kz.next();
    expect(kzBefore.port).toBe(victim.port);
    expect(kzBefore.owner).toBe(kzBefore.sessionId);

    const t0 = Date.now();
    await victim.kill();
    await waitFor('the client to reconnect through the other gateway', () => c.raw.connectionManager.socket?.remotePort === survivor.port && c.raw.getState().name === 'SYNC_CONNECTED', 15_000, 20);
    // The first request after the move answers, with the same session.
    expect((await within(c.getData('/gwkill/eph'), 10_000, 'getData')).data!.toString()).toBe('mine');
    const moved = Date.now() - t0;
    console.log(`[cluster] gateway ${victim.id} killed: session 0x${sid.toString(16)} answered through ${survivor.id} after ${moved} ms`);
    expect(sessionOf(c)).toBe(sid);
    expect(c.states).not.toContain('EXPIRED');

    // The watch set before the move fires after it (re-registered by setWatches).
    const peer = await connectClient(survivor.hostPort);
    await peer.setData('/gwkill', Buffer.from('1'));
    await waitFor('the data watch to fire', () => events.length > 0, 5000);
    expect(events).toEqual([{ type: 3, path: '/gwkill' }]);

    // The session outlives its timeout: the surviving gateway keeps it alive.
    const until = Date.now() + c.sessionTimeout + 1000;
    let i = 0;
    while (Date.now() < until) {
      expect((await within(c.exists(eph), 5000, 'exists')) !== null).toBe(true);
      await c.setData('/gwkill', Buffer.from(String(++i)));
    }
    const st = await peer.exists(eph);
    expect(st?.ephemeralOwner.readBigUInt64BE(0)).toBe(sid);
    expect(c.states).not.toContain('EXPIRED');
    // kazoo moved too, past its session timeout, with its session and ephemeral.
    const kzAfter = await kz.check();
    expect(kzAfter).toMatchObject({ port: survivor.port, sessionId: kzBefore.sessionId, owner: kzBefore.sessionId });
    expect(kzAfter.states).not.toContain('LOST');
    const kzNode = await peer.exists('/gwkill/kazoo');
    expect('0x' + kzNode!.ephemeralOwner.readBigUInt64BE(0).toString(16)).toBe(kzBefore.sessionId);
    await kz.quit();
    await waitFor('the kazoo ephemeral to go with its closed session', async () => (await peer.exists('/gwkill/kazoo')) === null, 5000);
    await c.close();
    await waitFor('the ephemeral to go with the closed session', async () => (await peer.exists(eph)) === null, 5000);
    await peer.close();

    // Bring the gateway back for whatever runs next.
    victim.start();
    await cluster.settled();
    await waitFor(`gateway ${victim.id} to accept sessions again`, async () => {
      const back = await connectClient(victim.hostPort).catch(() => undefined);
      if (!back) return false;
      await back.close();
      return true;
    }, 15_000, 200);
  }, 60_000);
});
