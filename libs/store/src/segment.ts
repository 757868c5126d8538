import { open, rename, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { PRIVATE_FILE, ZEROS, isZeroRange, readFully, writeFully } from './fsutil.js';
import { INVALID, RECORD_HEADER_BYTES, checkRecord, zxidAt, type LogRecord } from './record.js';

/**
 * A segment file, log.<first zxid as 16 hex digits>, starts with a header:
 * magic "ZLOG" u32, format version u32, first zxid u64 (which must match the
 * name). Records follow; the preallocated rest of the file is zeros.
 */
export const SEGMENT_HEADER_BYTES = 16;
const MAGIC = 0x5a4c4f47;
const VERSION = 1;
const NAME = /^log\.([0-9a-f]{16})$/;

/** A zero-filled segment-sized file made ahead of need; a roll renames it. */
export const SPARE_NAME = 'log.spare';

// Reads go in chunks of this size (bigger when one record is bigger).
const READ_CHUNK = 1 << 20;

export function segmentFileName(firstZxid: number): string {
  return 'log.' + firstZxid.toString(16).padStart(16, '0');
}

/** The first zxid a segment file name stands for, or null for other files. */
export function parseSegmentFileName(name: string): number | null {
  const m = NAME.exec(name);
  if (!m) return null;
  const zxid = parseInt(m[1]!, 16);
  return Number.isSafeInteger(zxid) && zxid > 0 ? zxid : null;
}

export function segmentHeader(firstZxid: number): Buffer {
  const buf = Buffer.alloc(SEGMENT_HEADER_BYTES);
  buf.writeUInt32BE(MAGIC, 0);
  buf.writeUInt32BE(VERSION, 4);
  buf.writeUInt32BE(Math.floor(firstZxid / 2 ** 32), 8);
  buf.writeUInt32BE(firstZxid >>> 0, 12);
  return buf;
}

/**
 * Walks the frames of one segment from start up to limit, verifying each.
 * next() returns null at the first frame that is incomplete or invalid; pos
 * is then the offset just after the last good frame. Every chunk is a fresh
 * Buffer, so the payloads it hands out (views into it) stay valid.
 */
export class FrameReader {
  private buf = Buffer.alloc(0);
  private off = 0;
  pos: number;
  lastZxid: number;

  constructor(
    private readonly fh: FileHandle,
    start: number,
    private readonly limit: number,
    prevZxid: number,
  ) {
    this.pos = start;
    this.lastZxid = prevZxid;
  }

  async next(): Promise<LogRecord | null> {
    for (;;) {
      const size = checkRecord(this.buf, this.off, this.buf.length, this.lastZxid);
      if (size === INVALID) return null;
      if (size > 0) {
        const rec = { zxid: zxidAt(this.buf, this.off), payload: this.buf.subarray(this.off + RECORD_HEADER_BYTES, this.off + size) };
        this.off += size;
        this.pos += size;
        this.lastZxid = rec.zxid;
        return rec;
      }
      if (!(await this.fill())) return null;
    }
  }

  /** Loads the next chunk, keeping the unread part of the current one; false when the frame cannot fit before limit. */
  private async fill(): Promise<boolean> {
    const kept = this.buf.length - this.off;
    const need = kept >= 4 ? RECORD_HEADER_BYTES + this.buf.readUInt32BE(this.off) : RECORD_HEADER_BYTES;
    const available = this.limit - this.pos;
    if (need > available || kept === available) return false;
    const next = Buffer.allocUnsafe(Math.min(Math.max(READ_CHUNK, need), available));
    this.buf.copy(next, 0, this.off);
    const got = await readFully(this.fh, next.subarray(kept), this.pos + kept);
    this.buf = next.subarray(0, kept + got);
    this.off = 0;
    return got > 0;
  }
}

export interface SegmentScan {
  /** Valid records, in order from the header. */
  records: number;
  /** Offset after the last valid record (0 when the header is bad). */
  end: number;
  /** zxid of the last valid record, or prevZxid when there is none. */
  lastZxid: number;
  /** Everything after end is zero: the segment ends cleanly, nothing torn or corrupt follows. */
  clean: boolean;
}

/**
 * Reads a whole segment and finds where its valid records end. Its first
 * record must be the zxid it is named after and follow prevZxid, the last
 * zxid of the segment before it. Checking the rest for zeros catches a torn
 * write whose later pages reached the disk while earlier ones did not.
 */
export async function scanSegment(fh: FileHandle, firstZxid: number, prevZxid: number): Promise<SegmentScan> {
  const size = (await fh.stat()).size;
  const header = Buffer.alloc(SEGMENT_HEADER_BYTES);
  await readFully(fh, header, 0);
  if (!header.equals(segmentHeader(firstZxid))) {
    return { records: 0, end: 0, lastZxid: prevZxid, clean: false };
  }
  const reader = new FrameReader(fh, SEGMENT_HEADER_BYTES, size, prevZxid);
  let records = 0;
  let end = SEGMENT_HEADER_BYTES;
  let lastZxid = prevZxid;
  for (let rec; (rec = await reader.next()) !== null; ) {
    if (records === 0 && rec.zxid !== firstZxid) break;
    records++;
    end = reader.pos;
    lastZxid = rec.zxid;
  }
  return { records, end, lastZxid, clean: await isZeroRange(fh, end, size) };
}

/** Offset after the last record with zxid <= zxid, and that record's zxid. */
export async function findCut(fh: FileHandle, end: number, zxid: number): Promise<{ end: number; lastZxid: number }> {
  const reader = new FrameReader(fh, SEGMENT_HEADER_BYTES, end, 0);
  const cut = { end: SEGMENT_HEADER_BYTES, lastZxid: 0 };
  for (let rec; (rec = await reader.next()) !== null && rec.zxid <= zxid; ) {
    cut.end = reader.pos;
    cut.lastZxid = rec.zxid;
  }
  return cut;
}

/**
 * Discards everything from end on: shrinking the file drops the bytes, growing
 * it back re-creates the preallocated zeros that mark the end of the log.
 */
export async function cutSegment(fh: FileHandle, end: number, preallocBytes: number): Promise<void> {
  await fh.truncate(end);
  await fh.truncate(Math.max(end, preallocBytes));
  await fh.sync();
}

/**
 * Writes dir/log.spare: bytes of real zeros, fsynced. Appends then overwrite
 * allocated blocks in place, so fdatasync flushes data only; a sparse file
 * (ftruncate) would make each one commit block allocation metadata too. Done
 * in the background, and renamed into place only when complete. Synced a
 * chunk at a time: on ext4 (data=ordered) the log's fdatasync waits for other
 * dirty data in the same journal commit, and 64 MiB of it stalled a flush for
 * ~100 ms where one chunk costs a few ms.
 */
export async function prepareSpare(dir: string, bytes: number): Promise<void> {
  const tmp = join(dir, SPARE_NAME + '.tmp');
  const fh = await open(tmp, 'w', PRIVATE_FILE);
  try {
    for (let pos = 0; pos < bytes; pos += ZEROS.length) {
      await writeFully(fh, [ZEROS.subarray(0, Math.min(ZEROS.length, bytes - pos))], pos);
      await fh.datasync();
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  await rename(tmp, join(dir, SPARE_NAME));
}
