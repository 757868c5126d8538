/**
 * Discrete-event scheduler: one simulated global time, events ordered by
 * (time, insertion number), so equal times keep the order they were
 * scheduled in and a run depends on nothing but its seed.
 */
interface Event {
  at: number;
  seq: number;
  fn: () => void;
}

/** Enough turns of the microtask queue for an `await` chain a resolved flush sets off to finish. */
const MICROTASK_HOPS = 4;

export class Scheduler {
  now = 0;
  private seq = 0;
  private readonly heap: Event[] = [];
  /** Events run so far. */
  steps = 0;
  private resolved = false;

  at(time: number, fn: () => void): void {
    this.push({ at: Math.max(time, this.now), seq: this.seq++, fn });
  }

  after(delay: number, fn: () => void): void {
    this.at(this.now + delay, fn);
  }

  /** Runs events up to and including time `until`. */
  runUntil(until: number): void {
    while (this.heap.length > 0 && this.heap[0]!.at <= until) this.next();
    this.now = Math.max(this.now, until);
  }

  /**
   * As runUntil, for code that awaits promises the simulation resolves (the
   * leader's write pipeline awaits its log's flush): after an event that
   * resolved one, the microtasks it started run before the next event, so
   * the order stays a function of the seed.
   */
  async runUntilAsync(until: number): Promise<void> {
    while (this.heap.length > 0 && this.heap[0]!.at <= until) {
      this.next();
      while (this.resolved) {
        this.resolved = false;
        for (let i = 0; i < MICROTASK_HOPS; i++) await null;
      }
    }
    this.now = Math.max(this.now, until);
  }

  /** Resolves a promise from inside an event, and lets what awaits it run before the next event. */
  resolve(fn: () => void): void {
    this.resolved = true;
    fn();
  }

  private next(): void {
    const e = this.pop();
    this.now = e.at;
    this.steps++;
    e.fn();
  }

  private push(e: Event): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): Event {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

function before(a: Event, b: Event): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}

/**
 * A process's own clock: offset and drift from the simulated time (skew), so
 * timeouts judged on different processes disagree as real clocks do.
 */
export class SkewedClock {
  constructor(
    private readonly sched: Scheduler,
    readonly offsetMs: number,
    /** Parts per million faster (+) or slower (−) than simulated time. */
    readonly driftPpm: number,
  ) {}

  now(): number {
    return Math.floor(this.sched.now + (this.sched.now * this.driftPpm) / 1e6 + this.offsetMs);
  }
}
