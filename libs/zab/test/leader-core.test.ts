import { describe, expect, it } from 'vitest';
import type { Broadcast, ToLearner } from '@zooid/protocol';
import { LeaderCore } from '../src/core/leader.js';
import { History } from '../src/history.js';
import { EpochLeaders } from '../src/core/invariants.js';
import type { Effect } from '../src/core/effects.js';
import { makeZxid } from '../src/quorum.js';
import { Disk, Ensemble, entry, timing } from './ensemble.js';

const z = makeZxid;
const sent = (fx: Effect[], t: ToLearner['t']) => fx.filter((e) => e.type === 'send' && e.msg.t === t);
const broadcasts = (fx: Effect[]) => fx.flatMap((e) => (e.type === 'broadcast' ? [e.msg] : []));

/** Three voters, all synced and broadcasting in epoch 2. */
function broadcasting(voters = ['1', '2', '3']) {
  const disks: Record<string, Disk> = {};
  for (const id of voters) disks[id] = new Disk([z(1, 1), z(1, 2)], { accepted: 1, current: 1 });
  const e = new Ensemble('1', voters, disks);
  e.startLeader();
  for (const id of voters.slice(1)) e.startLearner(id);
  e.deliver();
  expect(e.leader.phase).toBe('broadcast');
  return e;
}

