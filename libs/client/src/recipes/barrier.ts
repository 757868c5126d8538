/**
 * A barrier (Curator's DistributedBarrier): while the barrier node exists,
 * `wait` blocks; removing the node releases every waiter. The node is
 * persistent, so the barrier outlives the session that set it.
 */
import type { ZooKeeperClient } from '../client.js';
import { isZooKeeperError } from '../errors.js';
import { callSignal, deleteIfExists, ensurePath, retrying, waitForWatch } from './util.js';

export class Barrier {
  constructor(
    private readonly zk: ZooKeeperClient,
    readonly path: string,
  ) {}

  /** Raises the barrier (creating its node); raising it twice is fine. */
  async set(): Promise<void> {
    const parent = this.path.slice(0, this.path.lastIndexOf('/')) || '/';
    await ensurePath(this.zk, parent);
    try {
      await retrying(this.zk, () => this.zk.create(this.path));
    } catch (err) {
      if (!isZooKeeperError(err, 'NodeExists')) throw err;
    }
  }

  /** Lowers the barrier, releasing every waiter. */
  remove(): Promise<void> {
    return deleteIfExists(this.zk, this.path);
  }

  /** Resolves once the barrier is down (at once if it is); rejects on abort, timeout or session end. */
  async wait(opts: { signal?: AbortSignal; timeout?: number } = {}): Promise<void> {
    const signal = callSignal(opts);
    // A watch event may come from a re-creation too, so the node is checked again after each.
    do {
      await waitForWatch(this.zk, async (wake) => (await this.zk.exists(this.path, wake)) !== null, signal);
    } while (await retrying(this.zk, () => this.zk.exists(this.path), signal));
  }
}
