import { describe, expect, it } from 'vitest';
import type { Broadcast, LogEntry, ToLearner } from '@zooid/protocol';
import { LearnerCore, type LearnerConfig } from '../src/core/learner.js';
import type { DurableState, Effect } from '../src/core/effects.js';
import { EpochLeaders } from '../src/core/invariants.js';
import { makeZxid } from '../src/quorum.js';
import { Disk, Ensemble, entry, timing } from './ensemble.js';

const z = makeZxid;
const A = 7;
const toLeader = (fx: Effect[], t: string) => fx.flatMap((e) => (e.type === 'toLeader' && e.msg.t === t ? [e.msg] : []));
const bc = (epoch: number, seq: number, proposals: LogEntry[] = [], commit = 0): Broadcast => ({ epoch, seq, proposals, commit, syncs: [] });
const sync = (epoch: number, over: Partial<Extract<ToLearner, { t: 'sync' }>> = {}): Extract<ToLearner, { t: 'sync' }> => ({
  t: 'sync',
  attempt: A,
  epoch,
  mode: 'diff',
  truncTo: 0,
  snapshot: null,
  snapZxid: 0,
  txns: [],
  committed: 0,
  seq: 0,
  parts: 0,
  ...over,
});

function learner(over: Partial<LearnerConfig> = {}, durable: DurableState = { acceptedEpoch: 1, acceptedLeader: '1', currentEpoch: 1, lastLogged: z(1, 2) }) {
  return new LearnerCore({ id: '2', voter: true, leader: '1', attempt: A, leaderGoneMs: 1000, ...timing, ...over }, durable);
}

/** A learner of epoch 2 that took a DIFF at seq 0 and was told uptodate at `now`. */
function following(over: Partial<LearnerConfig> = {}, now = 0) {
  const l = learner(over);
  l.start(now);
  l.step({ t: 'newepoch', attempt: A, epoch: 2, leader: '1', established: false }, now);
  l.step(sync(2, { committed: z(1, 2) }), now);
  l.installed(z(1, 2), now);
  l.step({ t: 'uptodate', attempt: A, epoch: 2, committed: z(1, 2) }, now);
  expect(l.serving).toBe(true);
  return l;
}