describe('leader core: discovery', () => {
  it('picks an epoch above every accepted epoch of a quorum, and persists it before announcing it', () => {
    const e = new Ensemble('1', ['1', '2', '3'], {
      '1': new Disk([], { accepted: 3, current: 3 }),
      '2': new Disk([], { accepted: 5, current: 4 }),
      '3': new Disk([], { accepted: 1, current: 1 }),
    });
    e.startLeader();
    expect(e.leader.phase).toBe('discovery');
    e.startLearner('2');
    e.deliver((m) => m.kind === 'leader');
    expect(e.leader.epoch).toBe(6);
    const fx = e.effects.get('1')!;
    const persisted = fx.findIndex((x) => x.type === 'persistEpoch' && x.kind === 'accepted' && x.epoch === 6);
    const announced = fx.findIndex((x) => x.type === 'send' && x.msg.t === 'newepoch');
    expect(persisted).toBeGreaterThanOrEqual(0);
    expect(announced).toBeGreaterThan(persisted);
    expect(e.disks.get('1')!.acceptedEpoch).toBe(6);
  });

  it('persists its new epoch as accepted from itself, and is the leader of that epoch only once established', () => {
    /** A leader of three that chose epoch 2 with 2's info, and got as far as `to`. */
    const leader = (to: 'synchronization' | 'broadcast') => {
      const seen = new EpochLeaders();
      const d = new Disk([], { accepted: 1, current: 1 });
      const core = new LeaderCore({ id: '1', voters: ['1', '2', '3'], maxMessageBytes: 1 << 20, ...timing, epochLeaders: seen }, d.state(), d.history);
      core.start(0);
      const fx = core.step({ t: 'info', from: '2', attempt: 5, voter: true, acceptedEpoch: 1, currentEpoch: 1, lastZxid: 0 }, 0);
      if (to === 'broadcast') {
        core.step({ t: 'ackepoch', from: '2', attempt: 5, epoch: 2, currentEpoch: 1, lastZxid: 0 }, 0);
        core.syncPrepared('2', 5, { plan: { mode: 'diff', from: 0 }, txns: [] });
        core.step({ t: 'acknl', from: '2', attempt: 5, epoch: 2 }, 0);
      }
      expect(core.phase).toBe(to);
      return { core, seen, fx };
    };
    const chosen = leader('synchronization');
    expect(chosen.fx[0]).toEqual({ type: 'persistEpoch', kind: 'accepted', epoch: 2, leader: '1' });
    expect(sent(chosen.fx, 'newepoch')).toEqual([{ type: 'send', to: '2', msg: { t: 'newepoch', attempt: 5, epoch: 2, leader: '1', established: false } }]);
    // Chosen is not established (it may never be): this member may still follow another leader of epoch 2.
    expect(() => chosen.seen.note(2, '3')).not.toThrow();
    const established = leader('broadcast');
    expect(() => established.seen.note(2, '3')).toThrow(/two leaders for epoch 2/);
    // A latecomer is told the epoch is established: it may follow even if it accepted 2 from a would-be leader that failed.
    const late = established.core.step({ t: 'info', from: '3', attempt: 6, voter: true, acceptedEpoch: 2, currentEpoch: 1, lastZxid: 0 }, 1);
    expect(sent(late, 'newepoch')).toEqual([{ type: 'send', to: '3', msg: { t: 'newepoch', attempt: 6, epoch: 2, leader: '1', established: true } }]);
  });

  it('waits for a quorum of voters: a leader alone of three stays in discovery', () => {
    const e = new Ensemble('1', ['1', '2', '3'], { '1': new Disk() });
    e.startLeader();
    expect(e.leader.phase).toBe('discovery');
    expect(e.leader.epoch).toBe(0);
  });

  it('an observer does not count towards the quorum', () => {
    const e = new Ensemble('1', ['1', '2', '3'], { '1': new Disk(), o: new Disk() });
    e.startLeader();
    e.startLearner('o', false);
    e.deliver((m) => m.kind === 'leader');
    expect(e.leader.phase).toBe('discovery');
  });

  it('answers a repeated info with the newepoch that was lost', () => {
    const e = new Ensemble('1', ['1', '2', '3'], { '1': new Disk(), '2': new Disk() });
    e.startLeader();
    e.startLearner('2');
    // The newepoch is lost.
    e.deliver((m) => m.kind === 'leader');
    expect(e.learners.get('2')!.phase).toBe('discovery');
    e.advance(timing.tickTime, { deliver: false });
    e.deliver((m) => m.kind === 'leader');
    expect(sent(e.effects.get('1')!, 'newepoch').length).toBeGreaterThan(1);
    e.advance(timing.tickTime);
    expect(e.learners.get('2')!.phase).toBe('broadcast');
  });

  it('sends away an observer whose accepted epoch is newer than ours, and keeps leading', () => {
    const e = broadcasting();
    const fx = e.leader.step({ t: 'info', from: 'o', attempt: 99, voter: false, acceptedEpoch: 9, currentEpoch: 1, lastZxid: 0 }, e.now);
    expect(fx).toEqual([{ type: 'send', to: 'o', msg: { t: 'goaway', attempt: 99, reason: 'your accepted epoch is newer than ours' } }]);
    expect(e.leader.phase).toBe('broadcast');
  });

  it('steps down for a voter whose accepted epoch is newer than ours, so the next election moves past its promise', () => {
    const e = broadcasting();
    const fx = e.leader.step({ t: 'info', from: '3', attempt: 99, voter: true, acceptedEpoch: 9, currentEpoch: 1, lastZxid: 0 }, e.now);
    expect(fx[0]).toEqual({ type: 'send', to: '3', msg: { t: 'goaway', attempt: 99, reason: 'your accepted epoch is newer than ours' } });
    expect(fx.at(-1)).toEqual({ type: 'end', reason: 'voter 3 accepted epoch 9, newer than ours (2)' });
    expect(e.leader.phase).toBe('ended');
  });

  it('steps down when a voter has a newer history than ours', () => {
    const e = new Ensemble('1', ['1', '2', '3'], {
      '1': new Disk([z(1, 1)], { accepted: 1, current: 1 }),
      '2': new Disk([z(1, 1), z(1, 2)], { accepted: 1, current: 1 }),
    });
    e.startLeader();
    e.startLearner('2');
    e.deliver();
    expect(e.leader.phase).toBe('ended');
    expect(e.ended('1')).toMatch(/newer history/);
  });

  it('cuts back the newer history of a follower that no configuration of ours counts, and leads', () => {
    // 4 is no voter (a joiner, or removed): the election never makes it a candidate, so it must not stop us either.
    const e = new Ensemble('1', ['1', '2', '3'], {
      '1': new Disk([z(1, 1)], { accepted: 1, current: 1 }),
      '2': new Disk([z(1, 1)], { accepted: 1, current: 1 }),
      '4': new Disk([z(1, 1), z(1, 2)], { accepted: 1, current: 1 }),
    });
    e.startLeader();
    e.startLearner('2');
    e.startLearner('4');
    e.deliver();
    expect(e.leader.phase).toBe('broadcast');
    expect(e.learners.get('4')!.phase).toBe('broadcast');
    expect(e.disks.get('4')!.log).toEqual([z(1, 1)]);
  });

  it('waits in discovery while no quorum comes, leaving initLimit to its lifecycle machine', () => {
    const e = new Ensemble('1', ['1', '2', '3'], { '1': new Disk() });
    e.startLeader();
    e.advance(timing.tickTime * 100);
    expect(e.leader.phase).toBe('discovery');
    expect(e.leader.quorumHeardAt).toBeUndefined();
  });
});

