import { describe, expect, it } from 'vitest';
import { AckTracker } from '../src/acks.js';
import { LeaderCore } from '../src/core/leader.js';
import { makeZxid } from '../src/quorum.js';
import { Disk, Ensemble, entry, timing } from './ensemble.js';

const z = makeZxid;

describe('ack tracker: a configuration change in flight', () => {
  it('commits the change and what follows only with a quorum of the old voters and one of the new', () => {
    const t = new AckTracker(['1', '2', '3'], z(1, 0));
    // 4 and 5 are not voters yet: their acks do not count.
    expect(t.ack('4', z(1, 1), 0)).toBeUndefined();
    t.ack('1', z(1, 1), 0);
    expect(t.ack('2', z(1, 1), 0)).toBe(z(1, 1));
    t.propose({ zxid: z(1, 3), before: z(1, 2), voters: ['1', '2', '3', '4', '5'] });
    t.ack('1', z(1, 4), 0);
    // Two of three old voters have everything: without the new quorum the commit stops just before the change.
    expect(t.ack('2', z(1, 4), 0)).toBe(z(1, 2));
    expect(t.voters).toEqual(['1', '2', '3']);
    // 1, 2 and 4 are three of the five new voters: the change and the proposal after it commit.
    expect(t.ack('4', z(1, 4), 0)).toBe(z(1, 4));
    expect(t.voters).toEqual(['1', '2', '3', '4', '5']);
    expect(t.pending).toBeUndefined();
  });

  it('does not commit the change on the new quorum alone', () => {
    const t = new AckTracker(['1', '2', '3'], 0);
    t.propose({ zxid: z(1, 1), before: 0, voters: ['1', '4', '5'] });
    t.ack('4', z(1, 1), 0);
    t.ack('5', z(1, 1), 0);
    expect(t.commitPoint).toBe(0);
    expect(t.ack('1', z(1, 1), 0)).toBeUndefined();
    expect(t.ack('2', z(1, 1), 0)).toBe(z(1, 1));
    // 2 and 3 are out: their acks no longer count, 1, 4 and 5 commit.
    expect(t.ack('2', z(1, 2), 0)).toBeUndefined();
    t.ack('3', z(1, 2), 0);
    t.ack('1', z(1, 2), 0);
    expect(t.ack('4', z(1, 2), 0)).toBe(z(1, 2));
  });

  it('hears a quorum only when both configurations have one, and allows one change at a time', () => {
    const t = new AckTracker(['1', '2', '3'], 0);
    t.ack('2', 0, 100);
    t.propose({ zxid: z(1, 1), before: 0, voters: ['1', '2', '3', '4', '5'] });
    // Old: 1 and 2 heard (1 always). New: 1, 2 and nobody else of 3, 4, 5 — not a quorum of five.
    expect(t.quorumHeardAt('1')).toBe(-Infinity);
    t.ack('4', 0, 150);
    expect(t.quorumHeardAt('1')).toBe(100);
    expect(() => t.propose({ zxid: z(1, 2), before: z(1, 1), voters: ['1', '2', '3'] })).toThrow(/already pending/);
  });
});

/** Voters 1, 2, 3 broadcasting in epoch 2; 4 and 5 follow as learners the configuration does not list. */
function withJoiners() {
  const ids = ['1', '2', '3', '4', '5'];
  const disks: Record<string, Disk> = {};
  for (const id of ids) disks[id] = new Disk([z(1, 1)], { accepted: 1, current: 1 });
  const e = new Ensemble('1', ['1', '2', '3'], disks);
  e.startLeader();
  for (const id of ids.slice(1)) e.startLearner(id);
  e.deliver();
  expect(e.leader.phase).toBe('broadcast');
  return e;
}

/** The leader logs and proposes `n` entries, the `at`-th of them (1-based) changing the voters to `voters`. */
function proposeChange(e: Ensemble, n: number, at: number, voters: string[]): number[] {
  const d = e.disks.get(e.leaderId)!;
  const zxids = Array.from({ length: n }, (_, i) => z(e.leader.epoch, (d.last >= z(e.leader.epoch, 0) ? d.last - z(e.leader.epoch, 0) : 0) + i + 1));
  d.append(zxids);
  e.runLeader(e.leader.propose(zxids.map(entry), { zxid: zxids[at - 1]!, voters }));
  d.durable = d.last;
  e.runLeader(e.leader.durable(d.durable, e.now));
  return zxids;
}

