import { describe, expect, it } from 'vitest';
import type { Vote } from '@zooid/protocol';
import { Election, better, type Proposal } from '../src/election.js';

/** A seeded PRNG so a failing schedule can be replayed. */
function rng(seed: number) {
  let s = seed >>> 0;
  return () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
}

/**
 * Runs an election among `ids` over an in-process bus that reorders and
 * drops messages; members rebroadcast their vote each round of the loop, as
 * the service does on a timer. Returns each member's decision.
 */
function simulate(own: Record<string, Proposal>, seed: number, dropRate: number) {
  const ids = Object.keys(own);
  const rand = rng(seed);
  const elections = new Map(ids.map((id) => [id, new Election(id, ids, own[id]!, 1)]));
  const decided = new Map<string, string>();
  let inflight: Vote[] = ids.map((id) => elections.get(id)!.vote());
  for (let step = 0; step < 500 && decided.size < ids.length; step++) {
    // Shuffle, drop some, deliver to everyone else.
    inflight.sort(() => rand() - 0.5);
    const next: Vote[] = [];
    for (const v of inflight) {
      for (const id of ids) {
        if (id === v.from || decided.has(id) || rand() < dropRate) continue;
        const e = elections.get(id)!;
        const out = e.receive(v);
        if (out.send) next.push(out.send);
        if (out.join) decided.set(id, out.join.leader);
      }
    }
    for (const id of ids) {
      const e = elections.get(id)!;
      // The finalize wait: decide only on a quorum that held for a whole step.
      if (!decided.has(id) && e.hasQuorum() && step % 3 === 2) decided.set(id, e.current().leader);
      if (!decided.has(id)) next.push(e.vote());
    }
    inflight = next;
  }
  return decided;
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

  it('a lone voter has a quorum of one', () => {
    const e = new Election('1', ['1'], { leader: '1', epoch: 0, zxid: 0 }, 1);
    expect(e.hasQuorum()).toBe(true);
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

  it('a follower alone cannot make us join a leader nobody has heard lead', () => {
    const e = new Election('3', ['1', '2', '3'], { leader: '3', epoch: 0, zxid: 0 }, 1);
    expect(e.receive({ from: '1', state: 'following', round: 4, leader: '2', epoch: 5, zxid: 9 }).join).toBeUndefined();
  });

  it('ignores votes from outside the ensemble', () => {
    const e = new Election('1', ['1', '2', '3'], { leader: '1', epoch: 0, zxid: 0 }, 1);
    expect(e.receive({ from: '9', state: 'looking', round: 1, leader: '9', epoch: 9, zxid: 9 })).toEqual({});
    expect(e.current().leader).toBe('1');
  });
});