describe('leader core: synchronization', () => {
  it('DIFF for a learner whose last zxid is in our history, TRUNC for one that holds a proposal we never had, SNAP for one behind it', () => {
    const leader = new Disk([z(1, 1), z(2, 1)], { accepted: 2, current: 2 });
    leader.history.forgetBefore(z(2, 1));
    const e = new Ensemble('1', ['1', '2', '3', '4', '5'], {
      '1': leader,
      '2': new Disk([z(1, 1)], { accepted: 1, current: 1 }),
      '3': new Disk([z(1, 1), z(1, 2)], { accepted: 1, current: 1 }),
      '4': new Disk([], { accepted: 0, current: 0 }),
      '5': new Disk([z(1, 1), z(2, 1)], { accepted: 2, current: 2 }),
    });
    e.startLeader();
    for (const id of ['2', '3', '4', '5']) e.startLearner(id);
    e.deliver();
    expect(Object.fromEntries(e.syncModes)).toEqual({ '2': 'diff', '3': 'trunc', '4': 'snap', '5': 'diff' });
    for (const id of ['2', '3', '4', '5']) expect(e.disks.get(id)!.last).toBe(z(2, 1));
    expect(e.disks.get('3')!.log).not.toContain(z(1, 2));
    expect(e.leader.phase).toBe('broadcast');
    expect(e.leader.epoch).toBe(3);
  });

  it('a DIFF from further back than memory takes what the host read from the log, topped up from memory', () => {
    const leader = new Disk([], { accepted: 1, current: 1 });
    leader.history = new History(0, { window: 1 });
    leader.append([z(1, 1), z(1, 2), z(1, 3), z(1, 4), z(1, 5)]);
    leader.history.release(z(1, 5));
    expect(leader.history.memoryBase).toBe(z(1, 4));
    const e = new Ensemble('1', ['1', '2', '3'], { '1': leader, '2': new Disk([z(1, 1)], { accepted: 1, current: 1 }) });
    e.startLeader();
    e.startLearner('2');
    e.deliver();
    expect(e.syncModes.get('2')).toBe('diff');
    expect(e.disks.get('2')!.log).toEqual(leader.log);
  });

  it('sends a SNAP instead when the log read no longer reaches what memory holds', () => {
    const leader = new Disk([z(1, 1), z(1, 2), z(1, 3)], { accepted: 1, current: 1 });
    // Memory holds payloads after z(1, 2); the log read stops at z(1, 1): z(1, 2) is in neither, so no DIFF.
    const core = new LeaderCore({ id: '1', voters: ['1', '2', '3'], maxMessageBytes: 1 << 20, ...timing }, leader.state(), { last: z(1, 3), memoryBase: z(1, 2), plan: () => ({ mode: 'diff', from: 0 }), after: (x) => leader.history.after(x) });
    core.start(0);
    core.step({ t: 'info', from: '2', attempt: 5, voter: true, acceptedEpoch: 1, currentEpoch: 1, lastZxid: 0 }, 0);
    const fx = core.step({ t: 'ackepoch', from: '2', attempt: 5, epoch: 2, currentEpoch: 1, lastZxid: 0 }, 0);
    expect(fx).toEqual([{ type: 'prepareSync', to: '2', attempt: 5, plan: { mode: 'diff', from: 0 } }]);
    expect(core.syncPrepared('2', 5, { plan: { mode: 'diff', from: 0 }, txns: [entry(z(1, 1))] })).toEqual([{ type: 'prepareSync', to: '2', attempt: 5, plan: { mode: 'snap' } }]);
  });

  it('persists its current epoch before it broadcasts, then tells the synced learners uptodate', () => {
    const e = broadcasting();
    const fx = e.effects.get('1')!;
    const current = fx.findIndex((x) => x.type === 'persistEpoch' && x.kind === 'current');
    const phase = fx.findIndex((x) => x.type === 'phase' && x.phase === 'broadcast');
    const uptodate = fx.findIndex((x) => x.type === 'send' && x.msg.t === 'uptodate');
    expect(current).toBeGreaterThanOrEqual(0);
    expect(phase).toBeGreaterThan(current);
    expect(uptodate).toBeGreaterThan(phase);
    for (const id of ['2', '3']) expect(e.learners.get(id)!.serving).toBe(true);
  });

  it('starts broadcasting on a quorum of synced voters, and syncs a latecomer while broadcasting', () => {
    const e = new Ensemble('1', ['1', '2', '3'], { '1': new Disk(), '2': new Disk(), '3': new Disk() });
    e.startLeader();
    e.startLearner('2');
    e.deliver();
    expect(e.leader.phase).toBe('broadcast');
    e.propose(2);
    e.deliver();
    e.startLearner('3');
    e.deliver();
    expect(e.learners.get('3')!.serving).toBe(true);
    expect(e.disks.get('3')!.log).toEqual(e.disks.get('1')!.log);
  });

  it('syncs an epoch not yet established as committed to nothing, never says uptodate before broadcast, then uptodate with the whole history committed', () => {
    // Five voters: the leader holds a tail (z(1, 2)) nobody saw committed.
    const disks: Record<string, Disk> = { '1': new Disk([z(1, 1), z(1, 2)], { accepted: 1, current: 1 }) };
    for (const id of ['2', '3', '4', '5']) disks[id] = new Disk([z(1, 1)], { accepted: 1, current: 1 });
    const e = new Ensemble('1', ['1', '2', '3', '4', '5'], disks);
    e.startLeader();
    e.startLearner('2');
    e.startLearner('3');
    // 3's acknl is lost: only 1 and 2 of five have synced, the epoch is not established.
    e.deliver((m) => !(m.kind === 'leader' && m.msg.t === 'acknl' && m.msg.from === '3'));
    expect(e.leader.phase).toBe('synchronization');
    const syncs = sent(e.effects.get('1')!, 'sync');
    expect(syncs.map((x) => (x.type === 'send' && x.msg.t === 'sync' ? x.msg.committed : -1))).toEqual([0, 0]);
    expect(e.disks.get('2')!.last).toBe(z(1, 2));
    expect(e.disks.get('2')!.applied).toBe(0);
    // 2 repeats its acknl: still no uptodate, nothing applied, not serving.
    e.advance(timing.tickTime, { keep: (m) => !(m.kind === 'leader' && m.msg.t === 'acknl' && m.msg.from === '3') });
    expect(sent(e.effects.get('1')!, 'uptodate')).toEqual([]);
    expect(e.learners.get('2')!.serving).toBe(false);
    expect(e.disks.get('2')!.applied).toBe(0);
    // 3's acknl arrives: a quorum holds the history, which is now committed everywhere.
    e.advance(timing.tickTime);
    expect(e.leader.phase).toBe('broadcast');
    expect(sent(e.effects.get('1')!, 'uptodate')[0]).toMatchObject({ msg: { committed: z(1, 2) } });
    for (const id of ['2', '3']) {
      expect(e.learners.get(id)!.serving, id).toBe(true);
      expect(e.disks.get(id)!.applied, id).toBe(z(1, 2));
    }
  });

  it('a sync that comes back from a log read after the learner started over is dropped', () => {
    const e = broadcasting();
    expect(e.leader.syncPrepared('2', 12345, { plan: { mode: 'diff', from: 0 }, txns: [] })).toEqual([]);
  });
});

