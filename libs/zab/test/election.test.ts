import { describe, expect, it } from 'vitest';
import type { Vote } from '@zooid/protocol';
import { createActor, SimulatedClock } from 'xstate';
import { Election, better, type Proposal } from '../src/election.js';
import { FINALIZE_WAIT_MS, electionMachine } from '../src/election-machine.js';

/** A seeded PRNG so a failing schedule can be replayed. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

/**
 * Runs an election among `ids`, each member an election actor on one
 * simulated clock, over an in-process bus that reorders and drops votes.
 * The actors' own timers repeat votes and hold the finalize wait. Returns
 * each member's decision.
 */
function simulate(own: Record<string, Proposal>, seed: number, dropRate: number) {
  const ids = Object.keys(own);
  const rand = rng(seed);
  const clock = new SimulatedClock();
  let inflight: Vote[] = [];
  const decided = new Map<string, string>();
  const outcomes = new Map<string, Vote>();
  const actors = new Map(
    ids.map((id) => {
      const a = createActor(electionMachine, { clock, input: { self: id, voters: ids, own: own[id]!, round: 1, publish: (v) => inflight.push(v) } });
      a.subscribe({
        complete: () => {
          const { leader, round } = a.getSnapshot().output!;
          decided.set(id, leader);
          outcomes.set(id, { from: id, state: leader === id ? 'leading' : 'following', round, leader, epoch: own[leader]!.epoch, zxid: own[leader]!.zxid });
        },
      });
      return [id, a] as const;
    }),
  );
  for (const a of actors.values()) a.start();
  for (let step = 0; step < 500 && decided.size < ids.length; step++) {
    // Interleave senders at random (NATS keeps each sender's order), drop some, deliver to everyone else; then time passes.
    const sending = interleave(inflight, rand);
    inflight = [];
    for (const v of sending) {
      for (const id of ids) {
        if (id === v.from || rand() < dropRate) continue;
        // A member that has decided answers a looking one with the leader it follows, as the member process does.
        const outcome = outcomes.get(id);
        if (outcome) {
          if (v.state === 'looking') inflight.push(outcome);
        } else actors.get(id)!.send({ type: 'VOTE', vote: v });
      }
    }
    clock.increment(50);
  }
  return decided;
}

/** The votes in an order that keeps each sender's own order and mixes senders at random. */
function interleave(votes: Vote[], rand: () => number): Vote[] {
  const queues = new Map<string, Vote[]>();
  for (const v of votes) queues.set(v.from, [...(queues.get(v.from) ?? []), v]);
  const out: Vote[] = [];
  while (queues.size > 0) {
    const senders = [...queues.keys()];
    const from = senders[Math.floor(rand() * senders.length)]!;
    const q = queues.get(from)!;
    out.push(q.shift()!);
    if (q.length === 0) queues.delete(from);
  }
  return out;
}

const best = (own: Record<string, Proposal>) =>
  Object.values(own).reduce((a, b) => (better(a, b) ? a : b)).leader;

