/**
 * A SNAP larger than what a nats-server buffers for one client (64 MiB by
 * default), to a learner that stops reading for a while — a busy machine, a
 * long pause. Without flow control the leader pours the whole snapshot onto
 * the bus, the learner's server cuts it off as a slow consumer, the parts
 * it held are lost and the learner waits out initLimit before it asks again
 * (seen in `npm run bench -- --scale`: 36 s instead of 12 s at 1M znodes).
 * With it, the leader keeps at most a window of parts unconfirmed in flight
 * and waits while the learner is stopped: one SNAP, no disconnect.
 */
import { existsSync, readdirSync } from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { monitorJson } from '@zooid/cli';
import { waitFor } from './harness.js';
import { Cluster, leaderSyncModes, lines } from './cluster/harness.js';
import { connectClient } from './cluster/clients.js';

/** 80 MB of data: more than the 64 MiB a nats-server holds for a client that does not read. */
const BIG_NODES = 80;
/** How long the learner stays stopped: well inside initLimit (10 s here) and the server's 10 s write deadline. */
const PAUSE_MS = 3000;

let cluster: Cluster;

beforeAll(async () => {
  cluster = await Cluster.start({ observers: 0, gateways: 1, tickTime: 200, initLimit: 50, snapCount: 60 });
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

describe('SNAP flow control', () => {
  it('a learner that stops reading during a SNAP larger than its server buffers is not cut off, and syncs in one SNAP', async () => {
    await cluster.settled();
    const c = await connectClient(cluster.connectString);
    await c.create('/big', Buffer.from('x'));
    for (let i = 0; i < BIG_NODES; i++) await c.create(`/big/b${i}`, Buffer.alloc(1_000_000, i));
    await c.close();
    await cluster.converged();
    await waitFor('every voter to write a snapshot', () => cluster.members.every((m) => existsSync(join(m.dataDir, 'snapshots')) && readdirSync(join(m.dataDir, 'snapshots')).length > 0), 30_000);
    // After a restart each member's history begins at its snapshot, so an empty learner is sent one.
    await Promise.all(cluster.members.map((m) => m.kill()));
    for (const m of cluster.members) m.start();
    const s = await cluster.settled(30_000);
    const slowBefore = await slowConsumers();

    const f = cluster.members.find((m) => m !== s.leader)!;
    const since = Date.now();
    await f.restart({ wipe: true });
    await waitFor('the snapshot to start arriving', () => lines(f, 'receiving snapshot from leader').length > 0, 30_000);
    f.freeze();
    await delay(PAUSE_MS); // the fault itself: a learner that reads nothing for this long
    f.thaw();
    const back = await cluster.settled(60_000);

    expect(back.leader, 'the leader stayed').toBe(s.leader);
    expect(leaderSyncModes(back.leader, f.id, since), 'one SNAP, not a retry after initLimit').toEqual(['snap']);
    expect(lines(f, 'synchronized with leader').map((l) => l.mode)).toEqual(['snap']);
    expect(lines(f, 'bus connection disconnect'), 'the learner kept its bus connection').toEqual([]);
    expect(await slowConsumers(), "no nats-server cut anyone off as a slow consumer").toBe(slowBefore);
    const got = lines(f, 'receiving snapshot from leader');
    expect(Number(got[0]!.total)).toBeGreaterThan(BIG_NODES * 1_000_000);
  }, 180_000);
});

async function slowConsumers(): Promise<number> {
  let n = 0;
  for (const server of cluster.bus.servers) n += (await monitorJson<{ slow_consumers: number }>(server.info.monitor, '/varz')).slow_consumers;
  return n;
}
