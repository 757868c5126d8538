/**
 * Group membership (the seeds' CreateGroup / JoinGroup / ListGroup example):
 * a persistent group node, each member an ephemeral child named by its id,
 * so a member leaves when it says so or when its session ends. A join whose
 * answer was lost is recognised on retry by the node's ephemeral owner.
 */
import type { ZooKeeperClient } from '../client.js';
import { isZooKeeperError, zkError } from '../errors.js';
import { Channel } from '../channel.js';
import type { Data } from '../types.js';
import { deleteIfExists, ensurePath, isTerminalState, retrying, whenConnected } from './util.js';
import type { KeeperStateName } from '../types.js';

export class GroupMembership {
  constructor(
    private readonly zk: ZooKeeperClient,
    readonly path: string,
  ) {}

  /** Adds this session to the group as `id`; NodeExists if another session already is `id`. */
  async join(id: string, data: Data = null): Promise<string> {
    await ensurePath(this.zk, this.path);
    const node = `${this.path}/${id}`;
    for (;;) {
      try {
        return await this.zk.create(node, data, { mode: 'EPHEMERAL' });
      } catch (err) {
        if (isZooKeeperError(err, 'ConnectionLoss')) {
          await whenConnected(this.zk);
          continue;
        }
        if (!isZooKeeperError(err, 'NodeExists')) throw err;
        const stat = await retrying(this.zk, () => this.zk.exists(node));
        if (stat === null) continue;
        if (stat.ephemeralOwner === this.zk.sessionId) return node;
        throw err;
      }
    }
  }

  /** Removes member `id` (this session's own membership, normally). */
  leave(id: string): Promise<void> {
    return deleteIfExists(this.zk, `${this.path}/${id}`);
  }

  /** The members' ids, sorted. */
  async members(): Promise<string[]> {
    try {
      return (await retrying(this.zk, () => this.zk.getChildren(this.path))).sort();
    } catch (err) {
      if (isZooKeeperError(err, 'NoNode')) return [];
      throw err;
    }
  }

  /** A member's data. */
  async data(id: string): Promise<Buffer | null> {
    return (await retrying(this.zk, () => this.zk.getData(`${this.path}/${id}`))).data;
  }

  /**
   * The membership now and after every change, as sorted id lists, with a
   * one-shot children watch re-armed after each event (it works on
   * ZooKeeper 3.4 servers too). Consecutive equal lists are not repeated.
   * Ends when the loop breaks, `signal` aborts or the session closes;
   * throws SessionExpired if it expires.
   */
  watch(signal?: AbortSignal): AsyncIterableIterator<string[]> {
    let last = '';
    let stopped = false;
    const stop = () => {
      stopped = true;
      this.zk.off('state', onState);
      signal?.removeEventListener('abort', onAbort);
    };
    const channel = new Channel<string[]>(stop);
    const onState = (s: KeeperStateName) => {
      if (!isTerminalState(s)) return;
      channel.end(s === 'Expired' ? zkError('SessionExpired', this.path) : undefined);
      stop();
    };
    const onAbort = () => void channel.return();
    const list = async (): Promise<void> => {
      if (stopped) return;
      try {
        await ensurePath(this.zk, this.path);
        const children = (await retrying(this.zk, () => this.zk.getChildren(this.path, () => void list()))).sort();
        const key = children.join('/');
        if (key !== last || last === '') channel.push(children);
        last = key || '\u0000';
      } catch (err) {
        if (!stopped) {
          channel.end(err);
          stop();
        }
      }
    };
    this.zk.on('state', onState);
    signal?.addEventListener('abort', onAbort, { once: true });
    void list();
    return channel;
  }
}
