import { assert } from './assert.js';
import { quorumSize } from './quorum.js';

/**
 * Cumulative acknowledgements of the voters that are in sync with the
 * leader. A zxid is committed once a quorum of all voters — the leader
 * included — has it on disk. Lost acks are repaired by the next one.
 */
export class AckTracker {
  private readonly acked = new Map<string, number>();
  private readonly heard = new Map<string, number>();
  private committed: number;

  constructor(
    private readonly voters: readonly string[],
    committed: number,
  ) {
    this.committed = committed;
  }

  /** Records an ack; returns the new commit point if it advanced. */
  ack(from: string, zxid: number, now: number): number | undefined {
    if (!this.voters.includes(from)) return undefined;
    this.heard.set(from, now);
    if (zxid > (this.acked.get(from) ?? 0)) this.acked.set(from, zxid);
    const point = this.quorumPoint();
    if (point <= this.committed) return undefined;
    assert(point > this.committed, 'commit point never goes back');
    this.committed = point;
    return point;
  }

  /** A voter left the ensemble's sync set (went away, resyncing). */
  drop(from: string): void {
    this.acked.delete(from);
    this.heard.delete(from);
  }

  get commitPoint(): number {
    return this.committed;
  }

  /** Whether a quorum (the leader counts as heard) has been heard since `since`. */
  quorumHeardSince(since: number, self: string): boolean {
    let n = 0;
    for (const v of this.voters) if (v === self || (this.heard.get(v) ?? -Infinity) >= since) n++;
    return n >= quorumSize(this.voters.length);
  }

  /** The largest zxid acked by a quorum: the quorum-th largest ack. */
  private quorumPoint(): number {
    const values = this.voters.map((v) => this.acked.get(v) ?? 0).sort((a, b) => b - a);
    return values[quorumSize(this.voters.length) - 1]!;
  }
}
