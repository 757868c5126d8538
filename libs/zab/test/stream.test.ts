import { describe, expect, it } from 'vitest';
import type { Broadcast, LogEntry } from '@zooid/protocol';
import { BroadcastStream, BroadcastWindow, heldBytes, type Received } from '../src/stream.js';

const b = (epoch: number, seq: number, proposals: LogEntry[] = []): Broadcast => ({ epoch, seq, proposals, commit: 0, syncs: [] });
const seqs = (r: Received) => (r.verdict === 'ok' ? r.ready.map((x) => x.seq) : r.verdict);
const policy = { retryMs: 100, giveUpMs: 1000 };

describe('the leader\'s window of recent broadcasts', () => {
  it('gives back a run of consecutive broadcasts, capped at the newest', () => {
    const w = new BroadcastWindow({ count: 10, bytes: 1 << 20 });
    for (let s = 1; s <= 5; s++) w.push(b(3, s));
    expect(w.range(2, 4)!.map((x) => x.seq)).toEqual([2, 3, 4]);
    expect(w.range(4, 99)!.map((x) => x.seq)).toEqual([4, 5]);
    expect(w.range(6, 9)).toEqual([]);
  });

  it('forgets the oldest past its count, and says so for a run that starts before what it keeps', () => {
    const w = new BroadcastWindow({ count: 3, bytes: 1 << 20 });
    for (let s = 1; s <= 5; s++) w.push(b(3, s));
    expect(w.first).toBe(3);
    expect(w.range(2, 5)).toBeUndefined();
    expect(w.range(3, 5)!.map((x) => x.seq)).toEqual([3, 4, 5]);
  });

  it('forgets the oldest past its bytes, but always keeps the newest', () => {
    const big = (seq: number) => b(3, seq, [[seq, new Uint8Array(1000)]]);
    const w = new BroadcastWindow({ count: 100, bytes: 2 * heldBytes(big(1)) });
    for (let s = 1; s <= 4; s++) w.push(big(s));
    expect(w.first).toBe(3);
    const tiny = new BroadcastWindow({ count: 100, bytes: 1 });
    tiny.push(big(1));
    tiny.push(big(2));
    expect(tiny.range(2, 2)!.map((x) => x.seq)).toEqual([2]);
  });

  it('counts what a small proposal costs in memory, not only its bytes on the bus', () => {
    // 80-byte payloads, as a create of a short path with 16 bytes of data is: 1 MiB holds a few thousand of them, not 11,000.
    const small = (seq: number) => b(3, seq, [[seq, new Uint8Array(80)]]);
    const w = new BroadcastWindow({ count: 1 << 20, bytes: 1 << 20 });
    for (let s = 1; s <= 20_000; s++) w.push(small(s));
    const kept = 20_000 - w.first + 1;
    expect(kept).toBeLessThan(4000);
    expect(kept).toBeGreaterThan(2000);
  });

  it('stays right over many compactions', () => {
    const w = new BroadcastWindow({ count: 50, bytes: 1 << 30 });
    for (let s = 1; s <= 10_000; s++) {
      w.push(b(1, s));
      if (s % 997 === 0) expect(w.range(s - 49, s)!.map((x) => x.seq)).toEqual(Array.from({ length: 50 }, (_, i) => s - 49 + i));
    }
  });

  it('refuses a broadcast out of sequence', () => {
    const w = new BroadcastWindow();
    w.push(b(1, 1));
    expect(() => w.push(b(1, 3))).toThrow(/invariant/);
  });
});

