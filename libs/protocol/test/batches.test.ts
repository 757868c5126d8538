import { describe, expect, it } from 'vitest';
import { BatchGaps, BatchNumbers, HEARTBEAT_WINDOW_MS, SeriesGaps } from '../src/bus.js';

describe('numbered batches', () => {
  it('numbers each receiver\'s series from 1', () => {
    const n = new BatchNumbers(HEARTBEAT_WINDOW_MS / 2);
    expect([n.next('a'), n.next('a'), n.next('b'), n.next('a')]).toEqual([1, 2, 1, 3]);
  });

  it('owes a stream heartbeats with its series and last number for the window after traffic, and nothing when idle', () => {
    let ids = 100;
    const n = new BatchNumbers(HEARTBEAT_WINDOW_MS / 2, () => ids++);
    expect(n.heartbeats()).toEqual([]);
    n.next('a');
    n.next('a');
    n.next('b');
    expect(n.heartbeats()).toEqual([
      ['a', 2, 100],
      ['b', 1, 101],
    ]);
    n.next('b');
    expect(n.heartbeats()).toEqual([
      ['a', 2, 100],
      ['b', 2, 101],
    ]);
    expect(n.heartbeats()).toEqual([['b', 2, 101]]);
    expect(n.heartbeats()).toEqual([]);
  });

  it('spreads the window over heartbeats at the sender\'s pace', () => {
    const n = new BatchNumbers(HEARTBEAT_WINDOW_MS / 10);
    n.next('a');
    let beats = 0;
    while (n.heartbeats().length > 0) beats++;
    expect(beats).toBe(10);
  });

  it('sees the next batch, a gap, and a sender that started a new series', () => {
    const g = new BatchGaps();
    expect(g.check('a', 1, false)).toBe('restart');
    expect(g.check('a', 2, false)).toBe('next');
    expect(g.check('a', 4, false)).toBe('gap');
    expect(g.check('a', 5, false)).toBe('next');
    expect(g.check('a', 1, false)).toBe('restart');
    expect(g.check('b', 7, false)).toBe('restart');
  });

  it('takes a heartbeat that matches the last batch as in step, and one ahead of it as a gap (the tail of a burst was lost)', () => {
    const g = new BatchGaps();
    g.check('a', 1, false);
    expect(g.check('a', 1, true)).toBe('next');
    expect(g.check('a', 1, true)).toBe('next');
    expect(g.check('a', 3, true)).toBe('gap');
    // The gap is reported once: the stream goes on from the heartbeat's number.
    expect(g.check('a', 3, true)).toBe('next');
    expect(g.check('a', 4, false)).toBe('next');
    // A lower number is a new series (the sender restarted), not a loss.
    expect(g.check('a', 2, true)).toBe('restart');
  });

  it('starts a receiver over: a new series, numbered from 1, and no heartbeat owed for the old one', () => {
    let ids = 1;
    const n = new BatchNumbers(HEARTBEAT_WINDOW_MS / 2, () => ids++);
    n.next('a');
    n.next('a');
    expect(n.seriesOf('a')).toBe(1);
    n.restart('a');
    expect(n.heartbeats()).toEqual([]);
    expect(n.next('a')).toBe(1);
    expect(n.seriesOf('a')).toBe(2);
    expect(() => n.seriesOf('b')).toThrow('no series toward b yet');
  });

  it('with series ids, hears the loss of a series\' first batches, which plain numbers cannot', () => {
    const g = new SeriesGaps();
    // A series heard from its first batch.
    expect(g.check('a', 7, 1, false)).toEqual({ gap: false, newSeries: false });
    expect(g.check('a', 7, 2, false)).toEqual({ gap: false, newSeries: false });
    expect(g.check('a', 7, 2, true)).toEqual({ gap: false, newSeries: false });
    expect(g.check('a', 7, 4, false)).toEqual({ gap: true, newSeries: false });
    // The sender restarted and its first batch was lost: a new series heard at 2.
    expect(g.check('a', 8, 2, false)).toEqual({ gap: true, newSeries: true });
    expect(g.check('a', 8, 3, false)).toEqual({ gap: false, newSeries: false });
    // The sender started over cleanly.
    expect(g.check('a', 9, 1, false)).toEqual({ gap: false, newSeries: true });
    // A series first heard at a heartbeat: what it announces never arrived.
    expect(g.check('b', 5, 1, true)).toEqual({ gap: true, newSeries: false });
    // Within a series numbers never go back or repeat.
    expect(g.check('a', 9, 1, false)).toEqual({ gap: true, newSeries: false });
  });

  it('walks an identified series on both sides: every lost batch, the first included, is reported once', () => {
    for (let lost = 1; lost <= 6; lost++) {
      const n = new BatchNumbers(HEARTBEAT_WINDOW_MS / 2);
      const g = new SeriesGaps();
      const gaps: number[] = [];
      for (let i = 1; i <= 6; i++) {
        const seq = n.next('r');
        if (seq !== lost && g.check('s', n.seriesOf('r'), seq, false).gap) gaps.push(seq);
      }
      for (const [, seq, series] of n.heartbeats()) if (g.check('s', series, seq, true).gap) gaps.push(seq);
      expect(gaps, `batch ${lost} lost`).toEqual([lost === 6 ? 6 : lost + 1]);
    }
  });

  it('walks the same stream on both sides: every loss after the first batch heard is reported by the next batch or heartbeat', () => {
    // A receiver that has heard nothing of a series takes any number as its start.
    for (let lost = 2; lost <= 6; lost++) {
      const n = new BatchNumbers(HEARTBEAT_WINDOW_MS / 2);
      const g = new BatchGaps();
      const verdicts: string[] = [];
      for (let i = 1; i <= 6; i++) {
        const seq = n.next('r');
        if (seq !== lost) verdicts.push(g.check('s', seq, false));
      }
      for (const [, seq] of n.heartbeats()) verdicts.push(g.check('s', seq, true));
      expect(verdicts.filter((v) => v === 'gap'), `batch ${lost} lost`).toHaveLength(1);
    }
  });
});
