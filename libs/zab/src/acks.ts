import { assert } from './assert.js';
import { quorumSize } from './quorum.js';

/**
 * A configuration change in flight: the proposal at `zxid` makes `voters`
 * the voter set once it commits. `before` is the zxid proposed just before
 * it, the highest point the committed voters alone may still commit.
 */
export interface PendingConfig {
  zxid: number;
  before: number;
  voters: readonly string[];
}

/**
 * Cumulative acknowledgements of the voters that are in sync with the
 * leader. A zxid is committed once a quorum of all voters — the leader
 * included — has it on disk. Lost acks are repaired by the next one.
 *
 * While a configuration change is pending (ZooKeeper's reconfig), the change
 * and every proposal after it need a quorum of the committed voters AND a
 * quorum of the proposed ones (ZooKeeper's SyncedLearnerTracker.hasAllQuorums),
 * so no decision from the change onward can be taken by one side's quorum
 * that the other side's quorum never saw. Once it commits, the new voters
 * alone count.
 */
export class AckTracker {
  private readonly acked = new Map<string, number>();
  private readonly heard = new Map<string, number>();
  private committed: number;
  private current: readonly string[];
  private next: PendingConfig | undefined;

  constructor(voters: readonly string[], committed: number) {
    this.current = voters;
    this.committed = committed;
  }

  /** The committed voter set. */
  get voters(): readonly string[] {
    return this.current;
  }

  get pending(): PendingConfig | undefined {
    return this.next;
  }

  /** A configuration change was proposed at `c.zxid`: from it on, both voter sets must ack. */
  propose(c: PendingConfig): void {
    // One change at a time (RECONFIGINPROGRESS before this): there is never a third configuration to reconcile.
    assert(this.next === undefined, 'a configuration change is already pending');
    assert(c.zxid > this.committed && c.before < c.zxid, `configuration change at ${c.zxid} is not ahead of the commit point ${this.committed}`);
    assert(c.voters.length > 0, 'a configuration has at least one voter');
    this.next = { ...c, voters: [...c.voters] };
  }

  /** Whether `from`'s acks count: a voter of the committed or the pending configuration. */
  counts(from: string): boolean {
    return this.current.includes(from) || (this.next?.voters.includes(from) ?? false);
  }

  /** Records an ack; returns the new commit point if it advanced. */
  ack(from: string, zxid: number, now: number): number | undefined {
    if (!this.counts(from)) return undefined;
    this.heard.set(from, now);
    if (zxid > (this.acked.get(from) ?? 0)) this.acked.set(from, zxid);
    const point = this.quorumPoint();
    if (point <= this.committed) return undefined;
    this.committed = point;
    if (this.next && point >= this.next.zxid) {
      // The change is committed: its voters are the configuration now.
      this.current = this.next.voters;
      this.next = undefined;
    }
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

  /** The members (of either configuration) that have acked `zxid` or later: for invariant checks. */
  ackedAtLeast(zxid: number): string[] {
    return [...this.acked].filter(([, z]) => z >= zxid).map(([id]) => id);
  }

  /**
   * The latest time by which a quorum had been heard: the quorum-th most
   * recent, and while a change is pending the earlier of both configurations'
   * (the leader needs both to commit anything). The leader (`self`) is always heard.
   */
  quorumHeardAt(self: string): number {
    const at = (voters: readonly string[]) => {
      const times = voters.map((v) => (v === self ? Infinity : (this.heard.get(v) ?? -Infinity))).sort((a, b) => b - a);
      return times[quorumSize(voters.length) - 1]!;
    };
    return this.next ? Math.min(at(this.current), at(this.next.voters)) : at(this.current);
  }

  /** The largest zxid acked by a quorum of `voters`: the quorum-th largest ack. */
  private pointOf(voters: readonly string[]): number {
    const values = voters.map((v) => this.acked.get(v) ?? 0).sort((a, b) => b - a);
    return values[quorumSize(voters.length) - 1]!;
  }

  /** The commit point the acks allow: the committed voters' quorum point, held below a pending change until its voters have a quorum too. */
  private quorumPoint(): number {
    const old = this.pointOf(this.current);
    const c = this.next;
    if (!c || old < c.zxid) return old;
    const nw = this.pointOf(c.voters);
    return nw >= c.zxid ? Math.min(old, nw) : c.before;
  }
}
