import type { LogEntry } from '@zooid/protocol';
import { assert } from './assert.js';

export type SyncPlan = { mode: 'diff'; from: number } | { mode: 'trunc'; truncTo: number } | { mode: 'snap' };

export interface HistoryLimits {
  /** Zxids remembered in all (8 bytes each); past it the oldest are forgotten and learners behind them get a SNAP. */
  capacity?: number;
  /** Applied entries whose payloads stay in memory; older ones are read back from the log to DIFF a learner. */
  window?: number;
}

/**
 * A member's logged transactions after `base`, as the leader needs them to
 * sync a learner: the zxid of every one (enough to plan DIFF, TRUNC or
 * SNAP), and the payloads of the recent ones. Payloads of entries not yet
 * applied to the tree are always kept; of applied ones only the newest
 * `window`, so that memory does not grow with the write rate — a DIFF from
 * further back reads the log on disk (see `memoryBase`).
 */
export class History {
  /** zxids of entries whose payloads were dropped, oldest first, from olderHead. */
  private older: number[] = [];
  private olderHead = 0;
  /** Entries with payloads, oldest first, from head. */
  private entries: LogEntry[] = [];
  private head = 0;
  private released: number;
  private readonly capacity: number;
  private readonly window: number;

  constructor(
    /** The zxid just before the first entry: a learner there can DIFF everything. */
    private base: number,
    limits: HistoryLimits = {},
  ) {
    this.capacity = limits.capacity ?? 1_000_000;
    this.window = limits.window ?? 1000;
    assert(this.capacity >= 1 && this.window >= 0 && this.window <= this.capacity, 'history limits: 0 <= window <= capacity, capacity >= 1');
    this.released = base;
  }

  append(e: LogEntry): void {
    assert(e[0] > this.last, `history zxid must increase: ${e[0]} after ${this.last}`);
    this.entries.push(e);
    this.trim();
  }

  /** The tree holds everything up to zxid: those payloads may leave memory, beyond the window. */
  release(zxid: number): void {
    if (zxid <= this.released) return;
    this.released = zxid;
    this.trim();
  }

  /** Forgets the entries below zxid (the log no longer holds them): learners behind get a SNAP. */
  forgetBefore(zxid: number): void {
    while (this.size > 0 && this.first < zxid) this.dropOldest();
  }

  get last(): number {
    return this.entries.length > this.head ? this.entries[this.entries.length - 1]![0] : this.memoryBase;
  }

  /** The zxid just before the oldest entry whose payload is in memory: after() serves from here on. */
  get memoryBase(): number {
    return this.older.length > this.olderHead ? this.older[this.older.length - 1]! : this.base;
  }

  /** Entries with zxid > after, in order; after must be at least memoryBase. */
  after(after: number): LogEntry[] {
    assert(after >= this.memoryBase, `history payloads after ${after} left memory (from ${this.memoryBase})`);
    return this.entries.slice(upperBound(this.entries, this.head, this.entries.length, after, (e) => e[0]));
  }

  /** The zxid of the entry after zxid, or undefined when zxid is the last or is not an entry. */
  next(zxid: number): number | undefined {
    if (zxid === this.base) return this.size > 0 ? this.first : undefined;
    const found = this.find(zxid);
    if (found !== zxid) return undefined;
    const i = upperBound(this.older, this.olderHead, this.older.length, zxid, (x) => x);
    if (i < this.older.length) return this.older[i];
    const j = upperBound(this.entries, this.head, this.entries.length, zxid, (e) => e[0]);
    return j < this.entries.length ? this.entries[j]![0] : undefined;
  }

  /** How to bring a learner whose log ends at `learnerLast` to our last entry. */
  plan(learnerLast: number): SyncPlan {
    if (learnerLast > this.last) return { mode: 'trunc', truncTo: this.last };
    if (learnerLast < this.base) return { mode: 'snap' };
    const shared = this.find(learnerLast);
    if (shared === learnerLast) return { mode: 'diff', from: learnerLast };
    // The learner holds a proposal we never had (uncommitted in an older
    // epoch): cut back to the last point our histories share.
    return { mode: 'trunc', truncTo: shared };
  }

  private get size(): number {
    return this.older.length - this.olderHead + this.entries.length - this.head;
  }

  private get first(): number {
    return this.older.length > this.olderHead ? this.older[this.olderHead]! : this.entries[this.head]![0];
  }

  /** The greatest zxid we hold that is <= zxid (base when none is). */
  private find(zxid: number): number {
    const i = upperBound(this.entries, this.head, this.entries.length, zxid, (e) => e[0]);
    if (i > this.head) return this.entries[i - 1]![0];
    const j = upperBound(this.older, this.olderHead, this.older.length, zxid, (x) => x);
    return j > this.olderHead ? this.older[j - 1]! : this.base;
  }

  private trim(): void {
    // Payloads of applied entries beyond the window become bare zxids.
    while (this.entries.length - this.head > this.window && this.entries[this.head]![0] <= this.released) {
      this.older.push(this.entries[this.head]![0]);
      this.head++;
    }
    while (this.size > this.capacity) this.dropOldest();
    // Drop dead prefixes now and then rather than shifting on every change.
    if (this.head > 1024 && this.head * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.head);
      this.head = 0;
    }
    if (this.olderHead > 1024 && this.olderHead * 2 > this.older.length) {
      this.older = this.older.slice(this.olderHead);
      this.olderHead = 0;
    }
  }

  private dropOldest(): void {
    if (this.older.length > this.olderHead) this.base = this.older[this.olderHead++]!;
    else this.base = this.entries[this.head++]![0];
  }
}

/** The first index in [lo, hi) whose key is > x (keys ascending). */
function upperBound<T>(items: readonly T[], lo: number, hi: number, x: number, key: (item: T) => number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (key(items[mid]!) <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
