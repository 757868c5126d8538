/**
 * A distributed FIFO queue (Curator's DistributedQueue, ZooKeeper's queue
 * recipe). `put` adds a protected persistent sequential node, so an item
 * whose create was cut off is neither lost nor added twice. `take` claims
 * the oldest unclaimed item by compare-and-set (setData at version 0 with a
 * claim tag of its own) before deleting it, so two consumers never both
 * get an item, and a consumer whose claim was cut off can tell from the tag
 * whether the item is its own. Delivery is at most once: an item claimed by
 * a consumer that then dies is gone with it.
 */
import { randomUUID } from 'node:crypto';
import type { ZooKeeperClient } from '../client.js';
import { isZooKeeperError } from '../errors.js';
import type { Data } from '../types.js';
import { bySequence, callSignal, deleteIfExists, ensurePath, protectedCreate, retrying, waitForWatch } from './util.js';

const ITEM = 'qn-';
const CLAIM = '\u0000zooid-claim:';

export class Queue {
  constructor(
    private readonly zk: ZooKeeperClient,
    readonly path: string,
  ) {}

  /** Appends an item; resolves to its node's path. */
  async put(data: Data): Promise<string> {
    await ensurePath(this.zk, this.path);
    return protectedCreate(this.zk, this.path, ITEM, data, 'PERSISTENT_SEQUENTIAL');
  }

  /** Removes and returns the oldest item, or null when the queue is empty. */
  async poll(): Promise<Buffer | null> {
    for (const name of await this.items()) {
      const got = await this.claim(`${this.path}/${name}`);
      if (got !== undefined) return got;
    }
    return null;
  }

  /** Removes and returns the oldest item, waiting for one; rejects on abort or timeout. */
  async take(opts: { signal?: AbortSignal; timeout?: number } = {}): Promise<Buffer> {
    const signal = callSignal(opts);
    await ensurePath(this.zk, this.path);
    for (;;) {
      const got = await this.poll();
      if (got !== null) return got;
      signal?.throwIfAborted();
      await waitForWatch(
        this.zk,
        async (wake) => (await this.zk.getChildren(this.path, wake)).filter((c) => c.includes(ITEM)).length === 0,
        signal,
      );
    }
  }

  /** How many items wait (claimed ones not yet deleted included). */
  async size(): Promise<number> {
    return (await this.items()).length;
  }

  private async items(): Promise<string[]> {
    try {
      return bySequence(await retrying(this.zk, () => this.zk.getChildren(this.path)), ITEM);
    } catch (err) {
      if (isZooKeeperError(err, 'NoNode')) return [];
      throw err;
    }
  }

  /** The item's data and version, or undefined once another consumer has taken it. */
  private async read(node: string): Promise<{ data: Buffer | null; stat: { version: number } } | undefined> {
    try {
      return await retrying(this.zk, () => this.zk.getData(node));
    } catch (err) {
      if (isZooKeeperError(err, 'NoNode')) return undefined;
      throw err;
    }
  }

  /** The item's data if this consumer claimed it; undefined if another one did. */
  private async claim(node: string): Promise<Buffer | null | undefined> {
    const item = await this.read(node);
    if (item === undefined || item.stat.version !== 0) return undefined;
    const tag = CLAIM + randomUUID();
    for (;;) {
      try {
        await this.zk.setData(node, tag, 0);
        break;
      } catch (err) {
        if (isZooKeeperError(err, 'BadVersion') || isZooKeeperError(err, 'NoNode')) return undefined;
        if (!isZooKeeperError(err, 'ConnectionLoss')) throw err;
        const now = await this.read(node);
        if (now === undefined) return undefined;
        if (now.data?.toString() === tag) break;
        if (now.stat.version !== 0) return undefined;
      }
    }
    await deleteIfExists(this.zk, node);
    return item.data ?? Buffer.alloc(0);
  }
}
