import { mkdir, open, readFile, readdir, rename, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { PRIVATE_DIR, PRIVATE_FILE, fsyncDir, isNotFound, writeFully, type LogFn } from './fsutil.js';

/**
 * File snapshot.<zxid as 16 hex digits>: a header, then the opaque bytes.
 * Header: magic "ZSNP" u32, version u32, zxid u64, length u64, crc32 u32,
 * reserved u32. The CRC covers the bytes, then zxid and length (version 2,
 * so that a snapshot can be checksummed as it is written, before its length
 * is known); version 1 files, zxid and length first, still load.
 */
const HEADER_BYTES = 32;
const MAGIC = 0x5a534e50;
const VERSION = 2;
const NAME = /^snapshot\.([0-9a-f]{16})$/;
const TWO_32 = 2 ** 32;

export interface SnapshotStoreOptions {
  /** Snapshots kept after each write, newest first. Default 3. */
  retain?: number;
  /** Told about each snapshot skipped because it does not verify. Default: console.warn. */
  log?: LogFn;
  /** Delete the snapshots beyond `retain` after each write (default), or only when prune() is called. */
  pruneOnWrite?: boolean;
}

export interface Snapshot {
  zxid: number;
  bytes: Buffer;
}

/** A snapshot being written a part at a time: see SnapshotStore.stream. */
export interface SnapshotStream {
  /** Appends the next part of the snapshot's bytes (one append at a time). */
  append(bytes: Uint8Array): Promise<void>;
  /** Completes it: durable and visible once this resolves. */
  finish(): Promise<void>;
  /** Gives it up; its temp file goes. */
  abandon(): Promise<void>;
}

/** Snapshots of one member, written atomically and checksummed. */
export class SnapshotStore {
  private readonly retain: number;
  private readonly log: LogFn;
  private readonly pruneOnWrite: boolean;
  // Renames and pruning run one at a time so that pruning never races a rename.
  private queue: Promise<unknown> = Promise.resolve();
  /** Temp files of snapshots being written now, which the clean-up after a write leaves alone. */
  private readonly streaming = new Set<string>();

  constructor(
    readonly dir: string,
    opts: SnapshotStoreOptions = {},
  ) {
    this.retain = opts.retain ?? 3;
    if (!Number.isSafeInteger(this.retain) || this.retain < 1) throw new RangeError('retain must be an integer >= 1');
    this.log = opts.log ?? ((msg, fields) => console.warn(msg, fields ?? ''));
    this.pruneOnWrite = opts.pruneOnWrite ?? true;
  }

  /**
   * Stores the snapshot taken at zxid durably (temp file, fsync, rename, fsync
   * of the directory), then deletes the oldest ones beyond `retain`.
   */
  async write(zxid: number, bytes: Uint8Array): Promise<void> {
    const out = this.stream(zxid);
    try {
      await out.append(bytes);
    } catch (err) {
      await out.abandon();
      throw err;
    }
    await out.finish();
  }

  /**
   * A snapshot written as it is encoded, a part at a time, so that a member
   * never holds a whole one in memory: the parts go to a temp file behind a
   * header left blank, and finish() fills the header in, syncs, renames and
   * prunes as write() does. Until then the snapshot is invisible; a crash
   * leaves only a temp file, which the next write removes.
   */
  stream(zxid: number): SnapshotStream {
    if (!Number.isSafeInteger(zxid) || zxid < 0) throw new RangeError(`bad snapshot zxid ${zxid}`);
    const name = fileName(zxid);
    const tmp = join(this.dir, name + '.tmp');
    let opened: Promise<FileHandle> | undefined;
    const file = () =>
      (opened ??= (async () => {
        await mkdir(this.dir, { recursive: true, mode: PRIVATE_DIR });
        this.streaming.add(tmp);
        return open(tmp, 'w', PRIVATE_FILE);
      })());
    let length = 0;
    let crc = 0;
    let ended = false;
    const end = async () => {
      ended = true;
      if (opened) await (await opened).close();
    };
    return {
      append: async (bytes) => {
        if (ended) throw new Error('snapshot stream already ended');
        await writeFully(await file(), [bytes], HEADER_BYTES + length);
        length += bytes.length;
        crc = crc32(bytes, crc);
      },
      finish: async () => {
        if (ended) throw new Error('snapshot stream already ended');
        const fh = await file();
        const header = Buffer.alloc(HEADER_BYTES);
        header.writeUInt32BE(MAGIC, 0);
        header.writeUInt32BE(VERSION, 4);
        writeU64(header, 8, zxid);
        writeU64(header, 16, length);
        header.writeUInt32BE(crc32(header.subarray(8, 24), crc), 24);
        try {
          await writeFully(fh, [header], 0);
          await fh.sync();
        } finally {
          await end();
        }
        const run = this.queue.then(async () => {
          this.streaming.delete(tmp);
          await rename(tmp, join(this.dir, name));
          await fsyncDir(this.dir);
          if (this.pruneOnWrite) await this.pruneNow();
          for (const n of await readdir(this.dir)) {
            // Left by a crash mid-write; not one being written now.
            if (n.endsWith('.tmp') && !this.streaming.has(join(this.dir, n))) await unlink(join(this.dir, n));
          }
        });
        this.queue = run.catch(() => undefined);
        return run;
      },
      abandon: async () => {
        if (ended) return;
        await end();
        this.streaming.delete(tmp);
        if (opened) await unlink(tmp).catch((err: unknown) => {
          if (!isNotFound(err)) throw err;
        });
      },
    };
  }

  /** Deletes the oldest snapshots beyond `retain`; resolves with the zxids kept, newest first. */
  prune(): Promise<number[]> {
    const run = this.queue.then(() => this.pruneNow());
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async pruneNow(): Promise<number[]> {
    const all = await this.list();
    // Pruning needs no fsync: a deletion undone by a crash leaves one snapshot too many.
    for (const old of all.slice(this.retain)) await unlink(join(this.dir, fileName(old)));
    return all.slice(0, this.retain);
  }

  /**
   * Deletes every snapshot taken after zxid (a Zab TRUNC: they may hold
   * transactions the ensemble never committed). Durable: the directory is
   * fsynced, so a crash cannot bring one back.
   */
  removeAfter(zxid: number): Promise<void> {
    const run = this.queue.then(async () => {
      const doomed = (await this.list()).filter((z) => z > zxid);
      for (const z of doomed) await unlink(join(this.dir, fileName(z)));
      if (doomed.length > 0) await fsyncDir(this.dir);
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** zxids of the stored snapshots, newest first, not yet verified. */
  async list(): Promise<number[]> {
    let names: string[];
    try {
      names = await readdir(this.dir);
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    }
    return names
      .map((name) => NAME.exec(name))
      .filter((m) => m !== null)
      .map((m) => parseInt(m[1]!, 16))
      .filter((zxid) => Number.isSafeInteger(zxid))
      .sort((a, b) => b - a);
  }

  /** The newest snapshot that verifies; each one that does not is skipped with a log line. */
  async loadNewest(): Promise<Snapshot | null> {
    for (const zxid of await this.list()) {
      const file = await readFile(join(this.dir, fileName(zxid)));
      const problem = verify(file, zxid);
      if (!problem) return { zxid, bytes: file.subarray(HEADER_BYTES) };
      this.log('snapshot: skipping one that does not verify', { file: fileName(zxid), problem });
    }
    return null;
  }
}

function fileName(zxid: number): string {
  return 'snapshot.' + zxid.toString(16).padStart(16, '0');
}

/** What is wrong with a snapshot file, or null when it verifies. */
function verify(file: Buffer, zxid: number): string | null {
  if (file.length < HEADER_BYTES) return 'shorter than its header';
  const version = file.readUInt32BE(4);
  if (file.readUInt32BE(0) !== MAGIC || (version !== 1 && version !== VERSION)) return 'bad magic or version';
  if (readU64(file, 8) !== zxid) return 'zxid does not match the file name';
  if (readU64(file, 16) !== file.length - HEADER_BYTES) return 'length does not match the file size';
  const fields = file.subarray(8, 24);
  const bytes = file.subarray(HEADER_BYTES);
  const crc = version === 1 ? crc32(bytes, crc32(fields)) : crc32(fields, crc32(bytes));
  return crc === file.readUInt32BE(24) ? null : 'checksum mismatch';
}

function writeU64(buf: Buffer, off: number, value: number): void {
  buf.writeUInt32BE(Math.floor(value / TWO_32), off);
  buf.writeUInt32BE(value >>> 0, off + 4);
}

function readU64(buf: Buffer, off: number): number {
  return buf.readUInt32BE(off) * TWO_32 + buf.readUInt32BE(off + 4);
}
