/**
 * A local copy of a subtree kept current by one persistent recursive watch
 * (Curator's TreeCache / CuratorCache, ZooKeeper 3.6+). `start()` adds the
 * watch first and then reads the subtree, so no change between the two is
 * missed; events that arrive for what the read already saw are recognised
 * by the node's mzxid and not reported twice. After a reconnect the client
 * re-registers the watch from its last zxid, so changes made meanwhile are
 * still delivered. When the session expires and the client renews it
 * (`renewOnExpiry`), the cache watches and reads the subtree again in the
 * new session, as Curator's rebuilds, and reports what changed meanwhile;
 * when the client ends, the cache stops (`closed`).
 */
import { EventEmitter } from 'node:events';
import type { WatchStream, ZooKeeperClient } from '../client.js';
import { Channel } from '../channel.js';
import { isZooKeeperError } from '../errors.js';
import type { Stat, WatchedEvent } from '../types.js';
import { clientEnded, retrying, whenConnected } from './util.js';

export interface CachedNode {
  data: Buffer | null;
  stat: Stat;
}

export type TreeCacheEvent =
  | { type: 'added' | 'updated'; path: string; node: CachedNode }
  | { type: 'removed'; path: string }
  | { type: 'initialized' };

export interface TreeCacheEvents {
  event: [TreeCacheEvent];
  closed: [reason?: unknown];
}

export class TreeCache extends EventEmitter<TreeCacheEvents> {
  private readonly nodes = new Map<string, CachedNode>();
  private stream: WatchStream | undefined;
  private closing = false;

  constructor(
    private readonly zk: ZooKeeperClient,
    readonly root: string,
  ) {
    super();
  }

  /** Watches and loads the subtree; resolves after the initial sync (and its `initialized` event). */
  async start(): Promise<void> {
    const stream = (this.stream = this.zk.watch(this.root, { recursive: true }));
    await stream.ready;
    await this.load(this.root);
    this.emit('event', { type: 'initialized' });
    void this.consume(stream);
  }

  /** The cached node at `path`, if any. */
  get(path: string): CachedNode | undefined {
    return this.nodes.get(path);
  }

  /** The cached children names of `path`, sorted. */
  children(path: string): string[] {
    const prefix = path === '/' ? '/' : `${path}/`;
    const out: string[] = [];
    for (const p of this.nodes.keys()) if (p.startsWith(prefix) && p.length > prefix.length && !p.slice(prefix.length).includes('/')) out.push(p.slice(prefix.length));
    return out.sort();
  }

  /** Every cached path, sorted. */
  paths(): string[] {
    return [...this.nodes.keys()].sort();
  }

  /** The cache's events from now on, as an async iterable; ends when the cache closes. */
  events(signal?: AbortSignal): AsyncIterableIterator<TreeCacheEvent> {
    const stop = () => {
      this.off('event', onEvent);
      this.off('closed', onClosed);
      signal?.removeEventListener('abort', onAbort);
    };
    const channel = new Channel<TreeCacheEvent>(stop);
    const onEvent = (e: TreeCacheEvent) => channel.push(e);
    const onClosed = (reason?: unknown) => {
      channel.end(reason);
      stop();
    };
    const onAbort = () => void channel.return();
    this.on('event', onEvent);
    this.on('closed', onClosed);
    signal?.addEventListener('abort', onAbort, { once: true });
    return channel;
  }

  /** Removes the watch and stops updating. */
  async close(): Promise<void> {
    this.closing = true;
    await this.stream?.return?.();
  }

  private async consume(stream: WatchStream): Promise<void> {
    for (;;) {
      try {
        for await (const e of stream) await this.apply(e);
        this.emit('closed');
        return;
      } catch (err) {
        if (!this.renewing(err)) return void this.emit('closed', err);
      }
      try {
        stream = await this.rebuild();
      } catch (err) {
        return void this.emit('closed', err);
      }
      if (this.closing) await stream.return?.();
    }
  }

  /** The watch went with an expired session, and the client is starting another. */
  private renewing(err: unknown): boolean {
    return isZooKeeperError(err, 'SessionExpired') && !clientEnded(this.zk) && !this.closing;
  }

  /** In the renewed session: the watch again, then a read that reports what changed and drops what went. */
  private async rebuild(): Promise<WatchStream> {
    for (;;) {
      try {
        await whenConnected(this.zk);
        const stream = (this.stream = this.zk.watch(this.root, { recursive: true }));
        await stream.ready;
        const seen = new Set<string>();
        await this.load(this.root, seen);
        for (const p of [...this.nodes.keys()]) if (!seen.has(p) && this.nodes.has(p)) this.remove(p);
        return stream;
      } catch (err) {
        if (!this.renewing(err)) throw err;
      }
    }
  }

  private async apply(e: WatchedEvent): Promise<void> {
    const path = e.path!;
    if (e.type === 'NodeDeleted') return this.remove(path);
    if (e.type === 'NodeCreated' || e.type === 'NodeDataChanged') await this.refresh(path);
  }

  private async load(path: string, seen?: Set<string>): Promise<void> {
    if (!(await this.refresh(path))) return;
    seen?.add(path);
    let children: string[];
    try {
      children = await retrying(this.zk, () => this.zk.getChildren(path));
    } catch (err) {
      if (isZooKeeperError(err, 'NoNode')) return;
      throw err;
    }
    for (const c of children) await this.load(path === '/' ? `/${c}` : `${path}/${c}`, seen);
  }

  /** Reads one node into the cache; false when it does not exist. */
  private async refresh(path: string): Promise<boolean> {
    let node: CachedNode;
    try {
      node = await retrying(this.zk, () => this.zk.getData(path));
    } catch (err) {
      if (!isZooKeeperError(err, 'NoNode')) throw err;
      this.remove(path);
      return false;
    }
    const had = this.nodes.get(path);
    if (had && had.stat.mzxid === node.stat.mzxid && had.stat.czxid === node.stat.czxid) return true;
    this.nodes.set(path, node);
    this.emit('event', { type: had ? 'updated' : 'added', path, node });
    return true;
  }

  private remove(path: string): void {
    const prefix = path === '/' ? '/' : `${path}/`;
    for (const p of [...this.nodes.keys()].filter((p) => p === path || p.startsWith(prefix)).sort().reverse()) {
      this.nodes.delete(p);
      this.emit('event', { type: 'removed', path: p });
    }
  }
}
