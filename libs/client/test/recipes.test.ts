/**
 * @zooid/client's TypeScript-native API and its recipes, each against a
 * Zooid standalone and Apache ZooKeeper 3.8 (Debian). Waits are on
 * conditions with deadlines; mutual exclusion and single leadership are
 * checked from recorded histories.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NoNodeError, NodeExistsError, OperationTimeoutError, ZooKeeperClient, ZooKeeperError, type KeeperStateName, type WatchedEvent } from '@zooid/client';
import { Barrier, DoubleBarrier, GroupMembership, LeaderElection, LeaderLatch, Mutex, Queue, ReadWriteLock, Semaphore, SharedCounter, TreeCache, type TreeCacheEvent } from '@zooid/client/recipes';
import { waitFor } from '../../../test/harness.js';
import { History } from './history.js';
import { startProxy } from './proxy.js';
import { startZooKeeper, startZooid, type TestServer } from './servers.js';

describe.each([
  ['zooid', startZooid],
  ['zookeeper', startZooKeeper],
] as const)('recipes on %s', (_name, start) => {
  let server: TestServer;
  const clients: ZooKeeperClient[] = [];
  const connect = async () => {
    const c = await ZooKeeperClient.connect(server.connectString, { sessionTimeout: 4000 });
    clients.push(c);
    return c;
  };

  // Java's start-up on a loaded machine can take most of a minute.
  beforeAll(async () => {
    server = await start();
  }, 120_000);
  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await server?.stop();
  });

  it('typed errors, per-call abort and timeout, await using', async () => {
    const zk = await connect();
    await expect(zk.getData('/nope')).rejects.toBeInstanceOf(NoNodeError);
    await zk.create('/typed');
    const err = await zk.create('/typed').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NodeExistsError);
    expect(err).toBeInstanceOf(ZooKeeperError);
    expect((err as ZooKeeperError).code).toBe('NodeExists');
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await expect(zk.with({ signal: ac.signal }).exists('/typed')).rejects.toThrow('stop');
    expect(await zk.with({ timeout: 10_000 }).exists('/typed')).not.toBeNull();
    const proxy = await startProxy(server.port);
    const cut = await ZooKeeperClient.connect(`127.0.0.1:${proxy.port}`, { sessionTimeout: 4000 });
    clients.push(cut);
    proxy.refuse(true);
    proxy.cut();
    // Disconnected, a request waits for the next connection: only the per-call timeout ends it.
    await waitFor('disconnected', () => cut.state === 'connecting');
    await expect(cut.with({ timeout: 200 }).exists('/typed')).rejects.toBeInstanceOf(OperationTimeoutError);
    await proxy.stop();
    let disposed: ZooKeeperClient;
    {
      await using scoped = await ZooKeeperClient.connect(server.connectString);
      disposed = scoped;
      expect(scoped.state).toBe('connected');
    }
    expect(disposed.state).toBe('closed');
  });

  it('watch() as an async iterable, states() and the typed transaction', async () => {
    const zk = await connect();
    const writer = await connect();
    await zk.create('/tree');
    const stream = zk.watch('/tree', { recursive: true });
    await stream.ready;
    const seen: WatchedEvent[] = [];
    const reading = (async () => {
      for await (const e of stream) {
        seen.push(e);
        if (seen.length === 3) break;
      }
    })();
    const [created, set] = await writer.transaction().create('/tree/a', 'x').setData('/tree', 'y').commit();
    expect(created.path).toBe('/tree/a');
    expect(set.stat.version).toBe(1);
    await writer.delete('/tree/a');
    await reading;
    expect(seen.map((e) => `${e.type} ${e.path}`).sort()).toEqual(['NodeCreated /tree/a', 'NodeDataChanged /tree', 'NodeDeleted /tree/a']);
    await waitFor('watch removed', () => zk.watchedPaths().persistentRecursive.length === 0, 10_000);

    const states: KeeperStateName[] = [];
    const ended = (async () => {
      for await (const s of zk.states()) states.push(s);
    })();
    await zk.close();
    await ended;
    expect(states).toEqual(['Closed']);
  });

  it('Mutex: exclusive, reentrant, FIFO waiters; a timed-out waiter leaves no node', async () => {
    const history = new History();
    const shared = await connect();
    await shared.create('/unsafe-count', '0');
    const workers = await Promise.all([0, 1, 2].map(async (i) => ({ who: `w${i}`, lock: new Mutex(await connect(), '/locks/m') })));
    await Promise.all(
      workers.map(async ({ who, lock }) => {
        for (let k = 0; k < 4; k++) {
          await lock.acquire();
          history.begin(who);
          // A read-then-write that loses updates unless the lock excludes.
          const { data } = await shared.getData('/unsafe-count');
          await shared.setData('/unsafe-count', String(Number(data) + 1));
          history.end(who);
          await lock.release();
        }
      }),
    );
    expect(history.overlaps()).toEqual([]);
    expect(history.holds()).toBe(12);
    expect(Number((await shared.getData('/unsafe-count')).data)).toBe(12);

    const [a, b] = workers;
    await a!.lock.acquire();
    await a!.lock.acquire();
    await a!.lock.release();
    expect(a!.lock.isHeld).toBe(true);
    expect(await b!.lock.tryAcquire()).toBe(false);
    await expect(b!.lock.acquire({ timeout: 300 })).rejects.toThrow();
    expect(await a!.lock.participants()).toHaveLength(1);
    const waiting = b!.lock.acquire();
    await waitFor('b queued', async () => (await a!.lock.participants()).length === 2);
    await a!.lock.release();
    await waiting;
    expect(b!.lock.isHeld).toBe(true);
    await b!.lock.release();
  });

  it('LeaderLatch: one leader at a time, the next takes over when it leaves', async () => {
    const history = new History();
    const latches = await Promise.all(
      ['a', 'b', 'c'].map(async (id) => {
        const l = new LeaderLatch(await connect(), '/latch', id);
        l.on('isLeader', () => history.begin(id));
        l.on('notLeader', () => history.end(id));
        return l;
      }),
    );
    for (const l of latches) await l.start();
    await waitFor('a leader', () => latches.some((l) => l.hasLeadership));
    expect(latches.filter((l) => l.hasLeadership)).toHaveLength(1);
    expect(await latches[0]!.participants()).toEqual(['a', 'b', 'c']);
    for (let round = 0; round < 2; round++) {
      const leader = latches.find((l) => l.hasLeadership)!;
      await leader.close();
      await waitFor('next leader', () => latches.some((l) => l.hasLeadership));
    }
    await latches.find((l) => l.hasLeadership)!.await({ timeout: 1000 });
    expect(history.overlaps()).toEqual([]);
    expect(history.events.filter((e) => e.what === 'begin').map((e) => e.who)).toEqual(['a', 'b', 'c']);
  });

  it('SharedCounter: concurrent increments are all counted', async () => {
    const counters = await Promise.all([0, 1, 2].map(async () => new SharedCounter(await connect(), '/counters/c', 5)));
    await Promise.all(counters.map(async (c) => Promise.all(Array.from({ length: 10 }, () => c.increment()))));
    expect(await counters[0]!.get()).toBe(35);
    const { value, version } = await counters[1]!.read();
    expect(await counters[1]!.trySet(value - 35, version)).toBe(true);
    expect(await counters[2]!.trySet(99, version)).toBe(false);
    expect(await counters[2]!.get()).toBe(0);
  });

  it('Queue: FIFO, every item taken exactly once, take waits for a put', async () => {
    const producer = new Queue(await connect(), '/queues/q');
    for (let i = 0; i < 12; i++) await producer.put(`item-${i}`);
    const c1 = new Queue(await connect(), '/queues/q');
    const c2 = new Queue(await connect(), '/queues/q');
    expect((await c1.poll())?.toString()).toBe('item-0');
    const taken: string[] = [];
    await Promise.all(
      [c1, c2].map(async (q) => {
        for (;;) {
          const item = await q.poll();
          if (item === null) return;
          taken.push(item.toString());
        }
      }),
    );
    expect(taken.sort()).toEqual(Array.from({ length: 11 }, (_, i) => `item-${i + 1}`).sort());
    const pending = c1.take({ timeout: 10_000 });
    await producer.put('late');
    expect((await pending).toString()).toBe('late');
    expect(await producer.size()).toBe(0);
  });

  it('GroupMembership: join, list, watch members come and go', async () => {
    const watcher = new GroupMembership(await connect(), '/groups/g');
    const ac = new AbortController();
    const lists: string[][] = [];
    const watching = (async () => {
      for await (const members of watcher.watch(ac.signal)) lists.push(members);
    })();
    await waitFor('first list', () => lists.length >= 1);
    const m1 = await connect();
    const m2 = await connect();
    await new GroupMembership(m1, '/groups/g').join('m1', 'host-1');
    await new GroupMembership(m2, '/groups/g').join('m2');
    await expect(new GroupMembership(m2, '/groups/g').join('m1')).rejects.toBeInstanceOf(NodeExistsError);
    await waitFor('both joined', () => lists.at(-1)?.join() === 'm1,m2');
    expect(await watcher.members()).toEqual(['m1', 'm2']);
    expect((await watcher.data('m1'))?.toString()).toBe('host-1');
    await m1.close();
    await waitFor('m1 left', () => lists.at(-1)?.join() === 'm2');
    ac.abort();
    await watching;
    expect(lists[0]).toEqual([]);
  });

  it('Barrier: waiters block until it is removed', async () => {
    const setter = new Barrier(await connect(), '/barriers/b');
    await setter.set();
    const waiter = new Barrier(await connect(), '/barriers/b');
    let released = false;
    const waiting = waiter.wait().then(() => (released = true));
    await expect(waiter.wait({ timeout: 200 })).rejects.toThrow();
    expect(released).toBe(false);
    await setter.remove();
    await waiting;
    await waiter.wait();
  });

  it('Semaphore: never more than maxLeases holders, and all of them used', async () => {
    let holding = 0;
    let most = 0;
    const semaphores = await Promise.all([0, 1, 2, 3].map(async () => new Semaphore(await connect(), '/sem/s', 2)));
    await Promise.all(
      semaphores.map(async (sem) => {
        for (let k = 0; k < 3; k++) {
          const lease = await sem.acquire({ timeout: 20_000 });
          most = Math.max(most, ++holding);
          // Held until a second lease is out, so that both slots are seen used however the machine schedules the workers.
          await waitFor('two leases held at once', () => most === 2, 20_000);
          await sem.participants();
          holding--;
          await lease.release();
        }
      }),
    );
    expect(most).toBe(2);
    expect(await semaphores[0]!.participants()).toEqual([]);
  });

  it('ReadWriteLock: readers share, a writer excludes and is not overtaken', async () => {
    const [r1, r2, w, r3] = await Promise.all([0, 1, 2, 3].map(async () => new ReadWriteLock(await connect(), '/rw/l')));
    await r1!.readLock.acquire();
    await r2!.readLock.acquire({ timeout: 10_000 });
    const writing = w!.writeLock.acquire();
    await waitFor('writer queued', async () => (await r1!.readLock.participants()).length === 3);
    const lateReader = r3!.readLock.acquire();
    await waitFor('late reader queued', async () => (await r1!.readLock.participants()).length === 4);
    await r1!.readLock.release();
    expect(w!.writeLock.isHeld).toBe(false);
    await r2!.readLock.release();
    await writing;
    expect(r3!.readLock.isHeld).toBe(false);
    await w!.writeLock.release();
    await lateReader;
    await r3!.readLock.release();
  });

  it('LeaderElection: one leader at a time, relinquish hands over, autoRequeue comes back', async () => {
    const history = new History();
    const elections = await Promise.all(
      ['a', 'b', 'c'].map(async (id) => {
        const zk = await connect();
        return new LeaderElection(
          zk,
          '/election/e',
          async (signal) => {
            history.begin(id);
            await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
            history.end(id);
          },
          { autoRequeue: true },
        );
      }),
    );
    for (const e of elections) e.start();
    for (let round = 0; round < 4; round++) {
      await waitFor('a leader', () => elections.some((e) => e.hasLeadership));
      const begun = history.holds();
      elections.find((e) => e.hasLeadership)!.relinquish();
      await waitFor('the next term', () => history.holds() > begun);
    }
    await Promise.all(elections.map((e) => e.close()));
    expect(history.overlaps()).toEqual([]);
    expect(new Set(history.events.map((e) => e.who))).toEqual(new Set(['a', 'b', 'c']));
  });

  it('LeaderElection: closed while it takes a free lock, it ends without a term', async () => {
    const zk = await connect();
    const terms: boolean[] = [];
    const e = new LeaderElection(zk, '/election/closed-early', async (signal) => {
      terms.push(signal.aborted);
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
    });
    // The free lock is taken after close() aborted: a term begun then would wait for an abort that already happened.
    e.start();
    await e.close();
    expect(terms).toEqual([]);
    expect(await zk.getChildren('/election/closed-early')).toEqual([]);
  });

  it('TreeCache: initial sync, then every change below the root', async () => {
    const zk = await connect();
    const writer = await connect();
    await writer.create('/cache');
    await writer.create('/cache/a', '1');
    await writer.create('/cache/a/b', '2');
    const cache = new TreeCache(zk, '/cache');
    const events: TreeCacheEvent[] = [];
    cache.on('event', (e) => events.push(e));
    await cache.start();
    expect(cache.paths()).toEqual(['/cache', '/cache/a', '/cache/a/b']);
    expect(events.at(-1)).toEqual({ type: 'initialized' });
    const changes: string[] = [];
    const ac = new AbortController();
    const reading = (async () => {
      for await (const e of cache.events(ac.signal)) changes.push(e.type === 'initialized' ? e.type : `${e.type} ${e.path}`);
    })();
    await writer.setData('/cache/a', 'one');
    await writer.create('/cache/c', '3');
    await writer.delete('/cache/a/b');
    await waitFor('changes applied', () => changes.length >= 3);
    expect(changes).toEqual(['updated /cache/a', 'added /cache/c', 'removed /cache/a/b']);
    expect(cache.get('/cache/a')?.data?.toString()).toBe('one');
    expect(cache.children('/cache')).toEqual(['a', 'c']);
    ac.abort();
    await reading;
    await cache.close();
  });

  it('DoubleBarrier: nobody passes enter before all arrive, nor leave before all leave', async () => {
    const order: string[] = [];
    const members = await Promise.all(['x', 'y', 'z'].map(async (id) => new DoubleBarrier(await connect(), '/double/d', 3, id)));
    const run = async (b: DoubleBarrier, i: number) => {
      order.push(`arrive ${b.id}`);
      await b.enter({ timeout: 20_000 });
      order.push(`entered ${b.id}`);
      order.push(`leaving ${b.id}`);
      await b.leave({ timeout: 20_000 });
      order.push(`left ${b.id}`);
      return i;
    };
    const first = run(members[0]!, 0);
    await waitFor('x waiting', () => order.length === 1);
    await expect(members[0]!.enter({ timeout: 200 })).rejects.toThrow();
    await Promise.all([first, run(members[1]!, 1), run(members[2]!, 2)]);
    const lastArrive = Math.max(...order.flatMap((e, i) => (e.startsWith('arrive') ? [i] : [])));
    const firstEntered = order.findIndex((e) => e.startsWith('entered'));
    const lastLeaving = Math.max(...order.flatMap((e, i) => (e.startsWith('leaving') ? [i] : [])));
    const firstLeft = order.findIndex((e) => e.startsWith('left'));
    expect(firstEntered).toBeGreaterThan(lastArrive);
    expect(firstLeft).toBeGreaterThan(lastLeaving);
  });
});
