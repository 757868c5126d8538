/**
 * Promise 7: sessions expire only when the leader has heard nothing for
 * their timeout; expiry deletes the session's ephemerals in the same
 * transaction; a session survives the loss of its gateway and a leader
 * change within its timeout. Real processes, two gateways, tickTime 500 ms
 * (so timeouts negotiate to [1 s, 10 s]).
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import zookeeper from 'node-zookeeper-client';
import { CreateFlags, Err, EventType, OpCode } from '@zooid/protocol';
import { startProc, startStandalone, waitFor, waitServing, type Proc, type Standalone } from './harness.js';
import { RawClient, req, socketClosed, type Incoming } from './support/raw-client.js';
import { alive, signal } from './support/procs.js';

const TICK = 500;
let zk: Standalone;
let watcher: RawClient;

beforeAll(async () => {
  zk = await startStandalone({ tickTime: TICK, gateways: 2 });
  // A long-lived observer on the second gateway, for watches and checks.
  watcher = await RawClient.connect(zk.ports[1]!, { timeOut: 10_000 });
});

afterAll(async () => {
  watcher?.destroy();
  await zk?.stop();
});

function gatewayArgs(i: number): string[] {
  return ['gateway', '--nats', zk.nats.url, '--id', `gw${i}`, '--client-port', String(zk.ports[i]), '--host', '127.0.0.1', '--tick-time', String(TICK), '--admin-port', '0'];
}

async function restartGateway(i: number): Promise<void> {
  const g = zk.gateways[i]!;
  if (alive(g)) {
    g.child.kill('SIGKILL');
    await g.exited;
  }
  zk.gateways[i] = startProc(`gateway${i}`, gatewayArgs(i));
  await waitServing(zk.ports[i]!, 30_000);
}

type Stat = { ephemeralOwner: bigint; pzxid: number; czxid: number };

async function stat(c: RawClient, path: string): Promise<Stat | undefined> {
  const r = await c.call(OpCode.exists, req.exists(path));
  if (r.err === Err.NONODE) return undefined;
  expect(r.err).toBe(Err.OK);
  return (r.body as { stat: Stat }).stat;
}

async function mkdir(c: RawClient, path: string): Promise<void> {
  const r = await c.call(OpCode.create, req.create(path, ''));
  expect([Err.OK, Err.NODEEXISTS]).toContain(r.err);
}

function deletedEvent(path: string) {
  return (m: Incoming) => m.kind === 'notification' && m.event.type === EventType.NodeDeleted && m.event.path === path;
}

describe('timeout negotiation', () => {
  it('clamps the requested timeout to [2, 20] × tickTime in the ConnectResponse', async () => {
    for (const [asked, expected] of [
      [1, 2 * TICK],
      [600_000, 20 * TICK],
      [4000, 4000],
    ] as const) {
      const c = await RawClient.connect(zk.ports[0]!, { timeOut: asked });
      expect({ asked, got: c.session.timeOut }).toEqual({ asked, got: expected });
      expect(c.session.passwd.length).toBe(16);
      await c.close();
    }
  });
});

describe('session passwords at rest', () => {
  it('are nowhere in the member\'s log or snapshots, yet the session reconnects with its password', async () => {
    const a = await RawClient.connect(zk.ports[0]!, { timeOut: 6000 });
    const passwd = Buffer.from(a.session.passwd);
    // A write after it, so the createSession is surely on disk.
    expect((await a.call(OpCode.create, req.create('/s-secret', 'x', CreateFlags.EPHEMERAL))).err).toBe(Err.OK);
    const files = readdirSync(zk.dataDir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile());
    expect(files.length).toBeGreaterThan(0);
    for (const f of files) {
      const path = join(f.parentPath, f.name);
      let bytes: Buffer;
      try {
        bytes = readFileSync(path);
      } catch {
        continue; // a spare segment being prepared, renamed meanwhile
      }
      expect(bytes.includes(passwd), `the password is in ${path}`).toBe(false);
    }
    a.destroy();
    const again = await a.resume(zk.ports[1]!);
    expect(again.response!.sessionId).toBe(a.sessionId);
    await again.client!.close();
  });
});

describe('reconnecting with id and password', () => {
  it('keeps the session and its ephemerals through the same and through another gateway', async () => {
    await mkdir(watcher, '/s-move');
    const a = await RawClient.connect(zk.ports[0]!, { timeOut: 6000 });
    expect((await a.call(OpCode.create, req.create('/s-move/e', 'x', CreateFlags.EPHEMERAL))).err).toBe(Err.OK);

    a.destroy();
    const same = await a.resume(zk.ports[0]!);
    expect(same.client, 'refused on the same gateway').toBeDefined();
    expect(same.response!.sessionId).toBe(a.sessionId);
    expect(same.response!.timeOut).toBe(6000);
    expect(Buffer.from(same.response!.passwd).equals(Buffer.from(a.session.passwd))).toBe(true);
    expect((await stat(same.client!, '/s-move/e'))?.ephemeralOwner).toBe(a.sessionId);

    same.client!.destroy();
    const other = await same.client!.resume(zk.ports[1]!);
    expect(other.client, 'refused on the other gateway').toBeDefined();
    expect(other.response!.sessionId).toBe(a.sessionId);
    const b = other.client!;
    expect((await stat(b, '/s-move/e'))?.ephemeralOwner).toBe(a.sessionId);
    // still the owner: a new ephemeral belongs to the same session
    expect((await b.call(OpCode.create, req.create('/s-move/f', 'y', CreateFlags.EPHEMERAL))).err).toBe(Err.OK);
    expect((await stat(watcher, '/s-move/f'))?.ephemeralOwner).toBe(a.sessionId);
    await b.close();
    expect(await stat(watcher, '/s-move/e')).toBeUndefined();
    expect(await stat(watcher, '/s-move/f')).toBeUndefined();
  });

  it("answers a wrong password as ZooKeeper does (timeOut 0, no session) and leaves the session alone", async () => {
    await mkdir(watcher, '/s-pw');
    const a = await RawClient.connect(zk.ports[0]!, { timeOut: 6000 });
    expect((await a.call(OpCode.create, req.create('/s-pw/e', 'x', CreateFlags.EPHEMERAL))).err).toBe(Err.OK);

    const wrong = Buffer.from(a.session.passwd);
    wrong[0] = wrong[0]! ^ 0xff;
    const h = await a.resume(zk.ports[1]!, { passwd: wrong });
    expect(h.client).toBeUndefined();
    expect(h.response, 'no ConnectResponse before the close').toBeDefined();
    expect(h.response!.timeOut).toBe(0);
    expect(h.response!.sessionId).toBe(0n);

    // node-zookeeper-client reports it as an expired session
    const nzk = zookeeper.createClient(`127.0.0.1:${zk.ports[1]}`, {
      sessionTimeout: 6000,
      retries: 0,
      sessionId: Buffer.from(a.sessionId.toString(16).padStart(16, '0'), 'hex'),
      sessionPassword: wrong,
    } as never);
    const state = new Promise<string>((resolve) => {
      nzk.on('state', (s: { name: string }) => {
        if (s.name !== 'DISCONNECTED') resolve(s.name);
      });
    });
    nzk.connect();
    expect(await Promise.race([state, new Promise((r) => setTimeout(() => r('no state within 10 s'), 10_000))])).toBe('EXPIRED');
    nzk.close();

    // the real owner is untouched
    expect((await a.call(OpCode.getData, req.getData('/s-pw/e'))).err).toBe(Err.OK);
    expect((await stat(watcher, '/s-pw/e'))?.ephemeralOwner).toBe(a.sessionId);
    await a.close();
  });
});

describe('expiry', () => {
  it('expires a client that stays connected but goes silent, deleting all its ephemerals in one transaction', async () => {
    await mkdir(watcher, '/s-silent');
    await mkdir(watcher, '/s-silent/p1');
    await mkdir(watcher, '/s-silent/p2');
    const timeout = 2000;
    const a = await RawClient.connect(zk.ports[0]!, { timeOut: timeout, pingEvery: 0 });
    expect(a.session.timeOut).toBe(timeout);
    const eph = ['/s-silent/p1/a', '/s-silent/p1/b', '/s-silent/p2/c'];
    for (const p of eph) expect((await a.call(OpCode.create, req.create(p, 'x', CreateFlags.EPHEMERAL))).err).toBe(Err.OK);
    const lastHeard = Date.now();
    for (const p of eph) expect((await watcher.call(OpCode.exists, req.exists(p, true))).err).toBe(Err.OK);

    // Not before its timeout...
    await new Promise((r) => setTimeout(r, timeout - 400));
    for (const p of eph) expect(await stat(watcher, p), `${p} deleted before the timeout`).toBeDefined();
    // ...but soon after it.
    const events = await Promise.all(eph.map((p) => watcher.waitFor(deletedEvent(p), timeout + 5000, `NodeDeleted ${p}`)));
    const deletedAt = Date.now();
    expect(deletedAt - lastHeard).toBeGreaterThanOrEqual(timeout - 100);
    expect(deletedAt - lastHeard).toBeLessThan(timeout + 3000);
    expect(events.every((e) => e.kind === 'notification')).toBe(true);
    // One transaction: both parents' child lists changed at the same zxid.
    const [p1, p2] = [await stat(watcher, '/s-silent/p1'), await stat(watcher, '/s-silent/p2')];
    expect(p1!.pzxid).toBe(p2!.pzxid);
    for (const p of eph) expect(await stat(watcher, p)).toBeUndefined();
    // The silent client's connection is closed, and the session is gone for good.
    await socketClosed(a.socket, 5000);
    const h = await a.resume(zk.ports[0]!);
    expect(h.client).toBeUndefined();
    expect(h.response?.timeOut).toBe(0);
  });

  it('expires a client whose connection dropped only after its timeout', async () => {
    await mkdir(watcher, '/s-drop');
    const timeout = 3000;
    const a = await RawClient.connect(zk.ports[0]!, { timeOut: timeout });
    expect((await a.call(OpCode.create, req.create('/s-drop/e', 'x', CreateFlags.EPHEMERAL))).err).toBe(Err.OK);
    expect((await watcher.call(OpCode.exists, req.exists('/s-drop/e', true))).err).toBe(Err.OK);
    a.destroy();
    const droppedAt = Date.now();
    const ev = watcher.waitFor(deletedEvent('/s-drop/e'), timeout + 5000, 'NodeDeleted /s-drop/e');
    await new Promise((r) => setTimeout(r, timeout - 500));
    expect(await stat(watcher, '/s-drop/e'), 'deleted before the timeout').toBeDefined();
    await ev;
    expect(Date.now() - droppedAt).toBeGreaterThanOrEqual(timeout - 100);
  });

  it('closeSession removes the ephemerals at once, not at the timeout', async () => {
    await mkdir(watcher, '/s-close');
    const a = await RawClient.connect(zk.ports[0]!, { timeOut: 10_000 });
    expect((await a.call(OpCode.create, req.create('/s-close/e', 'x', CreateFlags.EPHEMERAL))).err).toBe(Err.OK);
    expect((await watcher.call(OpCode.exists, req.exists('/s-close/e', true))).err).toBe(Err.OK);
    const t0 = Date.now();
    const ev = watcher.waitFor(deletedEvent('/s-close/e'), 5000, 'NodeDeleted /s-close/e');
    await a.close();
    await ev;
    expect(Date.now() - t0).toBeLessThan(2000);
    const h = await a.resume(zk.ports[0]!);
    expect(h.response?.timeOut).toBe(0);
  });

  it("is by the leader's clock: a frozen gateway cannot keep its sessions alive", async () => {
    await mkdir(watcher, '/s-frozen');
    const timeout = 2000;
    const a = await RawClient.connect(zk.ports[0]!, { timeOut: timeout });
    expect((await a.call(OpCode.create, req.create('/s-frozen/e', 'x', CreateFlags.EPHEMERAL))).err).toBe(Err.OK);
    expect((await watcher.call(OpCode.exists, req.exists('/s-frozen/e', true))).err).toBe(Err.OK);
    const gw0 = zk.gateways[0]!;
    const frozenAt = Date.now();
    signal(gw0, 'SIGSTOP');
    try {
      // The client keeps pinging into the frozen gateway's socket; the leader hears nothing.
      await watcher.waitFor(deletedEvent('/s-frozen/e'), timeout + 5000, 'NodeDeleted /s-frozen/e');
      expect(Date.now() - frozenAt).toBeGreaterThanOrEqual(timeout - 600);
    } finally {
      signal(gw0, 'SIGCONT');
    }
    // Thawed, the gateway learns the session is over and closes the connection.
    await socketClosed(a.socket, 10_000);
    expect((await a.resume(zk.ports[0]!)).response?.timeOut).toBe(0);
    expect(alive(gw0)).toBe(true);
  });
});

describe('surviving infrastructure failures within the timeout', () => {
  it('survives SIGKILL of its gateway by reconnecting through the other, keeping its ephemerals', async () => {
    await mkdir(watcher, '/s-gwkill');
    const timeout = 4000;
    const a = await RawClient.connect(zk.ports[0]!, { timeOut: timeout });
    expect((await a.call(OpCode.create, req.create('/s-gwkill/e', 'x', CreateFlags.EPHEMERAL))).err).toBe(Err.OK);
    expect((await watcher.call(OpCode.exists, req.exists('/s-gwkill/e', true))).err).toBe(Err.OK);

    const gw0: Proc = zk.gateways[0]!;
    gw0.child.kill('SIGKILL');
    await gw0.exited;
    await socketClosed(a.socket, 5000);
    const moved = await a.resume(zk.ports[1]!);
    expect(moved.client, 'the other gateway refused the session').toBeDefined();
    expect(moved.response!.sessionId).toBe(a.sessionId);
    const b = moved.client!;
    // Well past the timeout, pinging through the surviving gateway, it lives on.
    await new Promise((r) => setTimeout(r, timeout + 1500));
    expect((await stat(watcher, '/s-gwkill/e'))?.ephemeralOwner).toBe(a.sessionId);
    expect(watcher.incoming.some(deletedEvent('/s-gwkill/e'))).toBe(false);
    expect((await b.call(OpCode.getData, req.getData('/s-gwkill/e'))).err).toBe(Err.OK);
    await b.close();
    await restartGateway(0);
  });

  it('survives a kill -9 and restart of the member (a new leader epoch) within its timeout', async () => {
    await mkdir(watcher, '/s-leader');
    const timeout = 10_000;
    const a = await RawClient.connect(zk.ports[0]!, { timeOut: timeout });
    expect((await a.call(OpCode.create, req.create('/s-leader/e', 'x', CreateFlags.EPHEMERAL))).err).toBe(Err.OK);
    const epochBefore = Math.floor(a.lastZxid / 2 ** 32);

    await zk.restartMember();
    await waitServing(zk.ports[0]!, 30_000);
    // The gateway may have dropped the connection while no learner served it; reconnect as a client would.
    let c = a;
    const deadline = Date.now() + timeout - 2000;
    for (;;) {
      if (!c.isClosed) {
        const r = await c.call(OpCode.getData, req.getData('/s-leader/e')).catch(() => undefined);
        if (r) {
          expect(r.err).toBe(Err.OK);
          break;
        }
      }
      expect(Date.now(), 'could not get back to the session within its timeout').toBeLessThan(deadline);
      const h = await c.resume(zk.ports[0]!).catch(() => ({ client: undefined, response: undefined }));
      if (h.response) expect(h.response.timeOut, 'the session did not survive the restart').toBe(timeout);
      if (h.client) c = h.client;
      else await new Promise((r) => setTimeout(r, 200));
    }
    expect((await stat(c, '/s-leader/e'))?.ephemeralOwner).toBe(a.sessionId);
    // a write after the restart carries the new epoch
    expect((await c.call(OpCode.setData, req.setData('/s-leader/e', 'y'))).err).toBe(Err.OK);
    expect(Math.floor(c.lastZxid / 2 ** 32)).toBeGreaterThan(epochBefore);
    await c.close();
    // the long-lived watcher may have been moved too; later tests do not need it
  });
});