describe('leader core: broadcast and commit', () => {
  it('commits on a quorum of acks, and not on one fewer (five voters)', () => {
    const e = broadcasting(['1', '2', '3', '4', '5']);
    const committedBefore = e.disks.get('1')!.applied;
    for (const id of ['2', '3', '4', '5']) e.slowDisk.add(id);
    const [zx] = e.propose(1);
    e.deliver();
    expect(e.disks.get('1')!.applied).toBe(committedBefore);
    e.fsync('2');
    e.deliver();
    expect(e.disks.get('1')!.applied).toBe(committedBefore);
    e.fsync('3');
    e.deliver();
    expect(e.disks.get('1')!.applied).toBe(zx);
    // The commit rides the next broadcast, and learners apply it.
    for (const id of ['2', '3', '4', '5']) expect(e.disks.get(id)!.applied).toBe(zx);
  });

  it('ignores an ack from an old epoch, and one beyond what it proposed', () => {
    const e = broadcasting();
    e.slowDisk.add('2');
    e.slowDisk.add('3');
    const [zx] = e.propose(1);
    e.deliver();
    const before = e.disks.get('1')!.applied;
    expect(e.leader.step({ t: 'ack', from: '2', epoch: e.leader.epoch - 1, zxid: zx! }, e.now)).toEqual([]);
    expect(e.leader.step({ t: 'ack', from: '2', epoch: e.leader.epoch, zxid: zx! + 5 }, e.now)).toEqual([]);
    expect(e.disks.get('1')!.applied).toBe(before);
    expect(e.leader.step({ t: 'ack', from: '2', epoch: e.leader.epoch, zxid: zx! }, e.now)).toEqual([{ type: 'commit', zxid: zx }]);
  });

  it('numbers its broadcasts, carries the commit point and answered syncs, and splits a large turn', () => {
    const leader = new LeaderCore({ id: '1', voters: ['1'], maxMessageBytes: 40, ...timing }, { acceptedEpoch: 0, currentEpoch: 0, lastLogged: 0 }, new Disk().history);
    const fx = leader.start(0);
    expect(leader.phase).toBe('broadcast');
    expect(fx.filter((x) => x.type === 'persistEpoch').map((x) => x.type === 'persistEpoch' && x.kind)).toEqual(['accepted', 'current']);
    leader.propose([entry(z(1, 1)), entry(z(1, 2)), entry(z(1, 3))]);
    leader.answerSync('2', 7n, 1, '/a');
    expect(leader.due).toBe(true);
    const out = broadcasts(leader.flush(1));
    expect(out.map((b) => b.seq)).toEqual([1, 2]);
    expect(out.map((b) => b.proposals.length)).toEqual([2, 1]);
    expect(out[0]!.syncs).toEqual([]);
    expect(out[1]!.syncs).toEqual([['2', 7n, 1, '/a']]);
    expect(leader.due).toBe(false);
    expect(leader.durable(z(1, 3), 2)).toEqual([{ type: 'commit', zxid: z(1, 3) }]);
    expect(leader.due).toBe(true);
    expect(broadcasts(leader.flush(3))[0]!.commit).toBe(z(1, 3));
  });

  it('holds new proposals while its last broadcast is uncommitted, and sends them with the commit that frees them (or the next half tick)', () => {
    const e = broadcasting();
    e.slowDisk.add('2');
    e.slowDisk.add('3');
    const sentBroadcasts = () => e.effects.get('1')!.flatMap((x) => (x.type === 'broadcast' ? [x.msg] : []));
    const before = sentBroadcasts().length;
    const [first] = e.propose(1);
    expect(sentBroadcasts().length - before).toBe(1);
    const [second, third] = e.propose(2);
    // The first is on the leader's disk only: the next two wait.
    expect(e.leader.due).toBe(false);
    expect(sentBroadcasts().length - before).toBe(1);
    e.deliver();
    e.fsync('2');
    e.deliver();
    // A quorum has the first: one broadcast carries its commit and the two that waited.
    const out = sentBroadcasts().slice(before);
    expect(out.length).toBe(2);
    expect(out[1]!.commit).toBe(first);
    expect(out[1]!.proposals.map(([zx]) => zx)).toEqual([second, third]);

    // With no quorum acking, what waits still goes out within half a tick.
    const [fourth] = e.propose(1);
    expect(e.leader.due).toBe(false);
    e.advance(timing.tickTime / 2, { deliver: false });
    expect(sentBroadcasts().at(-1)!.proposals.map(([zx]) => zx)).toEqual([fourth]);
  });

  it('refuses proposals of another epoch and zxids that do not increase', () => {
    const leader = new LeaderCore({ id: '1', voters: ['1'], maxMessageBytes: 1 << 20, ...timing }, { acceptedEpoch: 0, currentEpoch: 0, lastLogged: 0 }, new Disk().history);
    leader.start(0);
    expect(() => leader.propose([entry(z(2, 1))])).toThrow(/invariant/);
    leader.propose([entry(z(1, 2))]);
    expect(() => leader.propose([entry(z(1, 2))])).toThrow(/invariant/);
  });

  it('once it stepped down, takes nothing more: proposals, acks and ticks are ignored', () => {
    const e = broadcasting();
    const fx = e.leader.stepDown('transaction log failed');
    // Its learners are sent away first, as a ZooKeeper leader's shutdown closes their connections.
    expect(fx.at(-1)).toEqual({ type: 'end', reason: 'transaction log failed' });
    expect(fx.slice(0, -1).map((x) => (x.type === 'send' ? [x.to, x.msg.t] : x.type)).sort()).toEqual([
      ['2', 'goaway'],
      ['3', 'goaway'],
    ]);
    e.queue.push(...fx.flatMap((x) => (x.type === 'send' ? [{ to: x.to, kind: 'learner' as const, msg: x.msg }] : [])));
    e.deliver();
    for (const id of ['2', '3']) expect(e.learners.get(id)!.ended, id).toBe(true);
    expect(e.leader.propose([entry(z(e.leader.epoch || 9, 1))])).toEqual([]);
    expect(e.leader.step({ t: 'ack', from: '2', epoch: 2, zxid: 0 }, 1)).toEqual([]);
    expect(e.leader.tick(10_000)).toEqual([]);
    expect(e.leader.stepDown('again')).toEqual([]);
  });

  it('sends a heartbeat every half tick when nothing else went out', () => {
    const e = broadcasting();
    const seqs = () => e.effects.get('1')!.filter((x) => x.type === 'broadcast').length;
    const n = seqs();
    e.advance(timing.tickTime * 2);
    expect(seqs() - n).toBe(4);
  });

  it('tells when a quorum was last heard, for the syncLimit its lifecycle machine keeps', () => {
    const e = broadcasting();
    const start = e.now;
    // Learners' acks are lost; the leader still hears itself, and the quorum's time stands still.
    const heard = e.leader.quorumHeardAt!;
    expect(heard).toBeLessThanOrEqual(start);
    e.advance(timing.syncLimit * timing.tickTime * 3, { keep: (m) => m.kind !== 'leader' });
    expect(e.leader.quorumHeardAt).toBe(heard);
    expect(e.leader.phase).toBe('broadcast');
    e.advance(timing.tickTime);
    expect(e.leader.quorumHeardAt).toBeGreaterThan(start);
  });

  it('keeps hearing a quorum while one of three is silent', () => {
    const e = broadcasting();
    e.advance(timing.syncLimit * timing.tickTime * 3, { keep: (m) => !(m.kind === 'leader' && m.msg.from === '3') });
    expect(e.leader.phase).toBe('broadcast');
    expect(e.leader.quorumHeardAt).toBeGreaterThan(e.now - timing.tickTime);
  });
});