describe('learner core: handshake', () => {
  it('introduces itself with its epochs and last zxid, and repeats it each tick until answered', () => {
    const l = learner();
    expect(toLeader(l.start(), 'info')).toEqual([{ t: 'info', from: '2', attempt: A, voter: true, acceptedEpoch: 1, currentEpoch: 1, lastZxid: z(1, 2) }]);
    expect(toLeader(l.tick(250), 'info')).toHaveLength(1);
  });

  it('persists the accepted epoch before it acks the new epoch', () => {
    const l = learner();
    l.start(0);
    const fx = l.step({ t: 'newepoch', attempt: A, epoch: 2, leader: '1', established: false }, 1);
    expect(fx.map((e) => e.type)).toEqual(['persistEpoch', 'phase', 'toLeader']);
    expect(fx[0]).toEqual({ type: 'persistEpoch', kind: 'accepted', epoch: 2, leader: '1' });
    expect(fx[2]).toMatchObject({ msg: { t: 'ackepoch', epoch: 2, currentEpoch: 1, lastZxid: z(1, 2) } });
  });

  it('ignores a newepoch below its accepted epoch, from a leader it did not elect, or of another attempt', () => {
    const l = learner({}, { acceptedEpoch: 3, currentEpoch: 1, lastLogged: 0 });
    l.start(0);
    expect(l.step({ t: 'newepoch', attempt: A, epoch: 2, leader: '1', established: false }, 1)).toEqual([]);
    expect(l.step({ t: 'newepoch', attempt: A, epoch: 4, leader: '3', established: false }, 1)).toEqual([]);
    expect(l.step({ t: 'newepoch', attempt: A + 1, epoch: 4, leader: '1', established: false }, 1)).toEqual([]);
    expect(l.phase).toBe('discovery');
  });

  it('accepts an epoch equal to its accepted one only from the leader it accepted it from, a restart included', () => {
    const durable = { acceptedEpoch: 2, acceptedLeader: '1', currentEpoch: 1, lastLogged: 0 };
    const other = learner({ leader: undefined }, durable);
    other.start(0);
    expect(other.step({ t: 'newepoch', attempt: A, epoch: 2, leader: '3', established: false }, 0)).toEqual([]);
    // The same leader again (this member resyncs within its epoch) is welcome.
    const same = learner({ leader: undefined }, durable);
    same.start(0);
    expect(toLeader(same.step({ t: 'newepoch', attempt: A, epoch: 2, leader: '1', established: false }, 0), 'ackepoch')).toHaveLength(1);
    // An epoch file from before leaders were recorded names none: only a higher epoch, or an established leader.
    const old = learner({ leader: undefined }, { acceptedEpoch: 2, currentEpoch: 1, lastLogged: 0 });
    old.start(0);
    expect(old.step({ t: 'newepoch', attempt: A, epoch: 2, leader: '1', established: false }, 0)).toEqual([]);
    expect(old.step({ t: 'newepoch', attempt: A, epoch: 3, leader: '1', established: false }, 0)[0]).toEqual({ type: 'persistEpoch', kind: 'accepted', epoch: 3, leader: '1' });
  });

  it('a member that accepted an epoch from a would-be leader that failed follows the leader established in it', () => {
    const seen = new EpochLeaders();
    // This member (3) chose epoch 2 as a would-be leader, or acked one: either way it accepted 2 from 3.
    const l = learner({ id: '2', leader: '1', epochLeaders: seen }, { acceptedEpoch: 2, acceptedLeader: '3', currentEpoch: 1, lastLogged: z(1, 2) });
    l.start(0);
    // Leader 1 picked 2 from a quorum without us: not yet established, it might still lose to 3.
    expect(l.step({ t: 'newepoch', attempt: A, epoch: 2, leader: '1', established: false }, 0)).toEqual([]);
    const fx = l.step({ t: 'newepoch', attempt: A, epoch: 2, leader: '1', established: true }, 0);
    expect(fx[0]).toEqual({ type: 'persistEpoch', kind: 'accepted', epoch: 2, leader: '1' });
    expect(toLeader(fx, 'ackepoch')).toHaveLength(1);
    l.step(sync(2, { committed: z(1, 2) }), 0);
    l.installed(z(1, 2), 0);
    l.step({ t: 'uptodate', attempt: A, epoch: 2, committed: z(1, 2) }, 0);
    expect(l.serving).toBe(true);
    // Only the established leader is recorded: a second one in the same epoch would be the bug.
    expect(() => seen.note(2, '3')).toThrow(/two leaders for epoch 2/);
  });

  it('logs a sync of an epoch not yet established but applies none of it before uptodate, then what uptodate says is committed', () => {
    const l = learner();
    l.start(0);
    l.step({ t: 'newepoch', attempt: A, epoch: 2, leader: '1', established: false }, 0);
    l.step(sync(2, { txns: [entry(z(1, 3)), entry(z(1, 4))], committed: 0 }), 0);
    const fx = l.installed(z(1, 4), 0);
    expect(fx.map((e) => e.type)).toEqual(['persistEpoch', 'toLeader']);
    expect(l.serving).toBe(false);
    const up = l.step({ t: 'uptodate', attempt: A, epoch: 2, committed: z(1, 4) }, 1);
    expect(up).toEqual([
      { type: 'commit', zxid: z(1, 4) },
      { type: 'phase', phase: 'broadcast', epoch: 2 },
    ]);
    expect(l.serving).toBe(true);
  });

  it('installs the sync, then applies its commit point, makes the epoch current, and acks it — in that order', () => {
    const l = learner();
    l.start(0);
    l.step({ t: 'newepoch', attempt: A, epoch: 2, leader: '1', established: false }, 0);
    const fx = l.step(sync(2, { mode: 'trunc', truncTo: z(1, 1), txns: [entry(z(2, 1))], committed: z(2, 1) }), 0);
    expect(fx).toEqual([{ type: 'install', sync: expect.objectContaining({ mode: 'trunc', truncTo: z(1, 1) }) }]);
    expect(l.step(sync(2), 0)).toEqual([]);
    const after = l.installed(z(2, 1), 0);
    expect(after.map((e) => e.type)).toEqual(['commit', 'persistEpoch', 'toLeader']);
    expect(after[1]).toEqual({ type: 'persistEpoch', kind: 'current', epoch: 2 });
    expect(toLeader(after, 'acknl')).toHaveLength(1);
    // Until uptodate, the acknl is repeated.
    expect(toLeader(l.tick(250), 'acknl')).toHaveLength(1);
  });

  it("hands a snapshot's parts to the host as they come, puts the sync's transactions back together, and resyncs when a part was lost", () => {
    const l = learner();
    l.start(0);
    l.step({ t: 'newepoch', attempt: A, epoch: 2, leader: '1', established: false }, 0);
    expect(l.step({ t: 'syncpart', attempt: A, epoch: 2, snapshot: new Uint8Array([1, 2]), txns: [], bytes: 0 }, 0)).toEqual([{ type: 'snapshotPart', part: new Uint8Array([1, 2]) }]);
    expect(l.step({ t: 'syncpart', attempt: A, epoch: 2, snapshot: new Uint8Array([3]), txns: [], bytes: 0 }, 0)).toEqual([{ type: 'snapshotPart', part: new Uint8Array([3]) }]);
    // Another attempt's or epoch's part is not ours: the host never sees it.
    expect(l.step({ t: 'syncpart', attempt: A + 1, epoch: 2, snapshot: new Uint8Array([9]), txns: [], bytes: 0 }, 0)).toEqual([]);
    expect(l.step({ t: 'syncpart', attempt: A, epoch: 1, snapshot: new Uint8Array([9]), txns: [], bytes: 0 }, 0)).toEqual([]);
    expect(l.step({ t: 'syncpart', attempt: A, epoch: 2, snapshot: null, txns: [entry(z(2, 1))], bytes: 4 }, 0)).toEqual([]);
    const fx = l.step(sync(2, { mode: 'snap', snapZxid: z(1, 9), parts: 3 }), 0);
    const s = fx[0]!.type === 'install' ? fx[0].sync : undefined;
    expect(s!.snapshot).toBeNull();
    expect(s!.txns.map(([zx]) => zx)).toEqual([z(2, 1)]);

    const m = learner();
    m.start(0);
    m.step({ t: 'newepoch', attempt: A, epoch: 2, leader: '1', established: false }, 0);
    expect(m.step(sync(2, { parts: 1 }), 0)).toEqual([{ type: 'end', reason: 'lost sync parts: 0 of 1 arrived' }]);
  });

  it('takes broadcasts that arrived during the sync once it is installed', () => {
    const l = learner();
    l.start(0);
    l.step({ t: 'newepoch', attempt: A, epoch: 2, leader: '1', established: false }, 0);
    l.broadcast(bc(2, 1, [entry(z(2, 1))]), '1', 0);
    l.broadcast(bc(1, 9, [entry(z(1, 9))]), '1', 0);
    l.step(sync(2, { committed: z(1, 2) }), 0);
    const fx = l.installed(z(1, 2), 0);
    expect(fx.filter((e) => e.type === 'log')).toEqual([{ type: 'log', entries: [entry(z(2, 1))] }]);
  });

  it('hears the leader it was elected to follow from discovery on, so a goaway reaches it before any newepoch', () => {
    const l = learner();
    l.start(0);
    expect(l.leader).toBeUndefined();
    expect(l.speaker).toBe('1');
    expect(l.step({ t: 'goaway', attempt: A, reason: 'your accepted epoch is newer than ours' }, 5)).toEqual([
      { type: 'end', reason: 'the leader sent us away: your accepted epoch is newer than ours' },
    ]);
    // An observer learns its leader from the newepoch: nobody speaks for one before.
    expect(learner({ voter: false, leader: undefined }).speaker).toBeUndefined();
  });

  it('tells when its handshake last moved: start, newepoch, each sync part, the sync, its install; now while installing', () => {
    const l = learner();
    l.start(100);
    expect(l.handshakeAt(900)).toBe(100);
    l.step({ t: 'newepoch', attempt: A, epoch: 2, leader: '1', established: false }, 200);
    expect(l.handshakeAt(900)).toBe(200);
    l.step({ t: 'syncpart', attempt: A, epoch: 2, snapshot: null, txns: [], bytes: 0 }, 300);
    expect(l.handshakeAt(900)).toBe(300);
  });

  it('repeats its handshake on every tick and leaves initLimit to its lifecycle machine', () => {
    const l = learner();
    l.start(0);
    const fx = l.tick(timing.tickTime * 1000);
    expect(fx).toContainEqual(expect.objectContaining({ type: 'toLeader', msg: expect.objectContaining({ t: 'info' }) }));
    expect(fx).not.toContainEqual(expect.objectContaining({ type: 'end' }));
    expect(l.lastHeard).toBeUndefined();
  });
});

