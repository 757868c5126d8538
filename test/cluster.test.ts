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
import { clientPerLearner, childrenAfterSync, connectClient, kazoo, learnerOf, sessionOf, within, type NzkClient } from './cluster/clients.js';
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
