/**
 * A view of the tree with changes not yet applied layered on top — what
 * ZooKeeper keeps as outstanding ChangeRecords. The Preparer holds one over
 * the committed tree for the txns it prepared but the tree has not applied
 * yet; apply uses a short-lived one to check a whole multi before touching
 * anything.
 */
import type { ACL } from '@zooid/protocol';
import type { NodeKind } from './stat.js';

/** The fields validation needs. ZNode has them all, so the tree serves views without copying. */
export interface NodeView {
  readonly kind: NodeKind;
  readonly owner: bigint;
  readonly numChildren: number;
  readonly version: number;
  readonly cversion: number;
  readonly aversion: number;
  readonly acl: readonly ACL[];
  readonly mtime: number;
}

export interface ViewSource {
  /** The node at `path` ("" is the root's alias), or undefined. */
  getNode(path: string): NodeView | undefined;
  sessionAlive(sessionId: bigint): boolean;
}

/** A changed node: a copy of its view with the change made. */
export type PendingNode = { -readonly [K in keyof NodeView]: NodeView[K] };

export function copyView(v: NodeView): PendingNode {
  return {
    kind: v.kind,
    owner: v.owner,
    numChildren: v.numChildren,
    version: v.version,
    cversion: v.cversion,
    aversion: v.aversion,
    acl: v.acl,
    mtime: v.mtime,
  };
}

interface Change<K, V> {
  zxid: number;
  key: K;
  value: V;
}
type NodeChange = Change<string, PendingNode | null>;
type SessionChange = Change<bigint, boolean>;

export class Overlay implements ViewSource {
  private readonly nodes = new Map<string, NodeChange>();
  private readonly sessions = new Map<bigint, SessionChange>();
  /** Every change in order, with what it replaced, for pruning (front) and rollback (back). */
  private readonly log: Array<{ change: NodeChange | SessionChange; prev: NodeChange | SessionChange | undefined }> = [];

  constructor(private readonly base: ViewSource) {}

  getNode(path: string): NodeView | undefined {
    const c = this.nodes.get(path === '' ? '/' : path);
    if (c === undefined) return this.base.getNode(path);
    return c.value ?? undefined;
  }

  sessionAlive(sessionId: bigint): boolean {
    const c = this.sessions.get(sessionId);
    return c === undefined ? this.base.sessionAlive(sessionId) : c.value;
  }

  /** Records the node at `path` (null: deleted) as of `zxid`. */
  setNode(path: string, value: PendingNode | null, zxid: number): void {
    const key = path === '' ? '/' : path;
    const change: NodeChange = { zxid, key, value };
    this.log.push({ change, prev: this.nodes.get(key) });
    this.nodes.set(key, change);
  }

  setSession(sessionId: bigint, alive: boolean, zxid: number): void {
    const change: SessionChange = { zxid, key: sessionId, value: alive };
    this.log.push({ change, prev: this.sessions.get(sessionId) });
    this.sessions.set(sessionId, change);
  }

  /** Changes recorded for nodes, newest per path: lets closeSession find a session's pending ephemerals. */
  pendingNodes(): IterableIterator<[string, NodeChange]> {
    return this.nodes.entries();
  }

  mark(): number {
    return this.log.length;
  }

  /** Undoes every change made since `mark()` returned `mark`. */
  rollback(mark: number): void {
    while (this.log.length > mark) {
      const { change, prev } = this.log.pop()!;
      if (typeof change.key === 'bigint') restore(this.sessions, change.key, prev as SessionChange | undefined);
      else restore(this.nodes, change.key, prev as NodeChange | undefined);
    }
  }

  /** Forgets changes the tree has applied (zxid <= `zxid`); newer changes to the same key stay. */
  prune(zxid: number): void {
    let n = 0;
    while (n < this.log.length && this.log[n]!.change.zxid <= zxid) {
      const { change } = this.log[n]!;
      if (typeof change.key === 'bigint') {
        if (this.sessions.get(change.key) === change) this.sessions.delete(change.key);
      } else if (this.nodes.get(change.key) === change) {
        this.nodes.delete(change.key);
      }
      n++;
    }
    if (n > 0) this.log.splice(0, n);
  }

  clear(): void {
    this.nodes.clear();
    this.sessions.clear();
    this.log.length = 0;
  }

  get size(): number {
    return this.log.length;
  }
}

function restore<K, C>(map: Map<K, C>, key: K, prev: C | undefined): void {
  if (prev === undefined) map.delete(key);
  else map.set(key, prev);
}
