/**
 * A follower that misses part of the broadcast stream asks the leader to
 * resend it and keeps following: no re-election, no resync, its clients keep
 * their sessions and connections, and at quiescence its tree is the
 * leader's. Real processes (nats-server, three voting members, two
 * gateways, tickTime 200 ms); the follower drops every 5th broadcast it
 * receives through the test-only hook ZOOID_TEST_DROP_BROADCAST_EVERY.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { NatsConnection } from '@nats-io/transport-node';
import { pack, subjects, unpack, type AdminAsk } from '@zooid/protocol';
import { Cluster } from './cluster/harness.js';
import { WriteLoad, clientPerLearner, sessionOf, within } from './cluster/clients.js';

const TICK = 200;
const DROP_EVERY = 5;

let cluster: Cluster;
/** Asks members for their trees, as `zooid status` does. */
let tool: NatsConnection;

beforeAll(async () => {
  cluster = await Cluster.start({ tickTime: TICK, observers: 0, gateways: 2, natsServers: 1 });
  tool = await cluster.bus.connect({ kind: 'tool', id: 'status' });
}, 60_000);

afterAll(async () => {
  await tool?.close();
  await cluster?.stop();
});

function log(msg: string): void {
  console.log(`[broadcast-loss] ${msg}`);
}

/** A member's zxid and tree digest, as it answers an admin ask. */
async function treeOf(id: string): Promise<{ zxid: number; digest: string }> {
  const ask: AdminAsk = { command: 'mntr' };
  const m = await tool.request(subjects(cluster.opts.cluster).admin(id), pack(ask), { timeout: 2000 });
  const r = unpack<{ zxid: number; digest: string }>(m.data);
  return { zxid: Number(r.zxid), digest: r.digest };
}

describe('a follower that misses broadcasts', () => {
  it('has the leader resend them and keeps following, with its clients, under write load', async () => {
    const first = await cluster.settled();
    const f = cluster.members.find((m) => m !== first.leader)!;
    f.env = { ZOOID_TEST_DROP_BROADCAST_EVERY: String(DROP_EVERY) };
    await f.restart();
    const s = await cluster.settled(20_000);
    const since = f.logs().length;
    const leaderSince = s.leader.logs().length;

    // A session on the lossy follower: its reads are served there, after its own writes.
    const per = await clientPerLearner(cluster, [f.id]);
    const mine = per.get(f.id)!;
    const states = mine.states.length;
    const load = await WriteLoad.start(cluster.connectString, '/bcast-loss', 3);
    const loadStates = load.clients.map((c) => c.states.length);
    try {
      await mine.mkdirp('/bcast-own');
      for (let i = 0; i < 100; i++) {
        const path = `/bcast-own/n${i}`;
        await within(mine.create(path, Buffer.from(String(i))), 5000, `create ${path}`);
        expect(await within(mine.exists(path), 5000, `exists ${path}`), `${path} read back on ${f.id}`).not.toBeNull();
      }
      await load.moreAcks(300, 30_000);
      // Before stopping the load, whose close is a state change of its own.
      load.clients.forEach((c, i) => expect(c.states.slice(loadStates[i]), `load client ${i}`).toEqual([]));
    } finally {
      await load.stop();
    }

    const fl = f.logs().slice(since);
    const asks = fl.filter((l) => l.msg === 'missed broadcasts; asking the leader to resend them');
    log(`${load.acked.length} load writes and 100 own writes; follower ${f.id} asked for a resend ${asks.length} times`);
    expect(asks.length, 'the hook dropped broadcasts and the follower noticed').toBeGreaterThan(0);
    // Kept following: no new handshake, no resync, same leader and epoch.
    expect(fl.filter((l) => l.msg === 'leaving the leader' || l.msg === 'synchronized with leader')).toEqual([]);
    expect(s.leader.logs().slice(leaderSince).filter((l) => l.msg === 'stepping down' || l.msg === 'broadcasts asked for again are no longer kept; the learner resyncs')).toEqual([]);
    const after = await cluster.settled();
    expect(after.leader).toBe(s.leader);
    expect(after.epoch).toBe(s.epoch);
    // Its clients kept their sessions and connections.
    expect(mine.states.slice(states)).toEqual([]);
    expect(cluster.spy.learnerOf(sessionOf(mine))).toBe(f.id);
    expect(load.records.filter((r) => !r.ok)).toEqual([]);
    // At quiescence the follower holds the leader's tree.
    const zxid = await cluster.converged();
    const trees = await Promise.all(cluster.members.map((m) => treeOf(m.id)));
    log(`converged at 0x${zxid.toString(16)}: ${JSON.stringify(trees)}`);
    for (const t of trees) expect(t).toEqual(trees[0]);
    expect(trees[0]!.zxid).toBe(zxid);
    await mine.close();
  }, 120_000);
});
