/**
 * Leader election by latch (Curator's LeaderLatch): every participant
 * creates a protected ephemeral sequential node; the lowest is the leader,
 * each other participant watches its predecessor.
 *
 * Leadership needs a live connection: on Disconnected the leader steps
 * down at once (`notLeader`), since its session may be expiring and another
 * participant may be about to lead; on reconnection within the session it
 * checks again and takes leadership back if its node is still first. When
 * the session expires and the client renews it (`renewOnExpiry`), the latch
 * joins again in the new session with a new node, as Curator's latch resets
 * after LOST; when the client ends, the latch closes. So two participants
 * never both believe they lead.
 */
import { EventEmitter } from 'node:events';
import type { ZooKeeperClient } from '../client.js';
import { isZooKeeperError, zkError } from '../errors.js';
import type { KeeperStateName } from '../types.js';
import { bySequence, callSignal, clientEnded, deleteIfExists, ensurePath, protectedCreate, retrying, isTerminalState } from './util.js';

export interface LeaderLatchEvents {
  isLeader: [];
  notLeader: [];
  /** The latch stopped for good: closed, or its session ended. */
  closed: [reason?: Error];
}

export class LeaderLatch extends EventEmitter<LeaderLatchEvents> {
  private node: string | undefined;
  private leader = false;
  private state: 'idle' | 'started' | 'closed' = 'idle';
  private generation = 0;
  /** A new node being created for this latch; one at a time, so a latch never has two. */
  private joining: Promise<void> | undefined;

  constructor(
    private readonly zk: ZooKeeperClient,
    readonly path: string,
    readonly id = '',
  ) {
    super();
  }

  get hasLeadership(): boolean {
    return this.leader;
  }

  /** Joins the election; resolves once this participant's node exists and has been ranked. */
  async start(): Promise<void> {
    if (this.state !== 'idle') throw zkError('BadArguments', this.path, `latch already ${this.state}`);
    this.state = 'started';
    this.zk.on('state', this.onState);
    await ensurePath(this.zk, this.path);
    this.node = await protectedCreate(this.zk, this.path, 'latch-', this.id, 'EPHEMERAL_SEQUENTIAL');
    await this.check();
  }

  /** Resolves when this participant leads; rejects on abort, timeout, or the latch closing. */
  await(opts: { signal?: AbortSignal; timeout?: number } = {}): Promise<void> {
    if (this.leader) return Promise.resolve();
    const signal = callSignal(opts);
    return new Promise((resolve, reject) => {
      const done = (f: () => void) => {
        this.off('isLeader', onLeader);
        this.off('closed', onClosed);
        signal?.removeEventListener('abort', onAbort);
        f();
      };
      const onLeader = () => done(resolve);
      const onClosed = (reason?: Error) => done(() => reject(reason ?? zkError('ConnectionLoss', this.path, 'latch closed')));
      const onAbort = () => done(() => reject(signal!.reason));
      if (this.state === 'closed') return onClosed();
      this.on('isLeader', onLeader);
      this.on('closed', onClosed);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Leaves the election (giving up leadership) and deletes this participant's node. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    const node = this.node;
    this.node = undefined;
    this.stop();
    if (node && this.zk.state === 'connected') await deleteIfExists(this.zk, node);
  }

  /** The participants' ids, leader first. */
  async participants(): Promise<string[]> {
    const names = bySequence(await retrying(this.zk, () => this.zk.getChildren(this.path)), 'latch-');
    const ids: string[] = [];
    for (const n of names) {
      try {
        ids.push((await retrying(this.zk, () => this.zk.getData(`${this.path}/${n}`))).data?.toString() ?? '');
      } catch (err) {
        if (!isZooKeeperError(err, 'NoNode')) throw err;
      }
    }
    return ids;
  }

  private stop(reason?: Error): void {
    // A latch stopped by an unexpected error must not leave its node ranking ahead of the others.
    if (this.node && this.zk.state === 'connected') deleteIfExists(this.zk, this.node).catch(() => undefined);
    this.state = 'closed';
    this.node = undefined;
    this.generation++;
    this.zk.off('state', this.onState);
    this.setLeader(false);
    this.emit('closed', reason);
  }

  private setLeader(leader: boolean): void {
    if (leader === this.leader) return;
    this.leader = leader;
    this.emit(leader ? 'isLeader' : 'notLeader');
  }

  /** Creates a new node for this latch (its old one is gone) and ranks it. */
  private rejoin(): void {
    this.setLeader(false);
    this.node = undefined;
    this.joining ??= (async () => {
      try {
        const node = await protectedCreate(this.zk, this.path, 'latch-', this.id, 'EPHEMERAL_SEQUENTIAL');
        if (this.state !== 'started') return void (await deleteIfExists(this.zk, node));
        this.node = node;
      } finally {
        this.joining = undefined;
      }
      await this.check();
    })().catch((err: unknown) => {
      // Cut off or expired again: the next SyncConnected tries again.
      if (!isZooKeeperError(err, 'ConnectionLoss') && !isZooKeeperError(err, 'SessionExpired')) this.stop(err as Error);
    });
  }

  /** Ranks this node; only the newest check may act, so a slow answer cannot undo a newer one. */
  private async check(): Promise<void> {
    const gen = ++this.generation;
    const node = this.node;
    if (this.state !== 'started' || this.joining) return;
    if (!node) return this.rejoin();
    const name = node.slice(this.path.length + 1);
    try {
      const children = bySequence(await this.zk.getChildren(this.path), 'latch-');
      if (gen !== this.generation || this.zk.state !== 'connected') return;
      const i = children.indexOf(name);
      // Deleted by someone else while the session lives on: join again, as Curator does.
      if (i < 0) return this.rejoin();
      if (i === 0) return this.setLeader(true);
      this.setLeader(false);
      const stat = await this.zk.exists(`${this.path}/${children[i - 1]}`, () => void this.check());
      if (stat === null && gen === this.generation) return this.check();
    } catch (err) {
      // A lost connection is handled by onState; the reconnect triggers a new check.
      if (!isZooKeeperError(err, 'ConnectionLoss') && !isZooKeeperError(err, 'SessionExpired')) this.stop(err as Error);
    }
  }

  private readonly onState = (s: KeeperStateName): void => {
    if (s === 'Disconnected') {
      this.generation++;
      this.setLeader(false);
    } else if (s === 'SyncConnected') {
      void this.check();
    } else if (s === 'Expired' && !clientEnded(this.zk)) {
      // The node went with the session; the client is starting a new one, in which the latch joins again.
      this.generation++;
      this.node = undefined;
      this.setLeader(false);
    } else if (isTerminalState(s)) {
      this.stop(zkError(s === 'Expired' ? 'SessionExpired' : 'ConnectionLoss', this.path, `session ${s}`));
    }
  };
}
