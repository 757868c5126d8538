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

  /** The latest time by which a quorum had been heard: the quorum-th most recent. The leader (`self`) is always heard. */
  quorumHeardAt(self: string): number {
    const times = this.voters.map((v) => (v === self ? Infinity : (this.heard.get(v) ?? -Infinity))).sort((a, b) => b - a);
    return times[quorumSize(this.voters.length) - 1]!;
  }

  /** The largest zxid acked by a quorum: the quorum-th largest ack. */
  private quorumPoint(): number {
    const values = this.voters.map((v) => this.acked.get(v) ?? 0).sort((a, b) => b - a);
    return values[quorumSize(this.voters.length) - 1]!;
  }
}
