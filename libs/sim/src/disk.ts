import type { Rng } from './rng.js';
import type { Scheduler } from './scheduler.js';
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
 * (epochs). Writes are volatile until an fsync issued after them completes;
 * a crash keeps only what was synced, and may leave a torn record after it,
 * which reading cuts by its checksum as libs/store cuts a torn tail.
 */
export class SimDisk {
  faults: DiskFaults = { minFsync: 1, maxFsync: 5, torn: 0 };
  private log: Rec[] = [];
  private durable = 0;
  private files = new Map<string, Uint8Array>();
  private durableFiles = new Map<string, Uint8Array>();
  fsyncs = 0;

  constructor(
    private readonly proc: Proc,
    private readonly sched: Scheduler,
    private readonly rng: Rng,
  ) {}

  append(data: Uint8Array): void {
    this.log.push({ data, sum: checksum(data) });
  }

  /** Drops the records from index `keep` on (a truncation is itself synced by the next fsync). */
  truncate(keep: number): void {
    this.log.length = Math.min(this.log.length, keep);
    this.durable = Math.min(this.durable, keep);
  }

  writeFile(name: string, data: Uint8Array): void {
    this.files.set(name, data);
  }

  readFile(name: string): Uint8Array | undefined {
    return this.files.get(name);
  }

  /** Makes everything written so far durable, then calls `done` on this process. */
  fsync(done: () => void): void {
    const upTo = this.log.length;
    const files = new Map(this.files);
    this.fsyncs++;
    this.proc.after(this.rng.int(this.faults.minFsync, this.faults.maxFsync), () => {
      this.durable = Math.max(this.durable, Math.min(upTo, this.log.length));
      for (const [k, v] of files) this.durableFiles.set(k, v);
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

  /** Power loss: unsynced writes are gone, except possibly a torn piece of the next one. */
  crash(): void {
    const next = this.log[this.durable];
    this.log = this.log.slice(0, this.durable);
    if (next && next.data.length > 1 && this.rng.chance(this.faults.torn)) {
      this.log.push({ data: next.data.subarray(0, this.rng.int(1, next.data.length - 1)), sum: next.sum });
    }
    this.files = new Map(this.durableFiles);
  }

  /** Start-up cuts a torn tail, as libs/store does on open. */
  recover(): void {
    const intact = this.records().length;
    this.log.length = intact;
    this.durable = Math.min(this.durable, intact);
  }
}

/** FNV-1a: enough to tell a torn record from an intact one. */
function checksum(b: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < b.length; i++) h = Math.imul(h ^ b[i]!, 0x01000193) >>> 0;
  return h ^ b.length;
}
