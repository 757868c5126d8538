import { constants } from 'node:fs';
import { mkdir, open, readdir, stat, unlink, rename, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { PRIVATE_DIR, fsyncDir, isNotFound, removeDurably, writeFully, type LogFn } from './fsutil.js';
import { recoverSegments, type Segment } from './tail.js';
import { RECORD_HEADER_BYTES, writeRecord, type LogRecord } from './record.js';
import {
  FrameReader,
  SEGMENT_HEADER_BYTES,
  SPARE_NAME,
  cutSegment,
  findCut,
  parseSegmentFileName,
  prepareSpare,
  segmentFileName,
  segmentHeader,
} from './segment.js';

export interface TxnLogOptions {
  /** Size segments are preallocated to; a segment rolls when the next batch would not fit. Default 64 MiB. */
  segmentBytes?: number;
  /** Called once per open that had to cut a torn or corrupt tail. Default: console.warn. */
  log?: LogFn;
}

const DEFAULT_SEGMENT_BYTES = 64 * 1024 * 1024;
/**
 * The segment being appended to is opened O_DSYNC: each write returns once
 * its data is durable, as write + fdatasync would, in one trip to the thread
 * pool instead of two. Segments are preallocated, so no metadata needs it.
 */
const ACTIVE_FLAGS = constants.O_RDWR | constants.O_DSYNC;
const INITIAL_BATCH_BYTES = 64 * 1024;
// A batch buffer that grew past this for a burst is dropped rather than kept for reuse.
const MAX_REUSED_BATCH_BYTES = 4 * 1024 * 1024;

/**
 * The transaction log of one member: records in strictly increasing zxid
 * order, in preallocated segment files. append() only encodes into a batch
 * buffer; flush() writes the batch with one durable (O_DSYNC) write (group
 * commit). Every segment in `segments` holds at least one record, and the last
 * one is open for appends.
 *
 * An I/O error while writing leaves the file in an unknown state (and after a
 * failed fsync the kernel may have dropped the dirty pages), so the log fails
 * stop: every later call rejects and the member must reopen it.
 */
export class TxnLog {
  private active: FileHandle | null = null;
  private batch: Buffer = Buffer.allocUnsafe(INITIAL_BATCH_BYTES);
  private batchBytes = 0;
  private batchFirstZxid = 0;
  private reusable: Buffer | null = null;
  private appended: number;
  private durable: number;
  // flush, truncateAfter, purge and close run one at a time, in call order.
  private queue: Promise<unknown> = Promise.resolve();
  private failure: Error | null = null;
  private closed = false;
  private spare: Promise<void>;

  private constructor(
    private readonly dir: string,
    private readonly segmentBytes: number,
    private readonly segments: Segment[],
    spareReady: boolean,
  ) {
    this.appended = this.durable = segments.at(-1)?.lastZxid ?? 0;
    this.spare = spareReady ? Promise.resolve() : this.startSpare();
  }

  /**
   * Opens (creating if needed) the log in dir. Cuts a torn or corrupt tail:
   * the log ends at the last record that verifies, everything after it is
   * discarded durably, and one line is logged.
   */
  static async open(dir: string, opts: TxnLogOptions = {}): Promise<TxnLog> {
    const segmentBytes = opts.segmentBytes ?? DEFAULT_SEGMENT_BYTES;
    if (!Number.isSafeInteger(segmentBytes) || segmentBytes < SEGMENT_HEADER_BYTES + RECORD_HEADER_BYTES) {
      throw new RangeError(`segmentBytes must be an integer >= ${SEGMENT_HEADER_BYTES + RECORD_HEADER_BYTES}`);
    }
    const log = opts.log ?? ((msg, fields) => console.warn(msg, fields ?? ''));
    await mkdir(dir, { recursive: true, mode: PRIVATE_DIR });
    const names = await readdir(dir);
    for (const name of names) if (name.endsWith('.tmp')) await unlink(join(dir, name));
    const found = names
      .map((name) => ({ name, firstZxid: parseSegmentFileName(name) }))
      .filter((f): f is { name: string; firstZxid: number } => f.firstZxid !== null)
      .sort((a, b) => a.firstZxid - b.firstZxid);
    const segments = await recoverSegments(dir, found, segmentBytes, log);
    const spareReady = names.includes(SPARE_NAME) && (await stat(join(dir, SPARE_NAME))).size === segmentBytes;
    const txnLog = new TxnLog(dir, segmentBytes, segments, spareReady);
    const last = segments.at(-1);
    if (last) txnLog.active = await open(join(dir, last.name), ACTIVE_FLAGS);
    return txnLog;
  }

  /** zxid of the last appended record, flushed or not; 0 when the log is empty. */
  get lastZxid(): number {
    return this.appended;
  }

  /** zxid of the last record whose flush resolved; 0 when none. */
  get durableZxid(): number {
    return this.durable;
  }

  /** zxid of the oldest record still in the log (purge moves it); 0 when empty. */
  get firstZxid(): number {
    return this.segments[0]?.firstZxid ?? 0;
  }

  /**
   * Encodes records into the pending batch; no I/O. Throws, appending none of
   * them, unless their zxids are safe integers strictly above lastZxid and
   * increasing.
   */
  append(records: readonly LogRecord[]): void {
    this.checkUsable();
    let prev = this.appended;
    let bytes = 0;
    for (const r of records) {
      if (!Number.isSafeInteger(r.zxid) || r.zxid <= prev) {
        throw new RangeError(`zxid ${r.zxid} does not follow ${prev}`);
      }
      prev = r.zxid;
      bytes += RECORD_HEADER_BYTES + r.payload.length;
    }
    if (records.length === 0) return;
    this.reserve(bytes);
    if (this.batchBytes === 0) this.batchFirstZxid = records[0]!.zxid;
    let off = this.batchBytes;
    for (const r of records) off = writeRecord(this.batch, off, r.zxid, r.payload);
    this.batchBytes = off;
    this.appended = prev;
  }

  /**
   * Makes everything appended so far durable: one O_DSYNC write
   * for the whole batch. Records appended while it runs go in the next flush.
   */
  flush(): Promise<void> {
    return this.enqueue(() => this.writeBatch());
  }

  /**
   * Records with zxid > fromZxid, in order, as of this call (later flushes are
   * not included). A concurrent truncateAfter or purge of the range being read
   * makes the iteration throw.
   */
  read(fromZxid: number): LogReading {
    return new LogReading(
      this.dir,
      this.segments.map((s) => ({ ...s })),
      fromZxid,
    );
  }

  /**
   * Durably drops every record with zxid > zxid (Zab TRUNC). Appended but
   * unflushed records must be flushed first.
   */
  truncateAfter(zxid: number): Promise<void> {
    return this.enqueue(async () => {
      if (this.batchBytes > 0) throw new Error('truncateAfter: flush appended records first');
      if (zxid >= this.durable) return;
      try {
        // Newest segment first, so that a crash part-way leaves a prefix of
        // the log, never one with a hole in it.
        while (this.segments.length > 0 && this.segments.at(-1)!.firstZxid > zxid) {
          await this.active?.close();
          this.active = null;
          await removeDurably(this.dir, this.segments.pop()!.name);
        }
        const last = this.segments.at(-1);
        if (last) {
          this.active ??= await open(join(this.dir, last.name), ACTIVE_FLAGS);
          const cut = await findCut(this.active, last.end, zxid);
          await cutSegment(this.active, cut.end, this.segmentBytes);
          last.end = cut.end;
          last.lastZxid = cut.lastZxid;
        }
        this.appended = this.durable = last?.lastZxid ?? 0;
      } catch (err) {
        throw this.fail(err);
      }
    });
  }

  /**
   * Deletes the oldest segments whose records are all below beforeZxid,
   * keeping at least keepSegments segments (and always the current one).
   */
  purge(beforeZxid: number, keepSegments: number): Promise<void> {
    return this.enqueue(async () => {
      const removable = this.segments.length - Math.max(1, keepSegments);
      // Segment i holds only zxids below segment i+1's first zxid. Oldest
      // first, so a crash part-way leaves a suffix of the log.
      for (let i = 0; i < removable && this.segments[1]!.firstZxid <= beforeZxid; i++) {
        await removeDurably(this.dir, this.segments[0]!.name);
        this.segments.shift();
      }
    });
  }

  /** Flushes what was appended, then releases the files. Later calls reject. */
  close(): Promise<void> {
    const run = this.queue.then(async () => {
      if (this.closed) return;
      try {
        if (!this.failure) await this.writeBatch();
      } finally {
        this.closed = true;
        await this.spare.catch(() => undefined);
        await this.active?.close();
        this.active = null;
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private enqueue(op: () => Promise<void>): Promise<void> {
    const run = this.queue.then(() => {
      this.checkUsable();
      return op();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private checkUsable(): void {
    if (this.closed) throw new Error('TxnLog is closed');
    if (this.failure) throw new Error('TxnLog failed earlier; reopen it', { cause: this.failure });
  }

  private fail(err: unknown): unknown {
    this.failure = err instanceof Error ? err : new Error(String(err));
    return err;
  }

  /** Grows the batch buffer to take bytes more, keeping what it holds. */
  private reserve(bytes: number): void {
    const need = this.batchBytes + bytes;
    if (need <= this.batch.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(need, 2 * this.batch.length));
    this.batch.copy(bigger, 0, 0, this.batchBytes);
    this.batch = bigger;
  }

  private async writeBatch(): Promise<void> {
    if (this.batchBytes === 0) return;
    const buffer = this.batch;
    const bytes = buffer.subarray(0, this.batchBytes);
    const firstZxid = this.batchFirstZxid;
    const lastZxid = this.appended;
    // Appends made while this batch is being written fill the other buffer.
    this.batch = this.reusable ?? Buffer.allocUnsafe(INITIAL_BATCH_BYTES);
    this.reusable = null;
    this.batchBytes = 0;
    try {
      let seg = this.segments.at(-1);
      if (!this.active || !seg || seg.end + bytes.length > this.segmentBytes) {
        // The header goes out with the first batch, in the same durable write.
        seg = { firstZxid, name: segmentFileName(firstZxid), end: 0, lastZxid: 0 };
        this.active = await this.roll(seg.name);
        await writeFully(this.active, [segmentHeader(firstZxid), bytes], 0);
        seg.end = SEGMENT_HEADER_BYTES;
        this.segments.push(seg);
      } else {
        await writeFully(this.active, [bytes], seg.end);
      }
      seg.end += bytes.length;
      seg.lastZxid = lastZxid;
      this.durable = lastZxid;
    } catch (err) {
      throw this.fail(err);
    }
    if (buffer.length <= MAX_REUSED_BATCH_BYTES) this.reusable = buffer;
  }

  /**
   * Turns the spare into segment `name` and returns it open. The rename is
   * made durable before any record goes in; a crash after it leaves an empty
   * (zero) segment, which open() discards.
   */
  private async roll(name: string): Promise<FileHandle> {
    await this.spare;
    await rename(join(this.dir, SPARE_NAME), join(this.dir, name));
    await fsyncDir(this.dir);
    // The previous segment's records are already durable.
    await this.active?.close();
    this.active = null;
    const fh = await open(join(this.dir, name), ACTIVE_FLAGS);
    this.spare = this.startSpare();
    return fh;
  }

  private startSpare(): Promise<void> {
    const ready = prepareSpare(this.dir, this.segmentBytes);
    // Not awaited until the next roll (or close), which then sees any error.
    ready.catch(() => undefined);
    return ready;
  }
}

/**
 * The records after a zxid, read segment by segment. How far it has got is
 * counted in bytes of the segments it walks, so that a long replay can show
 * progress: bytesRead reaches totalBytes when the iteration ends.
 */
export class LogReading implements AsyncIterable<LogRecord> {
  readonly totalBytes: number;
  private read = 0;
  private readonly segments: readonly Segment[];

  constructor(
    private readonly dir: string,
    segments: readonly Segment[],
    private readonly fromZxid: number,
  ) {
    // Segment i holds only zxids below segment i+1's first: skip those entirely <= fromZxid.
    let i = 0;
    while (i + 1 < segments.length && segments[i + 1]!.firstZxid <= fromZxid + 1) i++;
    this.segments = segments.slice(i);
    this.totalBytes = this.segments.reduce((sum, seg) => sum + seg.end - SEGMENT_HEADER_BYTES, 0);
  }

  get bytesRead(): number {
    return this.read;
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<LogRecord> {
    this.read = 0;
    let prevZxid = 0;
    for (const seg of this.segments) {
      let fh: FileHandle;
      try {
        fh = await open(join(this.dir, seg.name), 'r');
      } catch (err) {
        if (isNotFound(err)) throw new Error(`txn log: segment ${seg.name} was removed while being read`, { cause: err });
        throw err;
      }
      const before = this.read;
      try {
        const reader = new FrameReader(fh, SEGMENT_HEADER_BYTES, seg.end, prevZxid);
        for (let rec; (rec = await reader.next()) !== null; ) {
          this.read = before + reader.pos - SEGMENT_HEADER_BYTES;
          if (rec.zxid > this.fromZxid) yield rec;
        }
        if (reader.pos !== seg.end) throw new Error(`txn log: bad record in ${seg.name} at offset ${reader.pos}`);
        prevZxid = reader.lastZxid;
      } finally {
        await fh.close();
      }
    }
  }
}
