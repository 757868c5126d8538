import type { Presence } from '@zooid/protocol';

/** A learner not heard from for this long is taken as gone. */
export const PRESENCE_TTL_MS = 3_000;

interface Seen {
  presence: Presence;
  at: number;
}

/**
 * The learners this gateway can pin sessions to, learned from the presence
 * announcements every member and observer publishes.
 */
export class LearnerDirectory {
  private readonly seen = new Map<string, Seen>();
  /** Sessions this gateway pinned to each learner since its last announcement. */
  private readonly pinnedSince = new Map<string, number>();

  /**
   * Records an announcement. Returns the learners this gateway could pin to
   * that no longer serve: the announcer, if it says it stopped; and, when it
   * serves in a newer epoch than others were last heard serving in, those
   * others — the ensemble has moved on without them (a dead or frozen
   * leader, a follower that has not noticed yet), so there is no need to
   * wait for their announcements to time out.
   */
  observe(p: Presence, now: number): string[] {
    if (p.kind === 'gateway') return [];
    let newest = -1;
    // Its own earlier word does not count: a member restarted on a wiped data directory starts over at epoch 1.
    for (const [id, s] of this.seen) if (id !== p.id && now - s.at <= PRESENCE_TTL_MS && s.presence.epoch > newest) newest = s.presence.epoch;
    // A learner still serving an epoch the others have left counts as stopped.
    if (!p.serving || p.epoch < newest) return this.seen.delete(p.id) ? [p.id] : [];
    this.seen.set(p.id, { presence: p, at: now });
    this.pinnedSince.delete(p.id);
    const left: string[] = [];
    if (p.epoch > newest) {
      for (const [id, s] of this.seen) {
        if (s.presence.epoch >= p.epoch) continue;
        this.seen.delete(id);
        left.push(id);
      }
    }
    return left;
  }

  /** The least loaded live learner, or undefined when none is known. */
  choose(now: number): string | undefined {
    let best: string | undefined;
    let bestLoad = Infinity;
    for (const [id, s] of this.seen) {
      if (now - s.at > PRESENCE_TTL_MS) continue;
      const load = s.presence.sessions + (this.pinnedSince.get(id) ?? 0);
      if (load < bestLoad) {
        best = id;
        bestLoad = load;
      }
    }
    if (best !== undefined) this.pinnedSince.set(best, (this.pinnedSince.get(best) ?? 0) + 1);
    return best;
  }

  isAlive(id: string, now: number): boolean {
    const s = this.seen.get(id);
    return s !== undefined && now - s.at <= PRESENCE_TTL_MS;
  }

  /** Learners whose announcements stopped, removed from the directory. */
  expire(now: number): string[] {
    const gone: string[] = [];
    for (const [id, s] of this.seen) {
      if (now - s.at > PRESENCE_TTL_MS) {
        this.seen.delete(id);
        gone.push(id);
      }
    }
    return gone;
  }

  /** The newest announcement of each live learner. */
  all(): Presence[] {
    return [...this.seen.values()].map((s) => s.presence);
  }
}