describe('a learner\'s view of the broadcast stream', () => {
  it('hands on the next, ignores old ones and other epochs\' old ones, reports a newer epoch', () => {
    const s = new BroadcastStream(2, 5, policy);
    expect(seqs(s.receive(b(2, 6), 0))).toEqual([6]);
    expect(seqs(s.receive(b(2, 6), 0))).toBe('stale');
    expect(seqs(s.receive(b(1, 99), 0))).toBe('stale');
    expect(seqs(s.receive(b(3, 1), 0))).toBe('newer');
    expect(s.poll(0)).toBeUndefined();
  });

  it('holds what comes after a gap, asks for the missing run at once, and hands everything on in order when it arrives', () => {
    const s = new BroadcastStream(2, 5, policy);
    expect(seqs(s.receive(b(2, 9), 10))).toEqual([]);
    expect(seqs(s.receive(b(2, 10), 11))).toEqual([]);
    expect(s.poll(12)).toEqual({ ask: { fromSeq: 6, toSeq: 8 } });
    // Asked: no second ask until the retry interval has passed.
    expect(s.poll(50)).toBeUndefined();
    expect(seqs(s.receive(b(2, 7), 60))).toEqual([]);
    expect(seqs(s.receive(b(2, 9), 61))).toBe('stale');
    expect(seqs(s.receive(b(2, 6), 62))).toEqual([6, 7]);
    // 8 is still missing: a new gap, asked about at once.
    expect(s.poll(63)).toEqual({ ask: { fromSeq: 8, toSeq: 8 } });
    expect(seqs(s.receive(b(2, 8), 64))).toEqual([8, 9, 10]);
    expect(s.next).toBe(11);
    expect(s.poll(65)).toBeUndefined();
  });

  it('asks again when a resend does not come, and gives up after the limit', () => {
    const s = new BroadcastStream(2, 0, policy);
    s.receive(b(2, 3), 0);
    expect(s.poll(0)).toEqual({ ask: { fromSeq: 1, toSeq: 2 } });
    expect(s.poll(99)).toBeUndefined();
    expect(s.poll(100)).toEqual({ ask: { fromSeq: 1, toSeq: 2 } });
    // Part of it arrives: progress starts the clock again for what is left.
    expect(seqs(s.receive(b(2, 1), 900))).toEqual([1]);
    expect(s.poll(1500)).toEqual({ ask: { fromSeq: 2, toSeq: 2 } });
    expect(s.poll(1899)).toEqual({ ask: { fromSeq: 2, toSeq: 2 } });
    expect(s.poll(1900)).toBe('give-up');
  });

  it('will not hold more than its limits behind a gap', () => {
    const s = new BroadcastStream(1, 0, policy, { count: 2, bytes: 1 << 20 });
    expect(seqs(s.receive(b(1, 2), 0))).toEqual([]);
    expect(seqs(s.receive(b(1, 3), 0))).toEqual([]);
    expect(seqs(s.receive(b(1, 4), 0))).toBe('overflow');
  });

  it('hands on every broadcast exactly once and in order, whatever is lost and however resends interleave', () => {
    // A seeded shuffle of the stream with losses, then resends of what was asked for.
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
    for (let round = 0; round < 50; round++) {
      const total = 200;
      const s = new BroadcastStream(1, 0, { retryMs: 0, giveUpMs: Infinity });
      const got: number[] = [];
      const take = (r: Received) => {
        expect(r.verdict === 'ok' || r.verdict === 'stale').toBe(true);
        if (r.verdict === 'ok') got.push(...r.ready.map((x) => x.seq));
      };
      for (let seq = 1; seq <= total; seq++) {
        if (rand() < 0.2) continue;
        take(s.receive(b(1, seq), seq));
        // The leader answers some asks, partly.
        const step = s.poll(seq);
        if (step && step !== 'give-up' && rand() < 0.5) for (let r = step.ask.fromSeq; r <= step.ask.toSeq; r++) if (rand() < 0.7) take(s.receive(b(1, r), seq));
      }
      for (let step = s.poll(total); step && step !== 'give-up'; step = s.poll(total)) {
        for (let r = step.ask.fromSeq; r <= step.ask.toSeq; r++) take(s.receive(b(1, r), total));
      }
      // The tail after the last delivered is revealed by the next heartbeat.
      for (let r = s.next; r <= total; r++) take(s.receive(b(1, r), total));
      expect(got).toEqual(Array.from({ length: total }, (_, i) => i + 1));
    }
  });
});
