import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { startProgress, type ProgressStream } from '../src/progress.js';

function screen(isTTY: boolean): ProgressStream & { text: string } {
  return {
    isTTY,
    text: '',
    write(t: string) {
      this.text += t;
      return true;
    },
  };
}

describe('startProgress on a terminal', () => {
  it('draws one bar redrawn in place, always the final state, and takes it off at the end', () => {
    const s = screen(true);
    const p = startProgress({ label: 'loading snapshot', total: 200, unit: 'znodes', stream: s });
    for (let done = 1; done <= 200; done++) p.update(done);
    p.end('loaded');
    const frames = s.text.split('\r\x1b[2K').filter((f) => f !== '');
    expect(frames[0]).toBe(`loading snapshot [${'.'.repeat(30)}]   0% 0/200 znodes`);
    // Updates within the redraw interval are dropped, except the last one.
    expect(frames.length).toBeLessThan(10);
    expect(frames.at(-2)).toBe(`loading snapshot [${'#'.repeat(30)}] 100% 200/200 znodes`);
    expect(frames.at(-1)).toBe('loaded\n');
    expect(s.text).not.toContain('\n' + 'loading');
  });

  it('prints sizes for bytes', () => {
    const s = screen(true);
    const p = startProgress({ label: 'receiving snapshot', total: 8 * 1024 * 1024, unit: 'bytes', stream: s });
    p.update(8 * 1024 * 1024);
    expect(s.text).toContain('] 100% 8.0 MiB/8.0 MiB');
  });
});

describe('startProgress on a terminal shared with other processes', () => {
  it('prints a named bar line per step instead of redrawing', () => {
    const s = screen(true);
    const p = startProgress({ label: 'loading snapshot', total: 4, unit: 'znodes', stream: s, shared: 'follower-2', stepPercent: 50 });
    for (let done = 1; done <= 4; done++) p.update(done);
    p.end();
    expect(s.text).toBe(
      [
        `follower-2 loading snapshot [${'.'.repeat(30)}]   0% 0/4 znodes`,
        `follower-2 loading snapshot [${'#'.repeat(15)}${'.'.repeat(15)}]  50% 2/4 znodes`,
        `follower-2 loading snapshot [${'#'.repeat(30)}] 100% 4/4 znodes`,
        '',
      ].join('\n'),
    );
  });
});

describe('startProgress without a terminal', () => {
  it('writes a line at the start and at every step, none per item', () => {
    const s = screen(false);
    const p = startProgress({ label: 'deleteall /big', total: 631, unit: 'deleted', stream: s });
    for (let done = 1; done <= 631; done++) p.update(done);
    p.end('deleteall /big: deleted 631 nodes');
    const lines = s.text.trimEnd().split('\n');
    expect(lines[0]).toBe('deleteall /big: 0/631 deleted');
    expect(lines.at(-1)).toBe('deleteall /big: deleted 631 nodes');
    const steps = lines.slice(1, -1);
    expect(steps).toHaveLength(9); // 10 %, 20 %, … 90 %
    for (const l of steps) expect(l).toMatch(/^deleteall \/big: \d+\/631 deleted$/);
    expect(s.text).not.toContain('\r');
  });

  it('sends its lines to a logger when given one', () => {
    const records: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        records.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    const logger = pino({ base: null, timestamp: false }, sink);
    const p = startProgress({ label: 'replaying transaction log', total: 1000, unit: 'bytes', stream: screen(false), logger, stepPercent: 50 });
    p.update(499);
    p.update(500);
    p.update(999);
    p.end();
    expect(records.map((r) => [r.msg, r.done, r.percent])).toEqual([
      ['replaying transaction log', 0, 0],
      ['replaying transaction log', 500, 50],
    ]);
  });

  it('without a unit shows the percentage only', () => {
    const s = screen(false);
    const p = startProgress({ label: 'zooid 80% reads', total: 100, stream: s, stepPercent: 25 });
    for (let i = 1; i <= 100; i++) p.update(i);
    expect(s.text).toBe(['zooid 80% reads: 0%', 'zooid 80% reads: 25%', 'zooid 80% reads: 50%', 'zooid 80% reads: 75%', ''].join('\n'));
  });
});
