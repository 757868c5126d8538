/**
 * A double barrier (Curator's DistributedDoubleBarrier): `enter` waits
 * until `memberQty` members have entered, `leave` until every member has
 * left. Members are ephemeral nodes named by id (a lost create is
 * recognised by its ephemeral owner); the member that completes the group
 * creates a `ready` node that releases the others' `enter`.
 */
import type { ZooKeeperClient } from '../client.js';
import { isZooKeeperError } from '../errors.js';
import { callSignal, deleteIfExists, ensurePath, retrying, waitForWatch } from './util.js';
import { GroupMembership } from './group-membership.js';

const READY = 'ready';

export class DoubleBarrier {
  private readonly group: GroupMembership;

  constructor(
    private readonly zk: ZooKeeperClient,
    readonly path: string,
    readonly memberQty: number,
    readonly id: string,
  ) {
    if (id === READY) throw new RangeError(`"${READY}" is reserved`);
    this.group = new GroupMembership(zk, path);
  }

  /** Joins and waits until `memberQty` members have; rejects on abort, timeout or session end. */
  async enter(opts: { signal?: AbortSignal; timeout?: number } = {}): Promise<void> {
    const signal = callSignal(opts);
    await ensurePath(this.zk, this.path);
    await this.group.join(this.id);
    const readyPath = `${this.path}/${READY}`;
    if ((await this.members()).length >= this.memberQty) {
      try {
        await retrying(this.zk, () => this.zk.create(readyPath));
      } catch (err) {
        if (!isZooKeeperError(err, 'NodeExists')) throw err;
      }
      return;
    }
    await waitForWatch(this.zk, async (wake) => (await this.zk.exists(readyPath, wake)) === null, signal);
  }

  /** Leaves and waits until every member has left; the last one out removes the `ready` node. */
  async leave(opts: { signal?: AbortSignal; timeout?: number } = {}): Promise<void> {
    const signal = callSignal(opts);
    await this.group.leave(this.id);
    for (;;) {
      let remaining: string[] = [];
      await waitForWatch(
        this.zk,
        async (wake) => {
          remaining = (await this.zk.getChildren(this.path, wake)).filter((c) => c !== READY);
          return remaining.length > 0;
        },
        signal,
      );
      if (remaining.length === 0) break;
    }
    await deleteIfExists(this.zk, `${this.path}/${READY}`);
  }

  private async members(): Promise<string[]> {
    return (await this.group.members()).filter((c) => c !== READY);
  }
}
