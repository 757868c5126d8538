/**
 * Recipe safety under faults, on Zooid and on ZooKeeper 3.8: each
 * participant reaches its server through its own TCP proxy, and the test
 * cuts the connection of whoever holds the lock or leads — sometimes only
 * for a moment (the session survives), sometimes for longer than the
 * session timeout (the session expires and the participant starts over
 * with a new one). Safety is read from the recorded history of who
 * believed it held or led, never from timing. On Zooid the lock holder's
 * gateway is also killed with SIGKILL, twice: the session moves to another
 * gateway and the lock is still never held twice.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZooKeeperClient, type ClientOptions, type KeeperStateName } from '@zooid/client';
import { GroupMembership, LeaderElection, LeaderLatch, Mutex, TreeCache, type TreeCacheEvent } from '@zooid/client/recipes';
import { killProc, startStandalone, waitFor, type Standalone } from '../../../test/harness.js';
import { History } from './history.js';
import { startProxy, type Proxy } from './proxy.js';
import { startZooKeeper, startZooid, type TestServer } from './servers.js';

const SESSION_TIMEOUT = 2000;

describe.each([
  ['zooid', startZooid],
  ['zookeeper', startZooKeeper],
] as const)('recipe safety on %s', (_name, start) => {
  let server: TestServer;
  const proxies: Proxy[] = [];
  const clients: ZooKeeperClient[] = [];

  // Java's start-up on a loaded machine can take most of a minute.
  beforeAll(async () => {
    server = await start();
    for (let i = 0; i < 3; i++) proxies.push(await startProxy(server.port));
  }, 120_000);
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close(200)));
    for (const p of proxies) await p.stop();
    await server?.stop();
  });

  const connectVia = async (i: number, opts: ClientOptions = {}) => {
    const c = await ZooKeeperClient.connect(`127.0.0.1:${proxies[i]!.port}`, { sessionTimeout: SESSION_TIMEOUT, timeout: 20_000, ...opts });
    clients.push(c);
    return c;
  };

  /** Cuts participant i; with `expire`, keeps it out until `othersMoved` says another took over. */
  async function cut(i: number, expire: boolean, othersMoved: () => boolean): Promise<void> {
    const proxy = proxies[i]!;
    if (expire) proxy.refuse(true);
    proxy.cut();
    if (expire) {
      await waitFor('another participant takes over', othersMoved, 30_000);
      proxy.refuse(false);
    }
  }

  it('Mutex: no two holders while holders lose their connection and sessions', async () => {
    const history = new History();
    let stopping = false;
    let expiries = 0;
    const holders: (Mutex | undefined)[] = [];
    const worker = async (i: number) => {
      let zk = await connectVia(i);
      let lock = new Mutex(zk, '/fault/lock');
      holders[i] = lock;
      while (!stopping) {
        if (zk.state === 'expired' || zk.state === 'closed') {
          expiries++;
          zk = await connectVia(i);
          lock = new Mutex(zk, '/fault/lock');
          holders[i] = lock;
        }
        try {
          await lock.acquire({ timeout: 5000 });
        } catch {
          continue;
        }
        if (!lock.isHeld) continue;
        const who = `w${i}`;
        history.begin(who);
        const lost = () => history.end(who);
        lock.signal.addEventListener('abort', lost, { once: true });
        try {
          // Work under the lock: round trips during which the cutter may strike.
          for (let k = 0; k < 3 && lock.isHeld; k++) await zk.exists('/fault/lock');
        } catch {
          // A cut connection: the lock's signal has recorded the loss.
        }
        if (lock.isHeld) {
          lock.signal.removeEventListener('abort', lost);
          history.end(who);
          await lock.release().catch(() => undefined);
        }
      }
    };
    const workers = [0, 1, 2].map(worker);

    const holder = () => holders.findIndex((l) => l?.isHeld);
    for (let round = 0; round < 6; round++) {
      await waitFor('a holder', () => holder() >= 0, 30_000);
      const i = holder();
      const before = history.holds();
      const ends = history.ends(`w${i}`);
      await cut(i, round % 3 === 2, () => history.events.at(-1)?.who !== `w${i}` && history.holds() > before);
      await waitFor('the cut holder let go', () => history.ends(`w${i}`) > ends, 30_000);
    }
    await waitFor('locking goes on after the faults', () => history.holds() >= 12, 30_000);
    stopping = true;
    await Promise.all(workers);

    expect(history.overlaps()).toEqual([]);
    expect(expiries).toBeGreaterThanOrEqual(1);
  }, 120_000);

  it('LeaderLatch: never two leaders while leaders lose their connection and sessions', async () => {
    const history = new History();
    const latches: LeaderLatch[] = [];
    let expiries = 0;
    let leaderships = 0;
    let finished = false;
    const rejoining: Promise<void>[] = [];
    const join = async (i: number) => {
      const zk = await connectVia(i);
      const latch = new LeaderLatch(zk, '/fault/latch', `p${i}`);
      latch.on('isLeader', () => {
        leaderships++;
        history.begin(`p${i}`);
      });
      latch.on('notLeader', () => history.end(`p${i}`));
      latch.on('closed', () => {
        if (latches[i] !== latch || finished) return;
        expiries++;
        rejoining.push(join(i));
      });
      latches[i] = latch;
      await latch.start();
    };
    for (let i = 0; i < 3; i++) await join(i);

    const leader = () => latches.findIndex((l) => l?.hasLeadership);
    for (let round = 0; round < 6; round++) {
      await waitFor('a leader', () => leader() >= 0, 30_000);
      const i = leader();
      const before = leaderships;
      const ends = history.ends(`p${i}`);
      await cut(i, round % 2 === 1, () => leaderships > before && leader() !== i && leader() >= 0);
      await waitFor('the cut leader stepped down', () => history.ends(`p${i}`) > ends, 30_000);
    }
    await waitFor('a leader after the faults', () => leader() >= 0, 30_000);

    finished = true;
    await Promise.all(rejoining);
    expect(history.overlaps()).toEqual([]);
    expect(expiries).toBeGreaterThanOrEqual(1);
    for (const l of latches) await l.close();
  }, 120_000);

  it('GroupMembership: a member whose session expires joins again in the renewed session', async () => {
    const zk = await connectVia(0, { renewOnExpiry: true });
    const states: KeeperStateName[] = [];
    zk.on('state', (s) => states.push(s));
    const group = new GroupMembership(zk, '/fault/group');
    const rejoined: string[] = [];
    group.on('rejoined', (id) => rejoined.push(id));
    // What another session sees, and what the member's own watch sees across its expiry.
    const seen: string[][] = [];
    const own: string[][] = [];
    const ac = new AbortController();
    const observer = await ZooKeeperClient.connect(server.connectString);
    clients.push(observer);
    const watching = (async () => {
      for await (const m of new GroupMembership(observer, '/fault/group').watch(ac.signal)) seen.push(m);
    })();
    const ownWatch = (async () => {
      for await (const m of group.watch(ac.signal)) own.push(m);
    })();
    await group.join('m0', 'here');
    await waitFor('the observer sees the member', () => seen.at(-1)?.join() === 'm0', 20_000);
    const first = zk.sessionId;

    await cut(0, true, () => seen.at(-1)?.length === 0);
    await waitFor('the member is back', () => rejoined.length === 1 && seen.at(-1)?.join() === 'm0' && own.at(-1)?.join() === 'm0', 30_000);
    ac.abort();
    await Promise.all([watching, ownWatch]);

    expect(states.slice(states.indexOf('Expired'))).toEqual(['Expired', 'SyncConnected']);
    expect(zk.sessionId).not.toBe(first);
    const { data, stat } = await observer.getData('/fault/group/m0');
    expect(stat.ephemeralOwner).toBe(zk.sessionId);
    expect(data?.toString()).toBe('here');
    // Consecutive equal lists are not repeated: gone once with the old session, back once with the new.
    expect(seen.slice(seen.findIndex((m) => m.length > 0)).map((m) => m.join())).toEqual(['m0', '', 'm0']);
  }, 120_000);

  it('LeaderLatch: after its session expires, the latch takes part again in the renewed session', async () => {
    const history = new History();
    const zk0 = await connectVia(0, { renewOnExpiry: true });
    const zk1 = await connectVia(1);
    const latches = [new LeaderLatch(zk0, '/fault/relatch', 'p0'), new LeaderLatch(zk1, '/fault/relatch', 'p1')];
    const closed: string[] = [];
    latches.forEach((l, i) => {
      l.on('isLeader', () => history.begin(`p${i}`));
      l.on('notLeader', () => history.end(`p${i}`));
      l.on('closed', () => closed.push(`p${i}`));
    });
    await latches[0]!.start();
    await latches[1]!.start();
    await waitFor('p0 leads', () => latches[0]!.hasLeadership, 20_000);
    const first = zk0.sessionId;

    await cut(0, true, () => latches[1]!.hasLeadership);
    await waitFor('p0 back in the election, behind p1', async () => (await latches[1]!.participants()).join() === 'p1,p0', 30_000);
    expect(zk0.sessionId).not.toBe(first);
    await latches[1]!.close();
    await waitFor('p0 leads again', () => latches[0]!.hasLeadership, 20_000);

    expect(history.overlaps()).toEqual([]);
    expect(history.events.filter((e) => e.who === 'p0').map((e) => e.what)).toEqual(['begin', 'end', 'begin']);
    expect(closed).toEqual(['p1']);
    await latches[0]!.close();
  }, 120_000);

  it('LeaderElection: with autoRequeue, a leader whose session expires queues again in the renewed session', async () => {
    const history = new History();
    const zks = [await connectVia(0, { renewOnExpiry: true }), await connectVia(1)];
    const elections = zks.map(
      (zk, i) =>
        new LeaderElection(
          zk,
          '/fault/selector',
          async (signal) => {
            history.begin(`e${i}`);
            if (!signal.aborted) await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
            history.end(`e${i}`);
          },
          { autoRequeue: true },
        ),
    );
    elections[0]!.start();
    await waitFor('e0 leads', () => elections[0]!.hasLeadership, 20_000);
    elections[1]!.start();
    const first = zks[0]!.sessionId;

    await cut(0, true, () => elections[1]!.hasLeadership);
    await waitFor('e0 queued in its new session', async () => zks[0]!.sessionId !== first && (await new Mutex(zks[1]!, '/fault/selector').participants()).length === 2, 30_000);
    elections[1]!.relinquish();
    await waitFor('e0 leads again', () => elections[0]!.hasLeadership, 20_000);
    await Promise.all(elections.map((e) => e.close()));

    expect(history.overlaps()).toEqual([]);
    expect(history.events.filter((e) => e.who === 'e0').map((e) => e.what)).toEqual(['begin', 'end', 'begin', 'end']);
  }, 120_000);

  it('TreeCache: after its session expires, the cache rebuilds in the renewed session and reports what changed meanwhile', async () => {
    const zk = await connectVia(0, { renewOnExpiry: true });
    const writer = await ZooKeeperClient.connect(server.connectString);
    clients.push(writer);
    await writer.create('/fault/tree');
    await writer.create('/fault/tree/a', '1');
    await writer.create('/fault/tree/b', '2');
    await zk.create('/fault/tree-session', null, { mode: 'EPHEMERAL' });
    const cache = new TreeCache(zk, '/fault/tree');
    const changes: string[] = [];
    let closed = false;
    cache.on('event', (e: TreeCacheEvent) => changes.push(e.type === 'initialized' ? e.type : `${e.type} ${e.path}`));
    cache.on('closed', () => (closed = true));
    await cache.start();

    // Away past its timeout: the server expires the session (its ephemeral goes), and the tree changes meanwhile.
    proxies[0]!.refuse(true);
    proxies[0]!.cut();
    await waitFor('the session expired', async () => (await writer.exists('/fault/tree-session')) === null, 30_000);
    await writer.setData('/fault/tree/a', 'one');
    await writer.delete('/fault/tree/b');
    await writer.create('/fault/tree/c', '3');
    proxies[0]!.refuse(false);
    await waitFor('the cache caught up', () => changes.length >= 7, 30_000);
    await writer.create('/fault/tree/d', '4');
    await waitFor('the new watch reports', () => changes.includes('added /fault/tree/d'), 20_000);

    expect(changes.slice(0, 4)).toEqual(['added /fault/tree', 'added /fault/tree/a', 'added /fault/tree/b', 'initialized']);
    expect(changes.slice(4).sort()).toEqual(['added /fault/tree/c', 'added /fault/tree/d', 'removed /fault/tree/b', 'updated /fault/tree/a']);
    expect(cache.paths()).toEqual(['/fault/tree', '/fault/tree/a', '/fault/tree/c', '/fault/tree/d']);
    expect(cache.get('/fault/tree/a')?.data?.toString()).toBe('one');
    expect(closed).toBe(false);
    await cache.close();
    await waitFor('closed on close()', () => closed);
  }, 120_000);
});