describe('fast leader election', () => {
  it('orders proposals by epoch, then zxid, then id', () => {
    expect(better({ leader: '1', epoch: 2, zxid: 0 }, { leader: '3', epoch: 1, zxid: 99 })).toBe(true);
    expect(better({ leader: '1', epoch: 1, zxid: 5 }, { leader: '3', epoch: 1, zxid: 4 })).toBe(true);
    expect(better({ leader: '3', epoch: 1, zxid: 5 }, { leader: '1', epoch: 1, zxid: 5 })).toBe(true);
    expect(better({ leader: '10', epoch: 1, zxid: 5 }, { leader: '9', epoch: 1, zxid: 5 })).toBe(true);
  });

  it('a lone voter has a quorum of one, and decides at once', () => {
    const e = new Election('1', ['1'], { leader: '1', epoch: 0, zxid: 0 }, 1);
    expect(e.hasQuorum()).toBe(true);
    const a = createActor(electionMachine, { clock: new SimulatedClock(), input: { self: '1', voters: ['1'], own: { leader: '1', epoch: 0, zxid: 0 }, round: 1, publish: () => {} } });
    a.start();
    expect(a.getSnapshot().output).toEqual({ leader: '1', round: 1 });
  });

  it('decides once a quorum has held for the finalize wait, for the best proposal heard meanwhile', () => {
    const clock = new SimulatedClock();
    const sent: Vote[] = [];
    const a = createActor(electionMachine, { clock, input: { self: '1', voters: ['1', '2', '3'], own: { leader: '1', epoch: 1, zxid: 5 }, round: 1, publish: (v) => sent.push(v) } });
    a.start();
    a.send({ type: 'VOTE', vote: { from: '2', state: 'looking', round: 1, leader: '1', epoch: 1, zxid: 5 } });
    clock.increment(FINALIZE_WAIT_MS - 1);
    // Better news within the wait: member 3 has a newer history, and we change our vote.
    a.send({ type: 'VOTE', vote: { from: '3', state: 'looking', round: 1, leader: '3', epoch: 1, zxid: 9 } });
    expect(sent.at(-1)).toMatchObject({ from: '1', leader: '3' });
    expect(a.getSnapshot().status).toBe('active');
    clock.increment(1);
    expect(a.getSnapshot().output).toEqual({ leader: '3', round: 1 });
  });

  for (let seed = 1; seed <= 40; seed++) {
    it(`three and five voters agree on the most up-to-date member (seed ${seed})`, () => {
      const rand = rng(seed * 7919);
      const n = seed % 2 === 0 ? 3 : 5;
      const own: Record<string, Proposal> = {};
      for (let i = 1; i <= n; i++) {
        const id = String(i);
        own[id] = { leader: id, epoch: 1 + Math.floor(rand() * 2), zxid: Math.floor(rand() * 4) };
      }
      const decided = simulate(own, seed, seed % 3 === 0 ? 0.3 : 0);
      expect(decided.size).toBe(n);
      const leaders = new Set(decided.values());
      expect(leaders.size).toBe(1);
      expect([...leaders][0]).toBe(best(own));
    });
  }

  it('a restarted member joins the leader a quorum already follows', () => {
    const e = new Election('3', ['1', '2', '3'], { leader: '3', epoch: 0, zxid: 0 }, 1);
    expect(e.receive({ from: '1', state: 'following', round: 4, leader: '2', epoch: 5, zxid: 9 }).join).toBeUndefined();
    const step = e.receive({ from: '2', state: 'leading', round: 4, leader: '2', epoch: 5, zxid: 9 });
    expect(step.join?.leader).toBe('2');
  });

  it('leads when a quorum has decided for it in its round, though their looking votes were lost', () => {
    const e = new Election('3', ['1', '2', '3', '4', '5'], { leader: '3', epoch: 2, zxid: 9 }, 4);
    expect(e.receive({ from: '1', state: 'following', round: 4, leader: '3', epoch: 2, zxid: 9 }).join).toBeUndefined();
    expect(e.receive({ from: '2', state: 'following', round: 3, leader: '3', epoch: 2, zxid: 9 }).join).toBeUndefined();
    expect(e.receive({ from: '4', state: 'following', round: 4, leader: '3', epoch: 2, zxid: 9 }).join).toEqual({ leader: '3', epoch: 2, zxid: 9, round: 4 });
  });

  it('a member the configuration no longer lists does not lead on answers that still follow it', () => {
    // 3 led {1, 2, 3} until a change to {1, 2} removed it; 1 and 2 answered its looking vote before they left it.
    const e = new Election('3', ['1', '2'], { leader: '3', epoch: 1, zxid: 9 }, 2);
    expect(e.receive({ from: '1', state: 'following', round: 2, leader: '3', epoch: 1, zxid: 9 }).join).toBeUndefined();
    expect(e.receive({ from: '2', state: 'following', round: 2, leader: '3', epoch: 1, zxid: 9 }).join).toBeUndefined();
  });

  it('a follower alone cannot make us join a leader nobody has heard lead', () => {
    const e = new Election('3', ['1', '2', '3'], { leader: '3', epoch: 0, zxid: 0 }, 1);
    expect(e.receive({ from: '1', state: 'following', round: 4, leader: '2', epoch: 5, zxid: 9 }).join).toBeUndefined();
  });

  it('ignores votes from outside the ensemble', () => {
    const e = new Election('1', ['1', '2', '3'], { leader: '1', epoch: 0, zxid: 0 }, 1);
    expect(e.receive({ from: '9', state: 'looking', round: 1, leader: '9', epoch: 9, zxid: 9 })).toEqual({});
    expect(e.current().leader).toBe('1');
  });

  it('a member joining by reconfig finds the leader from a quorum of voters that decided, but never counts itself nor leads', () => {
    // 4 is not in the configuration 1, 2, 3: it needs two deciders, the leader among them.
    const e = new Election('4', ['1', '2', '3'], { leader: '4', epoch: 9, zxid: 99 }, 1);
    expect(e.hasQuorum()).toBe(false);
    expect(e.receive({ from: '2', state: 'leading', round: 3, leader: '2', epoch: 5, zxid: 9 }).join).toBeUndefined();
    expect(e.receive({ from: '1', state: 'following', round: 3, leader: '2', epoch: 5, zxid: 9 }).join?.leader).toBe('2');
    // Its own history, however new, never makes it a candidate: it takes up the voters' proposal, and follows when they decide.
    const lone = new Election('4', ['1', '2', '3'], { leader: '4', epoch: 9, zxid: 99 }, 1);
    expect(lone.hasQuorum()).toBe(false);
    lone.receive({ from: '1', state: 'looking', round: 1, leader: '1', epoch: 1, zxid: 1 });
    expect(lone.current().leader).toBe('1');
    expect(lone.hasQuorum()).toBe(false);
    lone.receive({ from: '2', state: 'looking', round: 1, leader: '1', epoch: 1, zxid: 1 });
    expect(lone.hasQuorum()).toBe(true);
  });

  describe('with a configuration change pending (logged, not seen committed)', () => {
    // Committed {1, 2, 3}; the change {1, 4, 5} is in our log: 2 and 3 alone, or 4 and 5 alone, must not decide.
    const committed = ['1', '2', '3'];
    const change = ['1', '4', '5'];
    const looking = (from: string, leader: string, zxid = 7) => ({ from, state: 'looking' as const, round: 1, leader, epoch: 1, zxid });

    it('needs a quorum of the committed voters and one of the change: either alone could elect a second leader', () => {
      const e = new Election('1', committed, { leader: '1', epoch: 1, zxid: 7 }, 1, change);
      e.receive(looking('2', '1'));
      expect(e.hasQuorum()).toBe(false);
      // A voter of the change only: its vote is counted, not ignored as an outsider's.
      e.receive(looking('4', '1'));
      expect(e.hasQuorum()).toBe(true);
      const other = new Election('2', committed, { leader: '2', epoch: 1, zxid: 7 }, 1, change);
      other.receive(looking('3', '2'));
      expect(other.hasQuorum()).toBe(false);
      // Without the change pending, 2 and 3 are a quorum.
      const plain = new Election('2', committed, { leader: '2', epoch: 1, zxid: 7 }, 1);
      plain.receive(looking('3', '2'));
      expect(plain.hasQuorum()).toBe(true);
    });

    it('lets a voter of the change alone lead, with both quorums', () => {
      const e = new Election('4', committed, { leader: '4', epoch: 1, zxid: 9 }, 1, change);
      e.receive(looking('5', '4', 9));
      expect(e.hasQuorum()).toBe(false);
      e.receive(looking('2', '4', 9));
      e.receive(looking('3', '4', 9));
      expect(e.hasQuorum()).toBe(true);
    });

    it('takes up proposals only for a leader of the committed voters, as ZooKeeper does', () => {
      // 5's history is the newest, but only the change {1, 2, 3, 5} that 3 logged lists it. Had 3 taken it up,
      // 1 and 2 (which know only {1, 2, 3}) would either take it from 3 and elect 5, which by its own
      // configuration may not lead, or hold out for their own while 3 held out for 5, and nobody would lead.
      const three = new Election('3', committed, { leader: '3', epoch: 1, zxid: 9 }, 3, ['1', '2', '3', '5']);
      three.receive({ from: '5', state: 'looking', round: 5, leader: '5', epoch: 2, zxid: 7 });
      expect(three.current().leader).toBe('3');
      const one = new Election('1', committed, { leader: '1', epoch: 1, zxid: 8 }, 3);
      one.receive({ from: '3', state: 'looking', round: 5, leader: '5', epoch: 2, zxid: 7 });
      expect(one.current().leader).toBe('1');
      one.receive(three.vote());
      expect(one.current().leader).toBe('3');
      // 5 itself gives way to any committed voter's proposal, though its history is newer: no other would take up its own.
      const five = new Election('5', committed, { leader: '5', epoch: 2, zxid: 7 }, 5, ['1', '2', '3', '5']);
      five.receive({ from: '1', state: 'looking', round: 5, leader: '1', epoch: 1, zxid: 8 });
      expect(five.current().leader).toBe('1');
    });

    it('joins a leader only when deciders make a quorum of both', () => {
      const e = new Election('2', committed, { leader: '2', epoch: 1, zxid: 7 }, 1, change);
      expect(e.receive({ from: '4', state: 'leading', round: 3, leader: '4', epoch: 2, zxid: 9 }).join).toBeUndefined();
      // 4 and 5 are the change's quorum; with us, 3 would make the committed one — we count only once 3 is heard.
      expect(e.receive({ from: '5', state: 'following', round: 3, leader: '4', epoch: 2, zxid: 9 }).join).toBeUndefined();
      expect(e.receive({ from: '3', state: 'following', round: 3, leader: '4', epoch: 2, zxid: 9 }).join?.leader).toBe('4');
    });
  });
});
