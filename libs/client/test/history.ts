/**
 * Recorded histories for recipe safety: each participant appends what it
 * believes (it holds the lock, it leads) as events in one process, so the
 * log's order is the order the beliefs changed. The checker finds any
 * moment where two participants held at once.
 */
export type HoldEvent = { who: string; what: 'begin' | 'end' };

export class History {
  readonly events: HoldEvent[] = [];
  begin(who: string): void {
    this.events.push({ who, what: 'begin' });
  }
  end(who: string): void {
    this.events.push({ who, what: 'end' });
  }
  /** How many holds began. */
  holds(): number {
    return this.events.filter((e) => e.what === 'begin').length;
  }
  /** How many holds of `who` ended. */
  ends(who: string): number {
    return this.events.filter((e) => e.who === who && e.what === 'end').length;
  }
  /** Every overlap: a begin while someone else still held. Empty when exclusion held throughout. */
  overlaps(): string[] {
    const holding = new Set<string>();
    const bad: string[] = [];
    this.events.forEach((e, i) => {
      if (e.what === 'begin') {
        if (holding.size > 0) bad.push(`#${i}: ${e.who} began while ${[...holding].join(',')} held`);
        holding.add(e.who);
      } else holding.delete(e.who);
    });
    return bad;
  }
}