describe('learner core: broadcast', () => {
  it('logs proposals, acks only once they are durable, and applies the commit point', () => {
    const l = following();
    const fx = l.broadcast(bc(2, 1, [entry(z(2, 1)), entry(z(2, 2))], z(1, 2)), '1', 10);
    expect(fx).toEqual([{ type: 'log', entries: [entry(z(2, 1)), entry(z(2, 2))] }]);
    expect(toLeader(fx, 'ack')).toEqual([]);
    expect(l.durable(z(2, 2))).toEqual([{ type: 'toLeader', msg: { t: 'ack', from: '2', epoch: 2, zxid: z(2, 2) } }]);
    expect(l.broadcast(bc(2, 2, [], z(2, 2)), '1', 20)).toEqual([
      { type: 'toLeader', msg: { t: 'ack', from: '2', epoch: 2, zxid: z(2, 2) } },
      { type: 'commit', zxid: z(2, 2) },
    ]);
  });

  it('a heartbeat is answered with what is on disk, not with what is only logged', () => {
    const l = following();
    l.broadcast(bc(2, 1, [entry(z(2, 1))]), '1', 10);
    expect(toLeader(l.broadcast(bc(2, 2), '1', 20), 'ack')).toEqual([{ t: 'ack', from: '2', epoch: 2, zxid: z(1, 2) }]);
  });

  it('an observer logs and applies but never acks', () => {
    const l = following({ voter: false, leader: undefined });
    l.broadcast(bc(2, 1, [entry(z(2, 1))]), '1', 10);
    expect(l.durable(z(2, 1))).toEqual([]);
    expect(toLeader(l.broadcast(bc(2, 2), '1', 20), 'ack')).toEqual([]);
  });

  it('rejects a broadcast from an old epoch, and one from another member', () => {
    const l = following();
    expect(l.broadcast(bc(1, 1, [entry(z(1, 3))], z(1, 3)), '1', 10)).toEqual([]);
    expect(l.broadcast(bc(2, 1, [entry(z(2, 1))], 0), '3', 10)).toEqual([]);
    expect(l.serving).toBe(true);
  });

  it('leaves when the leader moved on to a newer epoch', () => {
    const l = following();
    expect(l.broadcast(bc(3, 1), '1', 10)).toEqual([{ type: 'end', reason: 'the leader moved on to epoch 3' }]);
  });

  it('refuses a commit point beyond what it logged', () => {
    const l = following();
    expect(() => l.broadcast(bc(2, 1, [], z(2, 5)), '1', 10)).toThrow(/commit point .* beyond the last logged/);
  });

  it('tells when its leader was last heard, for the syncLimit its lifecycle machine keeps', () => {
    const l = following();
    const heard = l.lastHeard!;
    l.broadcast(bc(2, 1), '1', heard + 100);
    expect(l.lastHeard).toBe(heard + 100);
    // A broadcast from another member is not the leader heard.
    l.broadcast(bc(2, 2), '3', heard + 200);
    expect(l.lastHeard).toBe(heard + 100);
    expect(l.tick(heard + 100 + timing.syncLimit * timing.tickTime * 10)).not.toContainEqual(expect.objectContaining({ type: 'end' }));
  });

  it('leaves a leader that nobody answers for on the bus, once that lasted leaderGoneMs', () => {
    const l = following();
    expect(l.tick(50)).toContainEqual({ type: 'probeLeader', leader: '1', epoch: 2 });
    expect(l.probed('nobody', 100)).toEqual([]);
    expect(l.probed('timeout', 600)).toEqual([]);
    expect(l.probed('nobody', 1099)).toEqual([]);
    expect(l.probed('nobody', 1100)).toEqual([{ type: 'end', reason: 'leader is gone: nobody answers for it on the bus' }]);
  });

  it('an answer, or a broadcast, resets the liveness probe', () => {
    const l = following();
    l.probed('nobody', 100);
    l.broadcast(bc(2, 1), '1', 900);
    expect(l.probed('nobody', 1100)).toEqual([]);
    l.probed('answered', 1200);
    expect(l.probed('nobody', 2050)).toEqual([]);
  });
});

