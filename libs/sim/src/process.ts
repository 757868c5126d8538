import type { Scheduler } from './scheduler.js';

/**
 * A simulated process: alive or crashed, possibly paused (SIGSTOP, a long GC,
 * a VM stall). Everything that runs on a process — a message handler, a
 * timer — goes through `run`, which drops it when the process has crashed
 * since it was scheduled and holds it back while the process is paused.
 */
export class Proc {
  alive = true;
  /** Bumped by every crash: work scheduled by an earlier life is void. */
  incarnation = 0;
  pausedUntil = 0;

  constructor(
    readonly id: string,
    private readonly sched: Scheduler,
  ) {}

  /** Runs `fn` on this process now, or when its pause ends; never if it crashes first. */
  run(fn: () => void, incarnation = this.incarnation): void {
    if (!this.alive || incarnation !== this.incarnation) return;
    if (this.sched.now < this.pausedUntil) {
      this.sched.at(this.pausedUntil, () => this.run(fn, incarnation));
      return;
    }
    fn();
  }

  /** A timer of this life of the process. */
  after(delay: number, fn: () => void): void {
    const inc = this.incarnation;
    this.sched.after(delay, () => this.run(fn, inc));
  }

  crash(): void {
    this.alive = false;
    this.incarnation++;
  }

  restart(): void {
    this.alive = true;
    this.pausedUntil = 0;
  }

  pause(ms: number): void {
    this.pausedUntil = Math.max(this.pausedUntil, this.sched.now + ms);
  }
}
