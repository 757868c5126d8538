/**
 * Leader election by selection (Curator's LeaderSelector): participants
 * queue on a Mutex; the holder leads for as long as its `lead` callback
 * runs, then gives leadership up. The callback's signal aborts when it must
 * stop: leadership lost with the connection, `relinquish()`, or `close()`.
 * With `autoRequeue` a participant queues again after each term.
 */
import type { ZooKeeperClient } from '../client.js';
import { Mutex } from './mutex.js';

export interface LeaderElectionOptions {
  /** Queue again after each term (default false: lead at most once). */
  autoRequeue?: boolean;
  /** Errors thrown by `lead`, which otherwise end the term silently. */
  onError?: (err: unknown) => void;
}

export class LeaderElection {
  private readonly mutex: Mutex;
  private readonly closed = new AbortController();
  /** The current term: ended by relinquish(), or by its signal's other sources (the lock lost, close()). */
  private term: { controller: AbortController; signal: AbortSignal } | undefined;
  private loop: Promise<void> | undefined;

  constructor(
    private readonly zk: ZooKeeperClient,
    readonly path: string,
    private readonly lead: (signal: AbortSignal) => Promise<void>,
    private readonly opts: LeaderElectionOptions = {},
  ) {
    this.mutex = new Mutex(zk, path);
  }

  /** True while this participant's `lead` runs with leadership held. */
  get hasLeadership(): boolean {
    return this.term !== undefined && !this.term.signal.aborted && this.mutex.isHeld;
  }

  /** Joins the queue; `lead` is called each time this participant's turn comes. */
  start(): void {
    this.loop ??= this.run();
  }

  /** Ends the current term: its signal aborts and, once `lead` returns, the next participant leads. */
  relinquish(): void {
    this.term?.controller.abort(new Error('leadership relinquished'));
  }

  /** Leaves the election, ending any term; resolves once the lock is released. */
  async close(): Promise<void> {
    this.closed.abort(new Error('leader election closed'));
    await this.loop;
  }

  private async run(): Promise<void> {
    do {
      try {
        await this.mutex.acquire({ signal: this.closed.signal });
      } catch {
        const s = this.zk.state;
        if (this.closed.signal.aborted || s === 'closed' || s === 'expired' || s === 'authFailed') return;
        continue;
      }
      const controller = new AbortController();
      // Kept on the instance for the whole term: a combined signal referenced only by listeners may be collected before it fires.
      const term = (this.term = { controller, signal: AbortSignal.any([controller.signal, this.mutex.signal, this.closed.signal]) });
      try {
        // A free lock is taken even when close() or a lost connection came first; a term begun with an aborted signal would never hear the abort.
        if (!term.signal.aborted) await this.lead(term.signal);
      } catch (err) {
        this.opts.onError?.(err);
      } finally {
        controller.abort(new Error('term over'));
        this.term = undefined;
        if (this.mutex.isHeld) await this.mutex.release().catch(() => undefined);
      }
    } while (this.opts.autoRequeue && !this.closed.signal.aborted);
  }
}
