/**
 * A leader goes in the middle of a reconfig: the change is in the old
 * voters' logs but lacks the new voters' quorum (they are frozen). With a
 * change pending the leader must hear both quorums within syncLimit, so it
 * steps down by itself soon after, and the test kills it as well. The old
 * voters restart (their trees now hold the change, replayed from the log)
 * and elect among themselves, and whoever finds the change uncommitted in
 * its log cannot establish an epoch without a quorum of the new voters too;
 * once they are thawed it commits the change, hands over (it is not in the
 * new configuration), and the new voters lead.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZooKeeperClient } from '@zooid/client';
import { parseConfig, voters } from '@zooid/tree';
import { waitFor } from './harness.js';
import { Cluster } from './cluster/harness.js';
import { connectClient, kazoo, within } from './cluster/clients.js';

const PASSWORD = 'hunter2';
const SUPER_DIGEST = 'super:' + createHash('sha1').update(`super:${PASSWORD}`).digest('base64');
const spec = (id: string) => `server.${id}=zooid-${id}:2888:3888:participant;2181`;

let cluster: Cluster;

beforeAll(async () => {
  // syncLimit 5 s: 4 and 5 must still count as synced when the request comes after they were frozen, on a busy machine too.
  cluster = await Cluster.start({ voters: 3, joiners: 2, observers: 0, gateways: 1, tickTime: 200, syncLimit: 25, memberArgs: ['--reconfig-enabled', '--super-digest', SUPER_DIGEST] });
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

describe('a leader crash in the middle of a reconfig', () => {
  it('leaves the change to be committed under both quorums by the next leader, never by the old voters alone', async () => {
    for (const id of ['4', '5']) cluster.node(id).start();
    const { leader } = await cluster.settled(30_000);
    const others = cluster.members.filter((m) => ['1', '2', '3'].includes(m.id) && m !== leader);
    const zk = await ZooKeeperClient.connect(cluster.connectString);
    await zk.addAuth('digest', `super:${PASSWORD}`);
    // Where the voters' logs are before the change, as they announce it once the session exists.
    const since = Date.now();
    const loggedOf = (id: string) => cluster.spy.heardSince('member', id, since)?.logged ?? 0;
    const before = await waitFor('the voters to announce what they logged', () => {
      const l = [leader, ...others].map((m) => loggedOf(m.id));
      return l.every((x) => x > 0) ? Math.max(...l) : undefined;
    }, 10_000);
    // Synced and heard within syncLimit when the request comes (so it passes NEWCONFIGNOQUORUM), then
    // silent: {leader, 4, 5} has only the leader to ack.
    for (const id of ['4', '5']) cluster.node(id).freeze();
    const change = zk.reconfig({ joining: `${spec('4')},${spec('5')}`, leaving: others.map((m) => m.id).join(',') }).then(
      () => 'committed',
      (err: Error) => err.message,
    );
    // The proposal reaches the old voters' logs; it cannot commit, so only what they logged tells.
    let outcome = 'no answer yet';
    void change.then((o) => (outcome = o));
    await waitFor('the old voters to log the change', () => others.every((m) => loggedOf(m.id) > before) || undefined, 10_000).catch((err: Error) => {
      throw new Error(`${err.message}; the reconfig request: ${outcome}`);
    });
    await leader.kill();
    void zk.close().catch(() => undefined);
    // The old voters restart: replaying their logs puts the change in their trees, committed or not.
    // They must count it as pending (its voters' quorum needed too), not as who votes now: as
    // voters they would be gone, and 4 and 5 never heard of it.
    for (const m of others) await m.kill();
    for (const m of others) m.start();
    // The old voters alone cannot establish an epoch: that would commit the change without its new quorum.
    const stuck = await cluster
      .settled(4_000, { leaderNot: leader.id })
      .then(() => 'settled')
      .catch(() => 'no leader');
    expect(stuck).toBe('no leader');
    for (const id of ['4', '5']) cluster.node(id).thaw();
    // 4 and 5 are two of {leader, 4, 5}: with the change committed they lead without the old voters.
    const next = await cluster.settled(30_000, { leaderNot: leader.id }).catch((err: Error) => {
      throw new Error(`${err.message}\n${cluster.tails(6000)}`);
    });
    expect(['4', '5']).toContain(next.leader.id);
    const read = await kazoo<{ config: string }>(['config', cluster.connectString]);
    expect(voters(parseConfig(read.config)).map(String)).toEqual([leader.id, '4', '5'].sort());
    const c = await connectClient(cluster.connectString);
    try {
      await within(c.create('/after-crash', Buffer.from('x')), 15_000, 'a write once the new voters lead');
    } finally {
      await c.close();
    }
    // The client that asked was cut off with its leader; whatever it heard, the change is there once.
    expect(typeof (await change)).toBe('string');
  }, 120_000);
});
