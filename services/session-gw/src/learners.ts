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

  /** Records an announcement; true when a learner this gateway could pin to says it stopped serving. */
  observe(p: Presence, now: number): boolean {
    if (p.kind === 'gateway') return false;
    if (!p.serving) return this.seen.delete(p.id);
    this.seen.set(p.id, { presence: p, at: now });
    this.pinnedSince.delete(p.id);
    return false;
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