describe('learner core: a gap in the stream', () => {
  it('asks for the missing run, takes it and what waited in order, and acks as usual', () => {
    const l = following();
    const held = l.broadcast(bc(2, 3, [entry(z(2, 3))]), '1', 10);
    expect(held).toEqual([{ type: 'toLeader', msg: { t: 'resend', from: '2', attempt: A, epoch: 2, fromSeq: 1, toSeq: 2 } }]);
    const fx = l.step({ t: 'resent', attempt: A, epoch: 2, broadcasts: [bc(2, 1, [entry(z(2, 1))]), bc(2, 2, [entry(z(2, 2))], z(2, 1))] }, 20);
    expect(fx.filter((e) => e.type === 'log').flatMap((e) => (e.type === 'log' ? e.entries.map(([zx]) => zx) : []))).toEqual([z(2, 1), z(2, 2), z(2, 3)]);
    expect(fx).toContainEqual({ type: 'commit', zxid: z(2, 1) });
    expect(toLeader(fx, 'resend')).toEqual([]);
  });

  it('asks again each retry while the gap stays open, and resyncs after syncLimit', () => {
    const l = following();
    l.broadcast(bc(2, 2), '1', 10);
    expect(toLeader(l.tick(50), 'resend')).toEqual([]);
    expect(toLeader(l.tick(10 + timing.tickTime), 'resend')).toHaveLength(1);
    expect(l.tick(10 + timing.syncLimit * timing.tickTime)).toContainEqual({ type: 'end', reason: 'the broadcasts from seq 1 did not come within syncLimit' });
  });

  it('resyncs when the leader no longer keeps what it missed', () => {
    const l = following();
    l.broadcast(bc(2, 2), '1', 10);
    expect(l.step({ t: 'noresend', attempt: A, epoch: 2, fromSeq: 1 }, 20)).toEqual([{ type: 'end', reason: 'the leader no longer keeps the broadcasts from seq 1' }]);
  });
});

