/**
 * A sync larger than what a nats-server buffers for one client (64 MiB by
 * default) — a SNAP, or a DIFF read back from the log — to a learner that
 * stops reading for a while: a busy machine, a long pause. Without flow
 * control the leader pours the whole sync onto the bus, the learner's
 * server cuts it off as a slow consumer, the parts it held are lost and the
 * learner waits out initLimit before it asks again (seen in `npm run bench
 * -- --scale`: 36 s instead of 12 s at 1M znodes). With it, the leader
 * keeps at most a window of parts unconfirmed in flight and waits while the
 * learner is stopped: one sync, no disconnect.
 */
import { existsSync, readdirSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { monitorJson } from '@zooid/cli';
import { waitFor } from './harness.js';
import { Cluster, leaderSyncModes, lines, type ClusterOptions, type Node } from './cluster/harness.js';
import { connectClient } from './cluster/clients.js';

/** How long the learner stays stopped: well inside initLimit (10 s here) and the server's 10 s write deadline. */
const PAUSE_MS = 3000;
const MB = 1_000_000;
/** More than the 64 MiB a nats-server holds for a client that does not read. */
const OVER_PENDING = 64 * 1024 * 1024;

function withCluster(opts: ClusterOptions): () => Cluster {
  let cluster: Cluster | undefined;
  beforeAll(async () => {
    cluster = await Cluster.start({ observers: 0, gateways: 1, tickTime: 200, initLimit: 50, ...opts });
  }, 60_000);
  afterAll(async () => {
    await cluster?.stop();
  });
  return () => cluster!;
}

async function slowConsumers(cluster: Cluster): Promise<number> {
  let n = 0;
  for (const server of cluster.bus.servers) n += (await monitorJson<{ slow_consumers: number }>(server.info.monitor, '/varz')).slow_consumers;
  return n;
}

async function writeBig(cluster: Cluster, count: number, fill: number): Promise<void> {
  const c = await connectClient(cluster.connectString);
  if (fill === 0) await c.create('/big', Buffer.from('x'));
  for (let i = 0; i < count; i++) {
    if (fill === 0) await c.create(`/big/b${i}`, Buffer.alloc(MB, i));
    else await c.setData(`/big/b${i}`, Buffer.alloc(MB, fill + i));
  }
  await c.close();
}

/** Freezes `f` once the sync's first parts arrived (`progress`: its progress line), for PAUSE_MS. */
async function pauseMidSync(f: Node, progress: string): Promise<void> {
  await waitFor(`the sync to start arriving (${progress})`, () => lines(f, progress).length > 0, 30_000);
  f.freeze();
  await delay(PAUSE_MS); // the fault itself: a learner that reads nothing for this long
  f.thaw();
}

/** One sync of `mode`, no disconnect, nobody cut off; the sync (`bytes` of it, as `sized` tells) was larger than the server would buffer. */
async function expectOneSync(cluster: Cluster, f: Node, leader: Node, since: number, mode: string, slowBefore: number, sized: () => number): Promise<void> {
  const back = await cluster.settled(60_000);
  expect(back.leader, 'the leader stayed').toBe(leader);
  expect(leaderSyncModes(back.leader, f.id, since), 'one sync, not a retry after initLimit').toEqual([mode]);
  expect(lines(f, 'synchronized with leader').map((l) => l.mode)).toEqual([mode]);
  expect(lines(f, 'bus connection disconnect'), 'the learner kept its bus connection').toEqual([]);
  expect(await slowConsumers(cluster), 'no nats-server cut anyone off as a slow consumer').toBe(slowBefore);
  expect(sized()).toBeGreaterThan(OVER_PENDING);
}

describe('a SNAP to a learner that stops reading', () => {
  const cluster = withCluster({ snapCount: 60 });

  it('is paced by what the learner confirms: it is not cut off, and syncs in one SNAP', async () => {
    const c = cluster();
    await c.settled();
    await writeBig(c, 80, 0);
    await c.converged();
    await waitFor('every voter to write a snapshot', () => c.members.every((m) => existsSync(join(m.dataDir, 'snapshots')) && readdirSync(join(m.dataDir, 'snapshots')).length > 0), 30_000);
    // After a restart each member's history begins at its snapshot, so an empty learner is sent one.
    await Promise.all(c.members.map((m) => m.kill()));
    for (const m of c.members) m.start();
    const s = await c.settled(30_000);
    const slowBefore = await slowConsumers(c);

    const f = c.members.find((m) => m !== s.leader)!;
    const since = Date.now();
    await f.restart({ wipe: true });
    await pauseMidSync(f, 'receiving snapshot from leader');
    // The leader sends the snapshot as it walks the tree: only it knows the size, once sent.
    await expectOneSync(c, f, s.leader, since, 'snap', slowBefore, () => Number(lines(s.leader, 'snapshot sent').filter((l) => l.learner === f.id).at(-1)!.bytes));
  }, 180_000);
});

describe('a long DIFF read back from the log, to a learner that stops reading', () => {
  // Few payloads in memory and no snapshot: a learner behind by many transactions is sent them from the log.
  const cluster = withCluster({ commitLogCount: 5 });

  it('is paced the same way, and syncs in one DIFF', async () => {
    const c = cluster();
    const s = await c.settled();
    // 160 MB of data, then 85 MB of changes the learner misses: with the rest of the log segment they are
    // in (segments are 64 MB), less than the data — so a DIFF, not a SNAP.
    await writeBig(c, 160, 0);
    await c.converged();
    const f = c.members.find((m) => m !== s.leader)!;
    await f.kill();
    await writeBig(c, 85, 160);
    const slowBefore = await slowConsumers(c);
    const since = Date.now();
    f.start();
    await pauseMidSync(f, 'receiving transactions from leader');
    await expectOneSync(c, f, s.leader, since, 'diff', slowBefore, () => Number(lines(f, 'receiving transactions from leader')[0]!.total));
  }, 180_000);
});
