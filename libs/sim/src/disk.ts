import type { Rng } from './rng.js';
import type { Proc } from './process.js';

export interface DiskFaults {
  /** fsync latency bounds in ms (slow disks have a long tail). */
  minFsync: number;
  maxFsync: number;
  /** Probability that a crash leaves the first unsynced record half written. */
  torn: number;
}

interface Rec {
  data: Uint8Array;
  sum: number;
}

/**
 * A process's disk: an append-only log of records plus small named files
 * (epochs, a snapshot). Every change — append, truncate, file write — is
 * volatile until an fsync issued after it completes; a crash goes back to
 * what the last completed fsync saw, and may leave a torn record after it,
 * which reading cuts by its checksum as libs/store cuts a torn tail.
 */
export class SimDisk {
  faults: DiskFaults = { minFsync: 1, maxFsync: 5, torn: 0 };
  private log: Rec[] = [];
  private files = new Map<string, Uint8Array>();
  private durableLog: Rec[] = [];
  private durableFiles = new Map<string, Uint8Array>();
  /** Files written and fsynced before the write returned (writeFileNow): a crash keeps them. */
  private syncedFiles = new Map<string, Uint8Array>();
  private issued = 0;
  private completed = 0;

  constructor(
    private readonly proc: Proc,
    private readonly rng: Rng,
  ) {}

  append(data: Uint8Array): void {
    this.log.push({ data, sum: checksum(data) });
  }

  /** Keeps the first `keep` records. */
  truncate(keep: number): void {
    this.log.length = Math.min(this.log.length, keep);
  }

  writeFile(name: string, data: Uint8Array): void {
    this.files.set(name, data);
  }

  /** A small file written atomically and fsynced before this returns, as the services' writeAtomicallySync. */
  writeFileNow(name: string, data: Uint8Array): void {
    this.syncedFiles.set(name, data);
  }

  readFile(name: string): Uint8Array | undefined {
    return this.syncedFiles.get(name) ?? this.files.get(name);
  }

  /** What a crash now would keep, for the record of who holds what: the log's records as of the last completed fsync… */
  get durableRecords(): { length: number; at(i: number): Uint8Array } {
    const log = this.durableLog;
    return { length: log.length, at: (i) => log[i]!.data };
  }

  /** …and a named file. */
  durableFile(name: string): Uint8Array | undefined {
    return this.syncedFiles.get(name) ?? this.durableFiles.get(name);
  }

  /** Makes everything written so far durable, then calls `done` on this process. */
  fsync(done: () => void): void {
    const log = this.log.slice();
    const files = new Map(this.files);
    const n = ++this.issued;
    this.proc.after(this.rng.int(this.faults.minFsync, this.faults.maxFsync), () => {
      // A later fsync that finished first already made a newer state durable.
      if (n > this.completed) {
        this.completed = n;
        this.durableLog = log;
        this.durableFiles = files;
      }
      done();
    });
  }

  /** The records a reader finds: every intact one, up to the first that fails its checksum. */
  records(): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const r of this.log) {
      if (checksum(r.data) !== r.sum) break;
      out.push(r.data);
    }
    return out;
  }

  /** Power loss: back to the last synced state, plus possibly a torn piece of the next record. */
  crash(): void {
    const d = this.durableLog;
    const extends_ = this.log.length > d.length && d.every((r, i) => this.log[i] === r);
    const next = extends_ ? this.log[d.length] : undefined;
    this.log = d.slice();
    if (next && next.data.length > 1 && this.rng.chance(this.faults.torn)) {
      this.log.push({ data: next.data.subarray(0, this.rng.int(1, next.data.length - 1)), sum: next.sum });
    }
    this.files = new Map(this.durableFiles);
    this.issued = this.completed;
  }

  /** Start-up cuts a torn tail, as libs/store does on open. */
  recover(): void {
    this.log.length = this.records().length;
  }
}

/** FNV-1a: enough to tell a torn record from an intact one. */
function checksum(b: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193) >>> 0;
  return (h ^ b.length) >>> 0;
}
