/**
 * A reentrant distributed lock (Curator's InterProcessMutex). Each contender
 * creates a protected ephemeral sequential node under the lock path; the
 * lowest sequence holds the lock, every other contender watches only its
 * predecessor (no herd effect).
 *
 * The lock is held while the session is connected. When the connection is
 * lost the holder cannot know whether its session (and so its node) is still
 * alive, so, as Curator advises for SUSPENDED, the lock counts as lost at
 * once: `isHeld` turns false, `signal` aborts, and the node is deleted as
 * soon as the server can be told (or goes with the session). Another
 * contender only gets the lock after that node is gone, so two holders
 * never overlap.
 */
import type { ZooKeeperClient } from '../client.js';
import { zkError } from '../errors.js';
import type { KeeperStateName } from '../types.js';
import { bySequence, callSignal, deleteIfExists, ensurePath, protectedCreate, retrying, waitForWatch } from './util.js';

export interface AcquireOptions {
  signal?: AbortSignal;
  /** Give up (rejecting with a TimeoutError) after this many ms. */
  timeout?: number;
}

/**
 * Where a contender stands among the sorted contenders: null when it holds,
 * else the one contender whose deletion may let it hold (it watches that one).
 */
export type Ranker = (contenders: string[], index: number) => string | null;

/** The lock machinery shared by Mutex, the read and write locks and semaphore leases. */
export class SequentialLock {
  private node: string | undefined;
  private holds = 0;
  private lost = new AbortController();
  private acquiring: Promise<void> | undefined;

  constructor(
    protected readonly zk: ZooKeeperClient,
    readonly path: string,
    private readonly infix: string,
    private readonly rank: Ranker,
    /** The infixes of every kind of contender this one ranks against. */
    private readonly infixes: string[] = [infix],
    /** Wait for any change of the contenders instead of the blocker's deletion (when any of several may free a slot). */
    private readonly watchAll = false,
  ) {}

  /** True while this instance holds the lock. */
  get isHeld(): boolean {
    return this.holds > 0;
  }

  /** Aborts when the lock, held at the time, is lost to a disconnection or the end of the session. */
  get signal(): AbortSignal {
    return this.lost.signal;
  }

  /** The path of this holder's node, while it holds the lock. */
  get nodePath(): string | undefined {
    return this.isHeld ? this.node : undefined;
  }

  /**
   * Waits for the lock. Reentrant: a holder that acquires again must
   * release as many times. Rejects when `signal` aborts or `timeout`
   * passes first, or the session ends; the waiting node is removed then.
   */
  async acquire(opts: AcquireOptions = {}): Promise<void> {
    if (this.holds > 0) {
      this.holds++;
      return;
    }
    // Concurrent acquires on one instance share one attempt, then count as re-entries.
    if (this.acquiring) {
      await this.acquiring;
      this.holds++;
      return;
    }
    this.acquiring = this.attempt(callSignal(opts));
    try {
      await this.acquiring;
    } finally {
      this.acquiring = undefined;
    }
  }

  /** Takes the lock if it is free now (or already held here); never waits. */
  async tryAcquire(): Promise<boolean> {
    try {
      await this.acquire({ signal: AbortSignal.abort(new Error('not free')) });
      return true;
    } catch (err) {
      if (this.holds > 0) throw err;
      return false;
    }
  }

  /** Releases one hold; the last release deletes the node. */
  async release(): Promise<void> {
    if (this.holds === 0) throw zkError('BadArguments', this.path, 'release of a lock not held');
    if (--this.holds > 0) return;
    this.zk.off('state', this.onState);
    const node = this.node!;
    this.node = undefined;
    await deleteIfExists(this.zk, node);
  }

  /** The nodes waiting for or holding the lock, in sequence order (holders first). */
  async participants(): Promise<string[]> {
    return this.contenders(await retrying(this.zk, () => this.zk.getChildren(this.path)));
  }

  private contenders(children: string[]): string[] {
    return bySequence(children.filter((c) => this.infixes.some((x) => c.includes(x))), '');
  }

  private async attempt(signal: AbortSignal | undefined): Promise<void> {
    await ensurePath(this.zk, this.path);
    const node = await protectedCreate(this.zk, this.path, this.infix, null, 'EPHEMERAL_SEQUENTIAL');
    const name = node.slice(this.path.length + 1);
    try {
      for (;;) {
        const children = this.contenders(await retrying(this.zk, () => this.zk.getChildren(this.path)));
        const i = children.indexOf(name);
        if (i < 0) throw zkError('SessionExpired', node, 'lock node vanished: the session ended');
        const blocker = this.rank(children, i);
        if (blocker === null) break;
        // A free lock must be taken in this turn; the abort test comes before the wait, not before the check.
        signal?.throwIfAborted();
        const predecessor = `${this.path}/${blocker}`;
        await waitForWatch(
          this.zk,
          this.watchAll
            ? async (wake) => this.contenders(await this.zk.getChildren(this.path, wake)).join('/') === children.join('/')
            : async (wake) => (await this.zk.exists(predecessor, wake)) !== null,
          signal,
        );
      }
    } catch (err) {
      await deleteIfExists(this.zk, node).catch(() => undefined);
      throw err;
    }
    this.node = node;
    this.holds = 1;
    this.lost = new AbortController();
    this.zk.on('state', this.onState);
    if (this.zk.state !== 'connected') this.onState('Disconnected');
  }

  private readonly onState = (s: KeeperStateName): void => {
    if (s === 'SyncConnected' || this.holds === 0) return;
    this.holds = 0;
    this.zk.off('state', this.onState);
    const node = this.node!;
    this.node = undefined;
    this.lost.abort(zkError(s === 'Disconnected' ? 'ConnectionLoss' : 'SessionExpired', node, `lock lost: ${s}`));
    // Queued until the next connection; with an ended session the node is already gone.
    if (s === 'Disconnected') deleteIfExists(this.zk, node).catch(() => undefined);
  };
}

/** A reentrant mutual-exclusion lock: the first contender holds it. */
export class Mutex extends SequentialLock {
  constructor(zk: ZooKeeperClient, path: string) {
    super(zk, path, 'lock-', (contenders, i) => (i === 0 ? null : contenders[i - 1]!));
  }
}
