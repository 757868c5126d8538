/**
 * A bus that survives: the cluster on three nats-servers (TLS routes, an
 * nkey per process) while each server in turn is killed with -9 and frozen
 * with SIGSTOP under a write load from real clients (node-zookeeper-client
 * writers on both gateways, a kazoo session holding an ephemeral), then a
 * majority of the servers and finally all of them. Throughout: no
 * acknowledged write is lost, no session expires, no client sees anything
 * but a connection loss (kazoo's connection thread would die on a reply
 * meant for another request), and writes carry on once the processes that
 * were on the lost server have moved to another.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Cluster } from './cluster/harness.js';
import { KazooHolder, WriteLoad, childrenAfterSync, Exception } from './cluster/clients.js';
import type { SecureServer } from './support/secure-bus.js';
import { waitFor } from './harness.js';
import { monitorJson } from '@zooid/cli';

/** A realistic tick: syncLimit (5 ticks) outlasts the ~2 s it takes every client to leave a frozen nats-server. */
const TICK = 1000;
let cluster: Cluster;
let load: WriteLoad;
let holder: KazooHolder;
let holderSession: string;
const gaps: string[] = [];

beforeAll(async () => {
  cluster = await Cluster.start({ voters: 3, observers: 1, gateways: 2, tickTime: TICK });
  await cluster.settled();
  load = await WriteLoad.start(cluster.connectString, '/busfaults', 4, { pauseMs: 10 });
  holder = new KazooHolder(cluster.connectString, '/busfaults-held', 600);
  const first = await holder.next();
  holderSession = first.sessionId;
  expect(first.owner).toBe(first.sessionId);
}, 120_000);

afterAll(async () => {
  console.log(`[bus-faults] ${gaps.join('; ')}`);
  if (process.env.ZOOID_TEST_DUMP) console.log(cluster?.tails(20_000));
  await holder?.quit();
  await load?.stop().catch(() => undefined);
  await cluster?.stop();
});

/** Every writer has a write sent after `t` acknowledged; returns how long after `t` the last of them was. */
async function everyWriterAcked(t: number, deadlineMs: number): Promise<number> {
  let last = 0;
  for (let w = 0; w < load.clients.length; w++) {
    const r = await waitFor(`writer ${w} to have a write sent after the fault acknowledged`, () => load.records.find((x) => x.writer === w && x.ok && x.sentAt > t), deadlineMs);
    last = Math.max(last, r.doneAt - t);
  }
  return last;
}

/** No session expired, every failed write was a connection loss or a timeout, and the kazoo session still holds its ephemeral. */
async function clientsUnharmed(): Promise<void> {
  expect(load.expired).toEqual([]);
  const bad = load.records.filter((r) => !r.ok && r.err !== String(Exception.CONNECTION_LOSS) && !/no answer within/.test(r.err ?? ''));
  expect(bad, JSON.stringify(bad.slice(0, 5))).toEqual([]);
  const held = await holder.check();
  expect({ session: held.sessionId, owner: held.owner }).toEqual({ session: holderSession, owner: holderSession });
}

/**
 * How long writers may wait after a fault. A killed server's processes
 * reconnect elsewhere at once; a frozen one's notice only when their pings go
 * unanswered (about 2 s), and then a lost batch within a heartbeat.
 */
const WITHIN_MS = { SIGKILL: 5_000, SIGSTOP: 8_000 };

async function fault(name: string, server: SecureServer, sig: keyof typeof WITHIN_MS, hit: () => Promise<void> | void, heal: () => Promise<void> | void): Promise<void> {
  await load.moreAcks(20);
  const t = Date.now();
  await hit();
  let during: number;
  try {
    during = await everyWriterAcked(t, WITHIN_MS[sig]);
  } finally {
    // Whatever happened, the next test starts with the whole bus.
    await heal();
  }
  const t2 = Date.now();
  const after = await everyWriterAcked(t2, 20_000);
  gaps.push(`${name} ${server.info.name}: every writer acked ${during} ms after the fault, ${after} ms after it healed`);
  await clientsUnharmed();
}

