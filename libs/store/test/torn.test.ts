import { cp, readFile, readdir, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { LogRecord } from '../src/index.js';
import { expectLog, openLog, records, segmentFiles, segmentName, tempDir } from './helpers.js';
import { payloadFor } from './payload.js';

const SEGMENT_BYTES = 4096;
const SEGMENT_HEADER = 16;
const RECORD_HEADER = 16;

/** Five short records flushed one by one into a fresh log; returns the dir and where each frame starts and ends. */
async function pristineLog(): Promise<{ dir: string; recs: LogRecord[]; frames: [number, number][] }> {
  const dir = await tempDir();
  const recs = [1, 2, 3, 4, 5].map((zxid) => ({ zxid, payload: payloadFor(zxid).subarray(0, 24) }));
  const { log } = await openLog(dir, { segmentBytes: SEGMENT_BYTES });
  for (const r of recs) {
    log.append([r]);
    await log.flush();
  }
  await log.close();
  const frames: [number, number][] = [];
  let off = SEGMENT_HEADER;
  for (const r of recs) frames.push([off, (off += RECORD_HEADER + r.payload.length)]);
  return { dir, recs, frames };
}

/** Copies the pristine log, damages its only segment with `damage`, and checks how it reopens. */
async function reopenDamaged(
  pristine: { dir: string; recs: LogRecord[] },
  damage: (file: Buffer) => Buffer,
  survivors: number,
): Promise<void> {
  const dir = await tempDir();
  await cp(pristine.dir, dir, { recursive: true });
  const path = join(dir, segmentName(1));
  const original = await readFile(path);
  const damaged = damage(Buffer.from(original));
  await writeFile(path, damaged);
  const lostBytes = damaged.subarray(frameEnd(pristine.recs, survivors));
  const expectLine = lostBytes.some((b) => b !== 0);

  const { log, lines } = await openLog(dir, { segmentBytes: SEGMENT_BYTES });
  expect(lines.length).toBe(expectLine ? 1 : 0);
  expect(log.lastZxid).toBe(survivors);
  await expectLog(log, pristine.recs.slice(0, survivors));

  // The log continues cleanly after the cut.
  const next = records(survivors + 1, 6, 1);
  log.append(next);
  await log.flush();
  await log.close();
  const again = await openLog(dir, { segmentBytes: SEGMENT_BYTES });
  expect(again.lines).toEqual([]);
  await expectLog(again.log, [...pristine.recs.slice(0, survivors), ...next]);
  await again.log.close();
}

function frameEnd(recs: LogRecord[], count: number): number {
  return recs.slice(0, count).reduce((off, r) => off + RECORD_HEADER + r.payload.length, SEGMENT_HEADER);
}

describe('torn tail', () => {
  it('cuts a last record torn at every byte offset: file truncated there', async () => {
    const p = await pristineLog();
    const [start, end] = p.frames[4]!;
    for (let len = start; len < end; len++) {
      await reopenDamaged(p, (f) => f.subarray(0, len), 4);
    }
  });

  it('cuts a last record torn at every byte offset: preallocated zeros after the written part', async () => {
    const p = await pristineLog();
    const [start, end] = p.frames[4]!;
    for (let len = start; len < end; len++) {
      const survivors = (await readFile(join(p.dir, segmentName(1)))).subarray(len, end).some((b) => b !== 0) ? 4 : 5;
      await reopenDamaged(p, (f) => f.fill(0, len, end), survivors);
    }
  });

  it('cuts a last record whose later bytes reached the disk but earlier ones did not', async () => {
    const p = await pristineLog();
    const [start, end] = p.frames[4]!;
    for (let len = start + 1; len < end; len++) {
      const survivors = (await readFile(join(p.dir, segmentName(1)))).subarray(start, len).some((b) => b !== 0) ? 4 : 5;
      await reopenDamaged(p, (f) => f.fill(0, start, len), survivors);
    }
  });

  it('cuts at a bit flip in any byte of a record, dropping the records after it', async () => {
    const p = await pristineLog();
    const [start, end] = p.frames[2]!;
    for (let at = start; at < end; at++) {
      await reopenDamaged(
        p,
        (f) => {
          f[at]! ^= 1 << at % 8;
          return f;
        },
        2,
      );
    }
  });

  it('a corrupt record in an older segment ends the log there and drops the later segments', async () => {
    const dir = await tempDir();
    const { log } = await openLog(dir, { segmentBytes: 1024 });
    for (let zxid = 1; zxid <= 40; zxid++) {
      log.append(records(zxid, zxid));
      await log.flush();
    }
    await log.close();
    const names = await segmentFiles(dir);
    expect(names.length).toBeGreaterThan(3);
    const first = join(dir, names[0]!);
    const file = await readFile(first);
    file[SEGMENT_HEADER + RECORD_HEADER + payloadFor(1).length + 20]! ^= 0x40; // inside record 2
    await writeFile(first, file);

    const again = await openLog(dir, { segmentBytes: 1024 });
    expect(again.lines).toHaveLength(1);
    expect(again.lines[0]![1]).toMatchObject({ segment: names[0], lastZxid: 1, droppedSegments: names.length - 1 });
    expect(await segmentFiles(dir)).toEqual([names[0]]);
    await expectLog(again.log, records(1, 1));
    await again.log.close();
  });

  it('discards a segment left empty by a crash during a roll', async () => {
    const dir = await tempDir();
    const { log } = await openLog(dir, { segmentBytes: 4096 });
    log.append(records(1, 3));
    await log.close();
    // Renamed from the spare, but the header and first batch never reached the disk.
    await writeFile(join(dir, segmentName(4)), Buffer.alloc(4096));
    // And a spare whose preparation was cut short.
    await writeFile(join(dir, 'log.spare.tmp'), Buffer.alloc(100));

    const again = await openLog(dir, { segmentBytes: 4096 });
    expect(again.lines).toHaveLength(1);
    expect(await segmentFiles(dir)).toEqual([segmentName(1)]);
    expect(await readdir(dir)).not.toContain('log.spare.tmp');
    await expectLog(again.log, records(1, 3));
    again.log.append(records(4, 4));
    await again.log.close();
    const last = await openLog(dir, { segmentBytes: 4096 });
    expect(last.lines).toEqual([]);
    await expectLog(last.log, records(1, 4));
    await last.log.close();
  });

  it('a file truncated inside the segment header loses the segment, not the log', async () => {
    const p = await pristineLog();
    const dir = await tempDir();
    await cp(p.dir, dir, { recursive: true });
    await truncate(join(dir, segmentName(1)), 10);
    const { log, lines } = await openLog(dir, { segmentBytes: SEGMENT_BYTES });
    expect(lines).toHaveLength(1);
    expect(log.lastZxid).toBe(0);
    expect(await segmentFiles(dir)).toEqual([]);
    log.append(records(1, 2));
    await log.close();
    const again = await openLog(dir, { segmentBytes: SEGMENT_BYTES });
    await expectLog(again.log, records(1, 2));
    await again.log.close();
  });
});
