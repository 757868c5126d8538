import type { LogEntry } from '@zooid/protocol';
import { assert } from './assert.js';

export type SyncPlan = { mode: 'diff'; from: number } | { mode: 'trunc'; truncTo: number } | { mode: 'snap' };

/**
 * The leader's recent history in memory: the logged transactions after
 * `base`, oldest first, at most about `capacity` of them. A learner whose log
 * ends inside it is brought up to date by DIFF, after a TRUNC if it holds a
 * tail the leader does not; one that is further behind gets a SNAP.
 */
export class History {
  private entries: LogEntry[] = [];
  private head = 0;

  constructor(
    /** The zxid just before the first entry: a learner there can DIFF everything. */
    private base: number,
    private readonly capacity = 50_000,
  ) {}

  append(e: LogEntry): void {
    assert(e[0] > this.last, `history zxid must increase: ${e[0]} after ${this.last}`);
    this.entries.push(e);
    if (this.entries.length - this.head > this.capacity) {
      this.base = this.entries[this.head]![0];
      this.head++;
      // Drop the dead prefix now and then rather than shifting on every append.
      if (this.head >= this.capacity) {
        this.entries = this.entries.slice(this.head);
        this.head = 0;
      }
    }
  }

  get last(): number {
    return this.entries.length > this.head ? this.entries[this.entries.length - 1]![0] : this.base;
  }

  /** Entries with zxid > after, in order. */
  after(after: number): LogEntry[] {
    return this.entries.slice(this.indexAfter(after));
  }

  private indexAfter(zxid: number): number {
    let lo = this.head;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.entries[mid]![0] <= zxid) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** How to bring a learner whose log ends at `learnerLast` to our last entry. */
  plan(learnerLast: number): SyncPlan {
    if (learnerLast > this.last) return { mode: 'trunc', truncTo: this.last };
    if (learnerLast < this.base) return { mode: 'snap' };
    if (learnerLast === this.base) return { mode: 'diff', from: learnerLast };
    const i = this.indexAfter(learnerLast) - 1;
    if (this.entries[i]![0] === learnerLast) return { mode: 'diff', from: learnerLast };
    // The learner holds a proposal we never had (uncommitted in an older
    // epoch): cut back to the last point our histories share.
    return { mode: 'trunc', truncTo: i >= this.head ? this.entries[i]![0] : this.base };
  }
}
