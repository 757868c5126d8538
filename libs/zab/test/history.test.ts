import { describe, expect, it } from 'vitest';
import { History } from '../src/history.js';
import { AckTracker } from '../src/acks.js';
import { makeZxid, quorumSize } from '../src/quorum.js';

const z = (e: number, c: number) => makeZxid(e, c);
const entry = (zxid: number): [number, Uint8Array] => [zxid, new Uint8Array([1])];

function history(base: number, zxids: number[], limits?: { capacity?: number; window?: number }) {
  const h = new History(base, limits);
  for (const x of zxids) h.append(entry(x));
  return h;
}

describe('sync planning (DIFF, TRUNC, SNAP)', () => {
  const h = history(z(1, 2), [z(1, 3), z(1, 4), z(2, 1), z(2, 2)]);

  it.each([
    ['learner up to date', z(2, 2), { mode: 'diff', from: z(2, 2) }],
    ['learner behind inside the window', z(1, 4), { mode: 'diff', from: z(1, 4) }],
    ['learner at the base', z(1, 2), { mode: 'diff', from: z(1, 2) }],
    ['learner ahead of the leader', z(2, 5), { mode: 'trunc', truncTo: z(2, 2) }],
    ['learner holding an uncommitted proposal of an old epoch', z(1, 5), { mode: 'trunc', truncTo: z(1, 4) }],
    ['learner older than the window', z(1, 1), { mode: 'snap' }],
    ['learner with nothing', 0, { mode: 'snap' }],
  ])('%s', (_, learnerLast, plan) => {
    expect(h.plan(learnerLast)).toEqual(plan);
  });

  it('after() returns the entries past a point, in order', () => {
    expect(h.after(z(1, 4)).map((e) => e[0])).toEqual([z(2, 1), z(2, 2)]);
    expect(h.after(z(2, 2))).toEqual([]);
  });

  it('forgets the oldest entries past its capacity and snaps learners behind them', () => {
    const small = history(0, [1, 2, 3, 4, 5, 6], { capacity: 3, window: 3 });
    expect(small.after(3).map((e) => e[0])).toEqual([4, 5, 6]);
    expect(small.plan(2)).toEqual({ mode: 'snap' });
    expect(small.plan(3)).toEqual({ mode: 'diff', from: 3 });
  });

  it('keeps payloads of applied entries only within the window, and zxids of all', () => {
    const w = history(z(1, 0), [z(1, 1), z(1, 2), z(1, 3), z(1, 4), z(2, 1), z(2, 2)], { window: 2 });
    // Nothing applied yet: every payload stays, whatever the window.
    expect(w.memoryBase).toBe(z(1, 0));
    expect(w.after(z(1, 0))).toHaveLength(6);
    w.release(z(2, 1));
    expect(w.memoryBase).toBe(z(1, 4));
    expect(w.after(z(1, 4)).map((e) => e[0])).toEqual([z(2, 1), z(2, 2)]);
    expect(() => w.after(z(1, 3))).toThrow(/invariant/);
    // Plans are exact over the zxids whose payloads left memory.
    expect(w.plan(z(1, 2))).toEqual({ mode: 'diff', from: z(1, 2) });
    expect(w.plan(z(1, 9))).toEqual({ mode: 'trunc', truncTo: z(1, 4) });
    expect(w.plan(z(1, 0))).toEqual({ mode: 'diff', from: z(1, 0) });
    // The successor of each point, across the boundary between zxids and payloads.
    expect([z(1, 0), z(1, 3), z(1, 4), z(2, 1), z(2, 2), z(1, 9)].map((x) => w.next(x))).toEqual([z(1, 1), z(1, 4), z(2, 1), z(2, 2), undefined, undefined]);
    // An entry appended later is unapplied: its payload stays, and the window moves on.
    w.append(entry(z(2, 3)));
    expect(w.memoryBase).toBe(z(2, 1));
    expect(w.after(z(2, 1)).map((e) => e[0])).toEqual([z(2, 2), z(2, 3)]);
    expect(w.last).toBe(z(2, 3));
  });

  it('forgets what the log no longer holds', () => {
    const f = history(0, [1, 2, 3, 4, 5], { window: 1 });
    f.release(5);
    f.forgetBefore(3);
    expect(f.plan(1)).toEqual({ mode: 'snap' });
    expect(f.plan(2)).toEqual({ mode: 'diff', from: 2 });
    expect(f.next(2)).toBe(3);
  });

  it('refuses a zxid that does not increase', () => {
    expect(() => h.append(entry(z(2, 2)))).toThrow(/invariant/);
  });
});

describe('quorum commit', () => {
  it('a majority is a quorum', () => {
    expect([1, 2, 3, 4, 5].map(quorumSize)).toEqual([1, 2, 2, 3, 3]);
  });

  it('commits what a quorum including the leader has acked, cumulatively', () => {
    const acks = new AckTracker(['1', '2', '3'], 0);
    expect(acks.ack('1', 10, 0)).toBeUndefined();
    expect(acks.ack('2', 7, 0)).toBe(7);
    expect(acks.ack('3', 12, 0)).toBe(10);
    // Voter 2's acks for 8..12 were lost; its next, cumulative ack repairs them.
    expect(acks.ack('2', 12, 0)).toBe(12);
    expect(acks.ack('1', 12, 0)).toBeUndefined();
    expect(acks.commitPoint).toBe(12);
  });

  it('ignores acks from non-voters (observers)', () => {
    const acks = new AckTracker(['1', '2', '3'], 0);
    acks.ack('1', 5, 0);
    expect(acks.ack('o1', 5, 0)).toBeUndefined();
    expect(acks.commitPoint).toBe(0);
  });

  it('knows when a quorum was last heard, the leader always among it', () => {
    const acks = new AckTracker(['1', '2', '3', '4', '5'], 0);
    expect(acks.quorumHeardAt('1')).toBe(-Infinity);
    acks.ack('2', 1, 1000);
    acks.ack('3', 1, 400);
    acks.ack('4', 1, 700);
    expect(acks.quorumHeardAt('1')).toBe(700);
    acks.ack('3', 1, 1200);
    expect(acks.quorumHeardAt('1')).toBe(1000);
    expect(new AckTracker(['1'], 0).quorumHeardAt('1')).toBe(Infinity);
  });
});
