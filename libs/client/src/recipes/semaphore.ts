/**
 * A counting semaphore of leases (Curator's InterProcessSemaphoreV2): at
 * most `maxLeases` holders at once. Each lease is a protected ephemeral
 * sequential node; the first `maxLeases` in sequence order hold. Sequence
 * numbers only grow, so a holder's rank only improves and the bound holds.
 * A waiter re-ranks on any change of the contenders, since the release of
 * any lease ahead of it may free a slot. Like a held Mutex, a lease is lost
 * (its `signal` aborts) the moment the connection is.
 */
import type { ZooKeeperClient } from '../client.js';
import { SequentialLock, type AcquireOptions } from './mutex.js';

/** One held lease: release it when done; `signal` aborts if it is lost. */
export type Lease = Pick<SequentialLock, 'release' | 'signal' | 'isHeld' | 'nodePath'>;

export class Semaphore {
  constructor(
    private readonly zk: ZooKeeperClient,
    readonly path: string,
    readonly maxLeases: number,
  ) {
    if (!Number.isInteger(maxLeases) || maxLeases < 1) throw new RangeError(`maxLeases must be a positive integer, not ${maxLeases}`);
  }

  /** Waits for a lease; rejects on abort, timeout or the end of the session. */
  async acquire(opts: AcquireOptions = {}): Promise<Lease> {
    const n = this.maxLeases;
    const lease = new SequentialLock(this.zk, this.path, 'lease-', (c, i) => (i < n ? null : c[i - n]!), ['lease-'], true);
    await lease.acquire(opts);
    return lease;
  }

  /** The lease nodes, holders first. */
  participants(): Promise<string[]> {
    return new SequentialLock(this.zk, this.path, 'lease-', () => null).participants();
  }
}