const ackFrom = (ids: string[]) => (m: { kind: string; msg: unknown }) => m.kind !== 'leader' || (m.msg as { t: string }).t !== 'ack' || ids.includes((m.msg as { from: string }).from);
const committed = (e: Ensemble) => e.disks.get(e.leaderId)!.applied;

describe('leader core: growing and shrinking the voters', () => {
  it('syncs joiners as non-voting learners whose acks do not commit anything', () => {
    const e = withJoiners();
    expect(e.leader.syncedLearners(e.now, 500).sort()).toEqual(['1', '2', '3', '4', '5']);
    // A learner that fell silent (dead, frozen) no longer counts as synced for NEWCONFIGNOQUORUM.
    e.advance(1000, { keep: (m) => !(m.kind === 'leader' && (m.msg as { from: string }).from === '5') });
    expect(e.leader.syncedLearners(e.now, 500).sort()).toEqual(['1', '2', '3', '4']);
    const [zx] = e.propose(1);
    e.deliver(ackFrom(['4', '5']));
    expect(committed(e)).toBeLessThan(zx!);
  });

  it('a change that keeps the voters (the static configuration a new leader shows) commits on the one quorum, as any proposal', () => {
    const e = withJoiners();
    const [change, after] = proposeChange(e, 2, 1, ['1', '2', '3']);
    expect(e.leader.pendingConfig?.zxid).toBe(change);
    e.deliver(ackFrom(['2']));
    expect(committed(e)).toBe(after);
    expect(e.leader.voters).toEqual(['1', '2', '3']);
    expect(e.leader.pendingConfig).toBeUndefined();
    expect(e.leader.phase).toBe('broadcast');
  });

  it('grows 3 → 5: the change commits with both quorums, then 1, 4 and 5 commit without 2 and 3', () => {
    const e = withJoiners();
    const [, change, after] = proposeChange(e, 3, 2, ['1', '2', '3', '4', '5']);
    // An old quorum (1, 2) alone commits only what came before the change.
    e.deliver(ackFrom(['2']));
    expect(committed(e)).toBe(change! - 1);
    expect(e.leader.pendingConfig?.zxid).toBe(change);
    // 4 makes 1, 2, 4 a quorum of five as well.
    e.queue = [];
    e.runLeader(e.leader.step({ t: 'ack', from: '4', epoch: e.leader.epoch, zxid: after! }, e.now));
    expect(committed(e)).toBe(after);
    expect(e.leader.voters).toEqual(['1', '2', '3', '4', '5']);
    expect(e.leader.pendingConfig).toBeUndefined();
    e.deliver();
    // Now two of five may be gone.
    const [next] = e.propose(1);
    e.deliver(ackFrom(['4', '5']));
    expect(committed(e)).toBe(next);
  });

  it('never commits the change, nor anything after it, without a quorum of the new voters', () => {
    const e = withJoiners();
    // Replacing 2 and 3 by 4 and 5: every old voter acks, but of the new ones only the leader.
    const [change, after] = proposeChange(e, 2, 1, ['1', '4', '5']);
    e.deliver(ackFrom(['2', '3']));
    expect(committed(e)).toBeLessThan(change!);
    expect(e.leader.voters).toEqual(['1', '2', '3']);
    e.runLeader(e.leader.step({ t: 'ack', from: '5', epoch: e.leader.epoch, zxid: after! }, e.now));
    expect(committed(e)).toBe(after);
  });

  it('a leader removed by the change broadcasts its commit, then steps down so the new voters elect', () => {
    const e = withJoiners();
    const [change] = proposeChange(e, 1, 1, ['2', '3', '4']);
    e.deliver();
    expect(committed(e)).toBe(change);
    expect(e.ended('1')).toMatch(/removed from the configuration/);
    const fx = e.effects.get('1')!;
    const lastBroadcast = fx.findLastIndex((x) => x.type === 'broadcast' && x.msg.commit >= change!);
    const goaway = fx.findIndex((x) => x.type === 'send' && x.msg.t === 'goaway');
    expect(lastBroadcast).toBeGreaterThanOrEqual(0);
    expect(goaway).toBeGreaterThan(lastBroadcast);
    // The learners applied the change before they were sent away.
    for (const id of ['2', '3', '4']) expect(e.disks.get(id)!.applied).toBe(change);
  });

  it('shrinks 5 → 3 and then commits without the removed voters', () => {
    const e = withJoiners();
    proposeChange(e, 1, 1, ['1', '2', '3', '4', '5']);
    e.deliver();
    expect(e.leader.voters).toHaveLength(5);
    proposeChange(e, 1, 1, ['1', '4', '5']);
    e.deliver();
    expect(e.leader.voters).toEqual(['1', '4', '5']);
    const [next] = e.propose(1);
    e.deliver(ackFrom(['2', '3']));
    expect(committed(e)).toBeLessThan(next!);
    e.runLeader(e.leader.step({ t: 'ack', from: '4', epoch: e.leader.epoch, zxid: next! }, e.now));
    expect(committed(e)).toBe(next);
  });
});

