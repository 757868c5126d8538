import { constants } from 'node:fs';
import { open, readFile, readdir, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { RECORD_HEADER_BYTES, type LogRecord } from '../src/record.js';
import { collect, expectLog, openLog, records, segmentFiles, segmentName, tempDir } from './helpers.js';

const { O_DSYNC } = constants;

/** Whether every descriptor this process holds on dir's segment files was opened with `flag` (Linux's /proc). */
async function segmentsOpenWith(dir: string, flag: number): Promise<boolean> {
  const flags: number[] = [];
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (!target.startsWith(dir + '/log.') || target.endsWith('.spare')) continue;
    const info = await readFile(`/proc/self/fdinfo/${fd}`, 'utf8');
    flags.push(parseInt(/^flags:\s+([0-7]+)/m.exec(info)![1]!, 8));
  }
  return flags.length > 0 && flags.every((f) => (f & flag) === flag);
}

/** The FileHandle class is not exported; spy on its prototype to count I/O calls. */
async function fileHandlePrototype(dir: string) {
  const fh = await open(dir, 'r');
  await fh.close();
  return Object.getPrototypeOf(fh) as { writev: () => unknown; datasync: () => unknown };
}

describe('TxnLog', () => {
  it('round trips records, reporting zxids and preallocating segments', async () => {
    const dir = await tempDir();
    const { log } = await openLog(dir, { segmentBytes: 8192 });
    expect([log.lastZxid, log.durableZxid, log.firstZxid]).toEqual([0, 0, 0]);
    await expectLog(log, []);
    const recs = records(1, 20);
    log.append(recs);
    expect([log.lastZxid, log.durableZxid]).toEqual([20, 0]);
    await log.flush();
    expect([log.lastZxid, log.durableZxid, log.firstZxid]).toEqual([20, 20, 1]);
    await expectLog(log, recs);
    await expectLog(log, recs.slice(7), 7);
    await expectLog(log, [], 20);
    expect(await segmentFiles(dir)).toEqual([segmentName(1)]);
    expect((await stat(join(dir, segmentName(1)))).size).toBe(8192);
    await log.close();
  });

  it('keeps zxids across epochs and up to 2^53 - 1', async () => {
    const dir = await tempDir();
    const zxids = [1, 2, 2 ** 32 + 1, 2 ** 32 + 2, 7 * 2 ** 32 + 1, Number.MAX_SAFE_INTEGER];
    const recs = zxids.map((zxid, i) => ({ zxid, payload: Buffer.from(`r${i}`) }));
    const { log } = await openLog(dir, { segmentBytes: 4096 });
    log.append(recs);
    await log.flush();
    await log.close();
    const { log: reopened } = await openLog(dir, { segmentBytes: 4096 });
    await expectLog(reopened, recs);
    await expectLog(reopened, recs.slice(4), 2 ** 32 + 2);
    await reopened.close();
  });

  it('rejects zxids that do not strictly increase, appending none of the batch', async () => {
    const dir = await tempDir();
    const { log } = await openLog(dir, { segmentBytes: 4096 });
    log.append(records(1, 3));
    const bad = (zxid: number) => () => log.append([...records(4, 5), { zxid, payload: Buffer.alloc(1) }]);
    expect(bad(5)).toThrow(RangeError);
    expect(bad(2)).toThrow(RangeError);
    expect(bad(2 ** 53)).toThrow(RangeError);
    expect(bad(6.5)).toThrow(RangeError);
    expect(log.lastZxid).toBe(3);
    await log.flush();
    await expectLog(log, records(1, 3));
    await log.close();
  });

  it('group commit: one durable writev per flush, however many appends', async () => {
    const dir = await tempDir();
    // Open, flush and close once so the next open finds its spare segment
    // ready and no background preallocation writes get counted.
    const first = await openLog(dir, { segmentBytes: 1 << 20 });
    first.log.append(records(1, 1));
    await first.log.flush();
    await first.log.close();

    const { log } = await openLog(dir, { segmentBytes: 1 << 20 });
    const proto = await fileHandlePrototype(dir);
    const writevOriginal = proto.writev as (...args: unknown[]) => unknown;
    const writev = vi.spyOn(proto, 'writev');
    const datasync = vi.spyOn(proto, 'datasync');
    try {
      for (let zxid = 2; zxid <= 1001; zxid++) log.append(records(zxid, zxid));
      await log.flush();
      expect([writev.mock.calls.length, datasync.mock.calls.length]).toEqual([1, 0]);
      expect(await segmentsOpenWith(dir, O_DSYNC)).toBe(true);

      // Appends made while a flush is in flight (here: during its write) go into the next one.
      writev.mockImplementationOnce(function (this: unknown, ...args: unknown[]) {
        log.append(records(1011, 1020));
        return writevOriginal.apply(this, args);
      });
      log.append(records(1002, 1010));
      await log.flush();
      expect([log.lastZxid, log.durableZxid]).toEqual([1020, 1010]);
      const p2 = log.flush();
      const p3 = log.flush(); // nothing left for it: no I/O
      await Promise.all([p2, p3]);
      expect(log.durableZxid).toBe(1020);
      expect([writev.mock.calls.length, datasync.mock.calls.length]).toEqual([3, 0]);
    } finally {
      writev.mockRestore();
      datasync.mockRestore();
    }
    await expectLog(log, records(1, 1020));
    await log.close();
  });

  it('reopens and replays what was flushed, then continues appending', async () => {
    const dir = await tempDir();
    const a = await openLog(dir, { segmentBytes: 4096 });
    a.log.append(records(1, 10));
    await a.log.flush();
    a.log.append(records(11, 12));
    await a.log.close(); // close flushes what was appended
    await expect(a.log.flush()).rejects.toThrow(/closed/);

    const b = await openLog(dir, { segmentBytes: 4096 });
    expect(b.lines).toEqual([]);
    expect([b.log.lastZxid, b.log.durableZxid]).toEqual([12, 12]);
    await expectLog(b.log, records(1, 12));
    b.log.append(records(13, 30));
    await b.log.flush();
    await b.log.close();

    const c = await openLog(dir, { segmentBytes: 4096 });
    await expectLog(c.log, records(1, 30));
    await c.log.close();
  });

  it('rolls to a new segment when a batch does not fit, and reads across segments', async () => {
    const dir = await tempDir();
    const { log } = await openLog(dir, { segmentBytes: 1024 });
    for (let zxid = 1; zxid <= 60; zxid++) {
      log.append(records(zxid, zxid));
      await log.flush();
    }
    // One batch bigger than a whole segment gets a segment of its own, grown past the preallocation.
    log.append(records(61, 90));
    await log.flush();
    const names = await segmentFiles(dir);
    expect(names.length).toBeGreaterThan(5);
    expect(names.at(-1)).toBe(segmentName(61));
    for (const name of names.slice(0, -1)) expect((await stat(join(dir, name))).size).toBe(1024);

    // Each segment is named after its first record.
    for (const name of names) {
      const first = parseInt(name.slice(4), 16);
      const recs = await collect(log.read(first - 1));
      expect(recs[0]!.zxid).toBe(first);
    }
    await expectLog(log, records(1, 90));
    await expectLog(log, records(34, 90), 33);
    await log.close();

    const again = await openLog(dir, { segmentBytes: 1024 });
    expect(again.lines).toEqual([]);
    await expectLog(again.log, records(1, 90));
    again.log.append(records(91, 95));
    await again.log.flush();
    await expectLog(again.log, records(1, 95));
    await again.log.close();
  });

  it('round trips payloads bigger than a read chunk and than a segment', async () => {
    const dir = await tempDir();
    const big = Buffer.alloc(3 << 20, 0xab);
    big.writeUInt32BE(0xdeadbeef, big.length - 4);
    const recs = [{ zxid: 1, payload: Buffer.from('small') }, { zxid: 2, payload: big }, { zxid: 3, payload: Buffer.alloc(0) }];
    const { log } = await openLog(dir, { segmentBytes: 1 << 20 });
    log.append(recs);
    await log.flush();
    await log.close();
    const again = await openLog(dir, { segmentBytes: 1 << 20 });
    await expectLog(again.log, recs);
    await again.log.close();
  });

  it('read() covers the records flushed when it was called', async () => {
    const dir = await tempDir();
    const { log } = await openLog(dir, { segmentBytes: 4096 });
    log.append(records(1, 5));
    await log.flush();
    const reader = log.read(0);
    log.append(records(6, 8));
    await log.flush();
    expect((await collect(reader)).map((r) => r.zxid)).toEqual([1, 2, 3, 4, 5]);
    await log.close();
  });

  it('a reading counts the bytes it has walked, up to the size of the segments it covers', async () => {
    const dir = await tempDir();
    const { log } = await openLog(dir, { segmentBytes: 1024 });
    const all = records(1, 60);
    for (const r of all) {
      log.append([r]);
      await log.flush();
    }
    const size = (rs: LogRecord[]) => rs.reduce((sum, r) => sum + RECORD_HEADER_BYTES + r.payload.length, 0);
    for (const from of [0, 33, 59]) {
      const reading = log.read(from);
      // Whole segments: everything from the segment holding from+1 on.
      expect(reading.totalBytes).toBeGreaterThanOrEqual(size(all.slice(from)));
      expect(reading.totalBytes).toBeLessThanOrEqual(from === 0 ? size(all) : size(all) - 1);
      const seen: number[] = [];
      const zxids: number[] = [];
      for await (const r of reading) {
        zxids.push(r.zxid);
        seen.push(reading.bytesRead);
      }
      expect(zxids).toEqual(all.slice(from).map((r) => r.zxid));
      expect(seen).toEqual([...seen].sort((a, b) => a - b));
      expect(reading.bytesRead).toBe(reading.totalBytes);
    }
    expect(log.read(0).totalBytes).toBe(size(all));
    await log.close();
  });

  it('truncateAfter drops records durably, across segment boundaries', async () => {
    const dir = await tempDir();
    const { log } = await openLog(dir, { segmentBytes: 1024 });
    for (let zxid = 1; zxid <= 40; zxid++) {
      log.append(records(zxid, zxid));
      await log.flush();
    }
    const before = await segmentFiles(dir);
    expect(before.length).toBeGreaterThan(3);
    const secondFirst = parseInt(before[1]!.slice(4), 16);

    // Cut inside the second segment: all later segments go.
    const cutAt = secondFirst + 1;
    await log.truncateAfter(cutAt);
    expect([log.lastZxid, log.durableZxid]).toEqual([cutAt, cutAt]);
    expect(await segmentFiles(dir)).toEqual(before.slice(0, 2));
    await expectLog(log, records(1, cutAt));

    // The log goes on after the cut, with different content.
    log.append(records(cutAt + 1, cutAt + 5, 1));
    await log.flush();
    await log.close();
    const again = await openLog(dir, { segmentBytes: 1024 });
    expect(again.lines).toEqual([]);
    await expectLog(again.log, [...records(1, cutAt), ...records(cutAt + 1, cutAt + 5, 1)]);

    // Cut exactly at a segment boundary: the second segment goes entirely.
    await again.log.truncateAfter(secondFirst - 1);
    expect(await segmentFiles(dir)).toEqual(before.slice(0, 1));
    await expectLog(again.log, records(1, secondFirst - 1));

    // Past the end: nothing to do. Unflushed appends: refused.
    await again.log.truncateAfter(1000);
    again.log.append(records(secondFirst, secondFirst));
    await expect(again.log.truncateAfter(1)).rejects.toThrow(/flush/);
    await again.log.flush();

    // Everything: the log is empty and may restart at any zxid (after a SNAP sync).
    await again.log.truncateAfter(0);
    expect([again.log.lastZxid, again.log.firstZxid]).toEqual([0, 0]);
    expect(await segmentFiles(dir)).toEqual([]);
    again.log.append(records(500, 502));
    await again.log.flush();
    await again.log.close();
    const last = await openLog(dir, { segmentBytes: 1024 });
    await expectLog(last.log, records(500, 502));
    expect(await segmentFiles(dir)).toEqual([segmentName(500)]);
    await last.log.close();
  });

  it('purge deletes whole segments below a zxid, keeping a minimum count', async () => {
    const dir = await tempDir();
    const { log } = await openLog(dir, { segmentBytes: 1024 });
    for (let zxid = 1; zxid <= 60; zxid++) {
      log.append(records(zxid, zxid));
      await log.flush();
    }
    const names = await segmentFiles(dir);
    const firsts = names.map((n) => parseInt(n.slice(4), 16));
    expect(names.length).toBeGreaterThanOrEqual(6);

    // A zxid inside segment 3 frees segments 0..2 only: segment 3 still holds records below it.
    await log.purge(firsts[3]! + 1, 1);
    expect(await segmentFiles(dir)).toEqual(names.slice(3));
    expect(log.firstZxid).toBe(firsts[3]);
    await expectLog(log, records(firsts[3]!, 60));

    // keepSegments wins over beforeZxid; the current segment always stays.
    await log.purge(Number.MAX_SAFE_INTEGER, 2);
    expect(await segmentFiles(dir)).toEqual(names.slice(-2));
    await log.purge(Number.MAX_SAFE_INTEGER, 0);
    expect(await segmentFiles(dir)).toEqual(names.slice(-1));
    await log.close();

    const again = await openLog(dir, { segmentBytes: 1024 });
    expect(again.lines).toEqual([]);
    await expectLog(again.log, records(firsts.at(-1)!, 60));
    await again.log.close();
  });

  it('fails stop after an I/O error: later calls reject until reopened', async () => {
    const dir = await tempDir();
    const { log } = await openLog(dir, { segmentBytes: 4096 });
    log.append(records(1, 3));
    await log.flush();
    const proto = await fileHandlePrototype(dir);
    const writev = vi.spyOn(proto, 'writev').mockRejectedValueOnce(Object.assign(new Error('EIO'), { code: 'EIO' }));
    try {
      log.append(records(4, 6));
      await expect(log.flush()).rejects.toThrow('EIO');
    } finally {
      writev.mockRestore();
    }
    expect(() => log.append(records(7, 7))).toThrow(/reopen/);
    await expect(log.flush()).rejects.toThrow(/reopen/);
    await log.close();
    const again = await openLog(dir, { segmentBytes: 4096 });
    // 4..6 were written but never acknowledged: keeping them is allowed, losing 1..3 is not.
    expect((await collect(again.log.read(0))).map((r) => r.zxid).slice(0, 3)).toEqual([1, 2, 3]);
    await again.log.close();
  });

  it('leaves no temp files and one spare segment behind', async () => {
    const dir = await tempDir();
    const { log } = await openLog(dir, { segmentBytes: 4096 });
    log.append(records(1, 3));
    await log.close();
    expect((await readdir(dir)).sort()).toEqual([segmentName(1), 'log.spare']);
  });
});
