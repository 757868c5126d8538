import type { Rng } from './rng.js';
import type { Scheduler } from './scheduler.js';
import type { Proc } from './process.js';

export interface BusFaults {
  /** Probability that a message is lost. */
  drop: number;
  /** Probability that a message is delivered twice. */
  duplicate: number;
  /** Delivery delay bounds in ms. */
  minDelay: number;
  maxDelay: number;
  /** Probability that a message takes up to ten times the longest delay, overtaken by those sent after it. */
  straggle: number;
}

export const CALM: BusFaults = { drop: 0, duplicate: 0, minDelay: 1, maxDelay: 1, straggle: 0 };

/**
 * The simulated bus. Point-to-point messages between processes, each with a
 * random delay, possibly lost or duplicated; in order between two processes
 * as NATS keeps one publisher's messages in order, except for stragglers,
 * which the messages after them overtake. A partition cuts a
 * direction between two processes (asymmetric when only one way is cut) at
 * send time and at delivery time, as a dead route would. A bus server
 * restart loses everything in flight and everything sent while it is down.
 */
export class SimBus<M> {
  faults: BusFaults = CALM;
  /** Directed links that are cut, each with how many faults cut it (overlapping faults heal independently). */
  private readonly cut = new Map<string, number>();
  private generation = 0;
  /** Senders (`from`) or links (`from>to`) whose messages take a slow route for a while: extra delay, in ms. */
  private readonly slow = new Map<string, number>();
  /** Per link, when its last in-order message is delivered: the next is not delivered before. */
  private readonly lastDelivery = new Map<string, number>();
  private downUntil = 0;
  readonly handlers = new Map<string, { proc: Proc; deliver: (from: string, msg: M) => void }>();
  sent = 0;
  lost = 0;

  constructor(
    private readonly sched: Scheduler,
    private readonly rng: Rng,
  ) {}

  attach(proc: Proc, deliver: (from: string, msg: M) => void): void {
    this.handlers.set(proc.id, { proc, deliver });
  }

  send(from: string, to: string, msg: M): void {
    this.sent++;
    const f = this.faults;
    if (this.sched.now < this.downUntil || this.cut.has(`${from}>${to}`) || this.rng.chance(f.drop)) {
      this.lost++;
      return;
    }
    const copies = this.rng.chance(f.duplicate) ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      const link = `${from}>${to}`;
      let at = this.sched.now + this.rng.int(f.minDelay, f.maxDelay) + (this.slow.get(from) ?? 0) + (this.slow.get(link) ?? 0);
      if (this.rng.chance(f.straggle)) at += this.rng.int(f.maxDelay, 10 * f.maxDelay);
      else {
        at = Math.max(at, this.lastDelivery.get(link) ?? 0);
        this.lastDelivery.set(link, at);
      }
      const gen = this.generation;
      this.sched.at(at, () => {
        if (gen !== this.generation || this.cut.has(`${from}>${to}`)) {
          this.lost++;
          return;
        }
        const h = this.handlers.get(to);
        h?.proc.run(() => h.deliver(from, msg));
      });
    }
  }

  /** Cuts from → to (with `both`, to → from too); returns what undoes it. */
  block(from: string, to: string, both = true): () => void {
    const links = both ? [`${from}>${to}`, `${to}>${from}`] : [`${from}>${to}`];
    for (const l of links) this.cut.set(l, (this.cut.get(l) ?? 0) + 1);
    return () => {
      for (const l of links) {
        const n = (this.cut.get(l) ?? 0) - 1;
        if (n > 0) this.cut.set(l, n);
        else this.cut.delete(l);
      }
    };
  }

  /** Splits processes into groups that cannot reach each other; returns what heals it. */
  partition(groups: readonly (readonly string[])[]): () => void {
    const undo: (() => void)[] = [];
    for (const a of groups) for (const b of groups) if (a !== b) for (const x of a) for (const y of b) undo.push(this.block(x, y, false));
    return () => undo.forEach((u) => u());
  }

  /** What `from` sends (to `to` only, if given) takes `extraMs` longer — a congested route — until the returned function is called. */
  delay(from: string, extraMs: number, to?: string): () => void {
    const key = to === undefined ? from : `${from}>${to}`;
    this.slow.set(key, extraMs);
    return () => {
      if (this.slow.get(key) === extraMs) this.slow.delete(key);
    };
  }

  /** Every cut healed at once. */
  heal(): void {
    this.cut.clear();
    this.slow.clear();
  }

  /** The bus server restarts: what is in flight is gone, and nothing passes for `downMs`. */
  restart(downMs: number): void {
    this.generation++;
    this.downUntil = this.sched.now + downMs;
  }
}
