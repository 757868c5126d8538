/**
 * A shared integer (Curator's SharedCount / DistributedAtomicLong): a
 * decimal number in one znode, changed only by compare-and-set on the
 * znode's version, so concurrent updates never lose each other.
 *
 * A write whose answer is lost to a disconnection has an unknown outcome.
 * The counter reads the node back: an unchanged version means the write did
 * not happen and it is retried; any other version means it cannot know, and
 * the call rejects with ConnectionLoss rather than risk counting twice.
 */
import type { ZooKeeperClient } from '../client.js';
import { isZooKeeperError, zkError } from '../errors.js';
import { ensurePath, retrying } from './util.js';

export class SharedCounter {
  constructor(
    private readonly zk: ZooKeeperClient,
    readonly path: string,
    private readonly initial = 0,
  ) {}

  /** The value and the version a `trySet` must name. */
  async read(): Promise<{ value: number; version: number }> {
    for (;;) {
      try {
        const { data, stat } = await retrying(this.zk, () => this.zk.getData(this.path));
        return { value: parse(data, this.path), version: stat.version };
      } catch (err) {
        if (!isZooKeeperError(err, 'NoNode')) throw err;
        await this.create();
      }
    }
  }

  async get(): Promise<number> {
    return (await this.read()).value;
  }

  /** Sets the value if it is still at `version`; false when someone changed it first. */
  async trySet(value: number, version: number): Promise<boolean> {
    try {
      await this.zk.setData(this.path, String(value), version);
      return true;
    } catch (err) {
      if (isZooKeeperError(err, 'BadVersion')) return false;
      if (!isZooKeeperError(err, 'ConnectionLoss')) throw err;
      const now = await this.read();
      if (now.version === version) return this.trySet(value, version);
      throw zkError('ConnectionLoss', this.path, 'write outcome unknown: the counter changed while disconnected');
    }
  }

  /** Adds `delta` atomically; resolves to the new value. */
  async add(delta: number): Promise<number> {
    for (;;) {
      const { value, version } = await this.read();
      if (await this.trySet(value + delta, version)) return value + delta;
    }
  }

  increment(): Promise<number> {
    return this.add(1);
  }

  decrement(): Promise<number> {
    return this.add(-1);
  }

  private async create(): Promise<void> {
    const parent = this.path.slice(0, this.path.lastIndexOf('/')) || '/';
    await ensurePath(this.zk, parent);
    try {
      await retrying(this.zk, () => this.zk.create(this.path, String(this.initial)));
    } catch (err) {
      if (!isZooKeeperError(err, 'NodeExists')) throw err;
    }
  }
}

function parse(data: Buffer | null, path: string): number {
  const n = Number(data?.toString() ?? '');
  if (data === null || data.length === 0 || !Number.isSafeInteger(n)) throw zkError('BadArguments', path, `not a counter: ${data?.toString()}`);
  return n;
}