describe('leader core: a configuration change in its log it never saw committed', () => {
  /** Voters 1, 2, 3; the leader's log ends with a change at z(1, 2) to `next`, as do the disks of `holders`. */
  function elected(next: string[], holders: string[], leader = '1') {
    const ids = ['1', '2', '3', '4', '5'];
    const disks: Record<string, Disk> = {};
    for (const id of ids) disks[id] = new Disk(holders.includes(id) ? [z(1, 1), z(1, 2)] : [z(1, 1)], { accepted: 1, current: 1 });
    const e = new Ensemble(leader, ['1', '2', '3'], disks);
    const d = e.disks.get(leader)!;
    e.leader = new LeaderCore({ id: leader, voters: ['1', '2', '3'], maxMessageBytes: 1 << 20, ...timing, pendingConfig: { zxid: z(1, 2), voters: next } }, d.state(), d.history);
    e.runLeader(e.leader.start(e.now));
    return e;
  }

  it('establishes only with a quorum of the old voters and one of the new, then leads with the new', () => {
    const e = elected(['1', '2', '3', '4', '5'], ['1', '2', '4']);
    // 1 and 2 are a quorum of the old three, but not of the five: no epoch yet.
    e.startLearner('2');
    e.deliver();
    expect(e.leader.phase).toBe('discovery');
    e.startLearner('4');
    e.deliver();
    expect(e.leader.phase).toBe('broadcast');
    expect(e.leader.voters).toEqual(['1', '2', '3', '4', '5']);
    // 1, 4, 5 are a quorum of five: 2 and 3 are not needed any more.
    e.startLearner('5');
    e.deliver();
    const [zx] = e.propose(1);
    e.deliver(ackFrom(['4', '5']));
    expect(committed(e)).toBe(zx);
  });

  it('may be a voter only the change adds (elected by both quorums): it establishes with both, the change with it', () => {
    const e = elected(['1', '4', '5'], ['4', '5'], '4');
    e.startLearner('5');
    e.deliver();
    // 4 and 5 are a quorum of the change, but none of the committed three is there.
    expect(e.leader.phase).toBe('discovery');
    e.startLearner('2');
    e.startLearner('3');
    e.deliver();
    expect(e.leader.phase).toBe('broadcast');
    expect(e.leader.voters).toEqual(['1', '4', '5']);
    const [zx] = e.propose(1);
    e.deliver(ackFrom(['5']));
    expect(committed(e)).toBe(zx);
  });

  it('a leader the change in its log removes establishes it, then steps down', () => {
    const e = elected(['2', '3', '4'], ['1', '2', '3']);
    e.startLearner('2');
    e.startLearner('3');
    e.deliver();
    expect(e.ended('1')).toMatch(/removed from the configuration/);
    for (const id of ['2', '3']) expect(e.disks.get(id)!.applied).toBe(z(1, 2));
  });
});
