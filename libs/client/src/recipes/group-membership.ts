/**
 * Group membership (the seeds' CreateGroup / JoinGroup / ListGroup example):
 * a persistent group node, each member an ephemeral child named by its id,
 * so a member leaves when it says so or when its session ends. A join whose
 * answer was lost is recognised on retry by the node's ephemeral owner.
 * When the session expires and the client renews it (`renewOnExpiry`), the
 * members this instance joined join again in the new session, as Curator's
 * GroupMember (a PersistentNode) re-creates its node.
 */
import { EventEmitter } from 'node:events';
import type { ZooKeeperClient } from '../client.js';
import { isZooKeeperError, zkError } from '../errors.js';
import { Channel } from '../channel.js';
import type { Data } from '../types.js';
import { clientEnded, deleteIfExists, ensurePath, isTerminalState, retrying, whenConnected } from './util.js';
import type { KeeperStateName } from '../types.js';

export interface GroupMembershipEvents {
  /** Member `id` joined again, as `path`, in the session that replaced an expired one. */
  rejoined: [id: string, path: string];
  /** Member `id` could not join again in the new session (NodeExists: another session took the id). */
  rejoinFailed: [id: string, err: Error];
}

export class GroupMembership extends EventEmitter<GroupMembershipEvents> {
  /** The members joined through this instance and not left, with their data: what a new session re-creates. */
  private readonly joined = new Map<string, Data>();
  private renewing = false;

  constructor(
    private readonly zk: ZooKeeperClient,
    readonly path: string,
  ) {
    super();
  }

  /** Adds this session to the group as `id`; NodeExists if another session already is `id`. */
  async join(id: string, data: Data = null): Promise<string> {
    const node = await this.create(id, data);
    if (this.joined.size === 0) this.zk.on('state', this.onState);
    this.joined.set(id, data);
    return node;
  }

  private async create(id: string, data: Data): Promise<string> {
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
    if (this.joined.delete(id) && this.joined.size === 0) this.zk.off('state', this.onState);
    return deleteIfExists(this.zk, `${this.path}/${id}`);
  }

  private readonly onState = (s: KeeperStateName): void => {
    if (s === 'Expired' && !clientEnded(this.zk)) this.renewing = true;
    else if (s === 'SyncConnected' && this.renewing) {
      this.renewing = false;
      void this.rejoin();
    } else if (isTerminalState(s)) this.zk.off('state', this.onState);
  };

  private async rejoin(): Promise<void> {
    for (const [id, data] of this.joined) {
      try {
        const node = await this.create(id, data);
        if (this.joined.has(id)) this.emit('rejoined', id, node);
        else await deleteIfExists(this.zk, node);
      } catch (err) {
        // Expired again: the next session's SyncConnected starts over.
        if (isZooKeeperError(err, 'SessionExpired')) return;
        this.emit('rejoinFailed', id, err as Error);
      }
    }
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
   * throws SessionExpired if it expires, unless the client renews it
   * (`renewOnExpiry`): then it goes on with the new session's members.
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
    let renewed = false;
    const onState = (s: KeeperStateName) => {
      // The watch went with the expired session: list again, with a new one, in the next.
      if (s === 'Expired' && !clientEnded(this.zk)) renewed = true;
      else if (s === 'SyncConnected' && renewed) {
        renewed = false;
        void list();
      }
      if (!isTerminalState(s) || !clientEnded(this.zk)) return;
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
        if (isZooKeeperError(err, 'SessionExpired') && !clientEnded(this.zk)) return;
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
