/**
 * The leader's view of session liveness. Gateways report the sessions that
 * hold a live connection every half tick; a session the leader has not heard
 * of for its whole timeout is expired. Only the leader's clock counts: a
 * learner or gateway never expires a session on its own.
 */
export class SessionTracker {
  private readonly lastHeard = new Map<bigint, number>();
  private readonly timeouts = new Map<bigint, number>();
  private readonly expiring = new Set<bigint>();

  /** A session exists (created, or found at start-up): its clock starts now. */
  add(sessionId: bigint, timeout: number, now: number): void {
    this.timeouts.set(sessionId, timeout);
    this.lastHeard.set(sessionId, now);
  }

  remove(sessionId: bigint): void {
    this.timeouts.delete(sessionId);
    this.lastHeard.delete(sessionId);
    this.expiring.delete(sessionId);
  }

  touch(sessionIds: Iterable<bigint>, now: number): void {
    for (const id of sessionIds) if (this.lastHeard.has(id)) this.lastHeard.set(id, now);
  }

  /** Sessions whose timeout has passed, each reported once. */
  expired(now: number): bigint[] {
    const out: bigint[] = [];
    for (const [id, heard] of this.lastHeard) {
      if (this.expiring.has(id)) continue;
      if (now - heard > this.timeouts.get(id)!) {
        this.expiring.add(id);
        out.push(id);
      }
    }
    return out;
  }

  get size(): number {
    return this.lastHeard.size;
  }
}