describe('leader and learners together', () => {
  it('learners that miss broadcasts get them again from the leader and end with the same log', () => {
    const ids = ['1', '2', '3'];
    const e = new Ensemble('1', ids, Object.fromEntries(ids.map((id) => [id, new Disk()])));
    e.startLeader();
    e.startLearner('2');
    e.startLearner('3');
    e.deliver();
    let n = 0;
    for (let i = 0; i < 10; i++) {
      e.propose(3);
      // Every third broadcast is lost on its way to every learner.
      e.deliver((m) => !(m.kind === 'broadcast' && ++n % 3 === 0));
      e.advance(timing.tickTime);
    }
    e.advance(timing.tickTime * 2);
    expect(e.disks.get('3')!.log).toEqual(e.disks.get('1')!.log);
    expect(e.disks.get('3')!.applied).toBe(e.disks.get('1')!.applied);
    expect(e.learners.get('3')!.serving).toBe(true);
    expect(e.leader.serving).toBe(true);
  });
});

describe('leader and learners over a lossy bus', () => {
  /** A seeded PRNG so a failing seed can be replayed. */
  const rng = (seed: number) => {
    let s = seed >>> 0;
    return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
  };

  for (let seed = 1; seed <= 12; seed++) {
    it(`ends with every learner holding and applying the leader's log (seed ${seed})`, () => {
      const rand = rng(seed);
      const ids = ['1', '2', '3', 'o'];
      const e = new Ensemble('1', ['1', '2', '3'], Object.fromEntries(ids.map((id) => [id, new Disk()])));
      e.startLeader();
      for (const id of ['2', '3']) e.startLearner(id);
      e.startLearner('o', false);
      const restartEnded = () => {
        for (const [id, core] of e.learners) if (core.ended) e.startLearner(id, id !== 'o');
      };
      const lossy = () => rand() >= 0.15;
      for (let round = 0; round < 60; round++) {
        if (e.leader.serving) e.propose(Math.floor(rand() * 3));
        e.deliver(lossy);
        e.advance(timing.tickTime / 2, { keep: lossy });
        restartEnded();
      }
      expect(e.leader.phase).toBe('broadcast');
      // The bus heals: everyone catches up, by resend or by a new stint's sync.
      for (let i = 0; i < 10; i++) {
        e.advance(timing.tickTime * 2);
        restartEnded();
      }
      const leader = e.disks.get('1')!;
      for (const id of ['2', '3', 'o']) {
        expect(e.learners.get(id)!.serving, id).toBe(true);
        expect(e.disks.get(id)!.last, id).toBe(leader.last);
        expect(e.disks.get(id)!.applied, id).toBe(leader.applied);
      }
      expect(leader.applied).toBe(leader.last);
      expect(leader.log.length).toBeGreaterThan(30);
    });
  }
});