describe('leader core: resend', () => {
  it('sends a missed run again to the learner that asks, and says noresend once it is no longer kept', () => {
    const disks = { '1': new Disk(), '2': new Disk() };
    const e = new Ensemble('1', ['1', '2'], disks);
    e.leader = new LeaderCore({ id: '1', voters: ['1', '2'], maxMessageBytes: 1 << 20, streamLimits: { count: 3, bytes: 1 << 20 }, ...timing }, disks['1'].state(), disks['1'].history);
    e.runLeader(e.leader.start(0));
    e.startLearner('2');
    e.deliver();
    const info = e.effects.get('2')!.find((x) => x.type === 'toLeader' && x.msg.t === 'info');
    const a = info?.type === 'toLeader' && info.msg.t === 'info' ? info.msg.attempt : 0;
    for (let i = 0; i < 5; i++) e.runLeader(e.leader.flush(e.now));
    e.queue = [];
    const resent = e.leader.step({ t: 'resend', from: '2', attempt: a, epoch: e.leader.epoch, fromSeq: 4, toSeq: 5 }, e.now);
    expect(resent).toHaveLength(1);
    const msg = (resent[0] as Effect & { type: 'send' }).msg as Extract<ToLearner, { t: 'resent' }>;
    expect(msg.broadcasts.map((b: Broadcast) => b.seq)).toEqual([4, 5]);
    expect(sent(e.leader.step({ t: 'resend', from: '2', attempt: a, epoch: e.leader.epoch, fromSeq: 1, toSeq: 5 }, e.now), 'noresend')).toHaveLength(1);
    // Another stint's or epoch's ask is not answered.
    expect(e.leader.step({ t: 'resend', from: '2', attempt: a + 1, epoch: e.leader.epoch, fromSeq: 4, toSeq: 5 }, e.now)).toEqual([]);
  });
});