describe('one nats-server at a time', () => {
  for (const i of [0, 1, 2]) {
    it(`kill -9 of nats-${i + 1}: writes carry on, its processes move to another server, it comes back`, async () => {
      const s = cluster.bus.servers[i]!;
      await fault('kill -9', s, 'SIGKILL', () => s.signal('SIGKILL'), async () => {
        await s.exited();
        await s.restart();
      });
    });

    it(`SIGSTOP of nats-${i + 1}: writes carry on once its processes have left it, and on SIGCONT it rejoins`, async () => {
      const s = cluster.bus.servers[i]!;
      await fault('SIGSTOP', s, 'SIGSTOP', () => s.signal('SIGSTOP'), () => s.signal('SIGCONT'));
    });
  }
});

/** The nats-server a process is connected to, from the servers' own connection lists. */
async function serverOf(name: string): Promise<SecureServer> {
  return waitFor(`the nats-server ${name} is connected to`, async () => {
    for (const s of cluster.bus.servers) {
      const connz = await monitorJson<{ connections: { name?: string }[] }>(s.info.monitor, '/connz?limit=1000').catch(() => ({ connections: [] }));
      if (connz.connections.some((c) => c.name === name)) return s;
    }
    return undefined;
  });
}

describe("the leader's nats-server", () => {
  it('kill -9 and SIGSTOP of the server the leader is on: writes carry on, no new election is needed', async () => {
    for (const sig of ['SIGKILL', 'SIGSTOP'] as const) {
      const { leader, epoch } = await cluster.settled();
      const s = await serverOf(`zooid-member-${leader.id}`);
      await fault(`${sig} of the leader's`, s, sig, () => s.signal(sig), async () => {
        if (sig === 'SIGSTOP') return s.signal('SIGCONT');
        await s.exited();
        await s.restart();
      });
      const after = await cluster.settled();
      expect({ leader: after.leader.id, epoch: after.epoch }, cluster.tails()).toEqual({ leader: leader.id, epoch });
    }
  });
});

describe('most or all of the bus', () => {
  it('with two of three servers down, the processes gather on the survivor and writes carry on', async () => {
    const [a, b] = cluster.bus.servers;
    await fault('kill -9 of two', a!, 'SIGKILL', async () => {
      a!.signal('SIGKILL');
      b!.signal('SIGKILL');
    }, async () => {
      await Promise.all([a!.exited(), b!.exited()]);
      await a!.restart();
      await b!.restart();
    });
  });

  it('with every server down there is no service; when they return, writes resume with nothing lost', async () => {
    await load.moreAcks(20);
    const servers = cluster.bus.servers;
    for (const s of servers) s.signal('SIGKILL');
    await Promise.all(servers.map((s) => s.exited()));
    const down = Date.now();
    const ackedBefore = load.acked.length;
    for (const s of servers) await s.restart();
    const back = Date.now();
    const resumed = await everyWriterAcked(back, 20_000);
    gaps.push(`all three down for ${back - down} ms: every writer acked ${resumed} ms after they returned`);
    expect(load.acked.length).toBeGreaterThan(ackedBefore);
    await clientsUnharmed();
  });

  it('lost no acknowledged write: every learner, through either gateway, has every one', async () => {
    await load.stop();
    await cluster.converged();
    const acked = new Set(load.acked.map((r) => r.path.split('/').at(-1)!));
    expect(acked.size).toBeGreaterThan(100);
    for (const g of cluster.gateways) {
      const children = new Set(await childrenAfterSync(g.hostPort, '/busfaults'));
      const missing = [...acked].filter((p) => !children.has(p));
      expect(missing, `missing through ${g.id}`).toEqual([]);
    }
  });
});