describe('recipe safety on zooid when the holder’s gateway is killed', () => {
  let zooid: Standalone;
  const clients: ZooKeeperClient[] = [];

  beforeAll(async () => {
    zooid = await startStandalone({ gateways: 3, tickTime: 500 });
  }, 120_000);
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close(200)));
    await zooid?.stop();
  });

  it('Mutex: no two holders across kill -9 of the holder’s gateway; the session moves on', async () => {
    const history = new History();
    let stopping = false;
    const workers: { zk: ZooKeeperClient; lock: Mutex }[] = [];
    for (let i = 0; i < 3; i++) {
      // Each worker starts on a different gateway and fails over to the others.
      const ports = [...zooid.ports.slice(i), ...zooid.ports.slice(0, i)];
      const zk = await ZooKeeperClient.connect(ports.map((p) => `127.0.0.1:${p}`).join(','), { sessionTimeout: 4000, noShuffle: true, timeout: 20_000 });
      clients.push(zk);
      workers.push({ zk, lock: new Mutex(zk, '/fault/gw-lock') });
    }
    const loops = workers.map(async ({ zk, lock }, i) => {
      const who = `w${i}`;
      while (!stopping) {
        try {
          await lock.acquire({ timeout: 5000 });
        } catch {
          continue;
        }
        if (!lock.isHeld) continue;
        history.begin(who);
        const lost = () => history.end(who);
        lock.signal.addEventListener('abort', lost, { once: true });
        try {
          for (let k = 0; k < 3 && lock.isHeld; k++) await zk.exists('/fault/gw-lock');
        } catch {
          // The gateway died under the call: the lock's signal has recorded the loss.
        }
        if (lock.isHeld) {
          lock.signal.removeEventListener('abort', lost);
          history.end(who);
          await lock.release().catch(() => undefined);
        }
      }
    });

    const sessions = workers.map((w) => w.zk.sessionId);
    for (let kill = 0; kill < 2; kill++) {
      await waitFor('a holder', () => workers.some((w) => w.lock.isHeld), 30_000);
      const holder = workers.findIndex((w) => w.lock.isHeld);
      const port = workers[holder]!.zk.server!.port;
      const ends = history.ends(`w${holder}`);
      await killProc(zooid.gateways[zooid.ports.indexOf(port)]!);
      await waitFor('the holder let go', () => history.ends(`w${holder}`) > ends, 30_000);
      const holds = history.holds();
      await waitFor('locking resumes', () => history.holds() > holds + 2, 30_000);
    }
    stopping = true;
    await Promise.all(loops);

    expect(history.overlaps()).toEqual([]);
    // Sessions survive the loss of their gateway (promise 7): no worker needed a new one.
    expect(workers.map((w) => w.zk.sessionId)).toEqual(sessions);
    expect(workers.every((w) => w.zk.state === 'connected')).toBe(true);
  }, 120_000);
});
