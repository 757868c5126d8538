/**
 * The data tree and deterministic transaction apply (ZooKeeper's DataTree).
 *
 * Znodes live in one map keyed by full path; each node keeps its child names
 * in a set (null for leaves). Both are sharded once large (sharded.ts), so
 * that a tree of millions of znodes never stops the event loop to grow one. Apply is a pure function of (tree, header, txn):
 * no clock, no randomness, no configuration, so every member that applies the
 * same log holds the same tree — which digest() lets them compare.
 *
 * Containers and TTL nodes are removed by transactions too, never as a side
 * effect of apply: the leader asks for candidates — Preparer.cleanupCandidates()
 * over emptyContainers() / expiredTtlNodes(), ZooKeeper's ContainerManager
 * sweep — and proposes a deleteContainer txn for each. Apply re-checks that
 * the node is still an empty container or TTL node, so a candidate that
 * gained a child in the meantime is left alone.
 */
import { Err, EventType, OpCode, type ACL, type MultiResult } from '@zooid/protocol';
import { OPEN_ACL, READ_ACL } from './acl.js';
import { AclTable } from './acl-table.js';
import { checkTxn, simulate } from './checks.js';
import { addHash, dataHash, formatDigest, metaHash, sessionHash, subHash } from './digest.js';
import { CONFIG, QUOTA, ROOT, ZOOKEEPER, childName, joinPath, parentOf, watchParent } from './paths.js';
import { LIMIT_NODE, STAT_NODE, StatsTrack, maxQuotaPrefix, statPath, trimQuotaPath } from './quota.js';
import { NodeRecord, keep, toStat, ttlOf, type NodeFields } from './stat.js';
import { NodeStore, type ZNode } from './node-store.js';
import type { CreateTxn, SetACLTxn, SetDataTxn, SubTxn, Txn, TxnHeader } from './txn.js';
import { Overlay, type ViewSource } from './view.js';
import { ShardedMap, ShardedSet, addPath, type PathSet } from './sharded.js';

export interface SessionInfo {
  timeout: number;
  /** What verifies the session's password (session-secret.ts), not the password. */
  verifier: Uint8Array;
}

/** A watch event a txn fires; the WatchManager turns it into notifications. */
export interface WatchTrigger {
  /** EventType.NodeCreated, NodeDeleted, NodeDataChanged or NodeChildrenChanged. */
  type: number;
  path: string;
  /** ACL of the node the event is about; sessions without READ on it are not told (ZooKeeper 3.8.4+). */
  acl: readonly ACL[];
}

export interface ApplyResult {
  /** The reply header's err. A multi always answers OK; its failures are in the results. */
  err: number;
  /** The reply record for the txn's opcode (Create2Response, SetDataResponse, MultiResult[], ...). */
  response?: unknown;
  triggers: WatchTrigger[];
}

const EMPTY = Buffer.alloc(0);

function hex(n: number): string {
  return `0x${n.toString(16)}`;
}

/** DataTree.load(): a tree being rebuilt from a snapshot. */
export interface TreeLoad {
  add(path: string, node: NodeRecord): void;
  finish(): DataTree;
}

/** DataTree.freeze(): the tree as it was when the walk began. */
export interface FrozenWalk {
  readonly zxid: number;
  readonly sessions: ReadonlyArray<[bigint, SessionInfo]>;
  /** Every ACL list a node of the walk can hold. */
  readonly acls: ReadonlyArray<readonly ACL[]>;
  /** How many nodes the walk gives, the root included. */
  readonly nodes: number;
  /** The next node, or undefined when all were given (which closes the walk). */
  next(): [string, NodeFields] | undefined;
  /** Ends the walk early; apply stops keeping copies for it. */
  close(): void;
}

function depth(path: string): number {
  let d = 0;
  for (let i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) d++;
  return d;
}

export class DataTree implements ViewSource {
  /** zxid of the last applied txn. */
  lastZxid = 0;
  /** Each path's slot in the store. */
  private readonly nodes = new ShardedMap<number>();
  private readonly store = new NodeStore();
  private root!: ZNode;
  private readonly acls = new AclTable();
  private readonly sessionMap = new Map<bigint, SessionInfo>();
  private readonly ephemerals = new Map<bigint, PathSet>();
  private readonly containers = new ShardedSet();
  private readonly ttls = new ShardedSet();
  /** Paths with a quota (a zookeeper_limits node): ZooKeeper's pTrie. */
  private readonly quotas = new Set<string>();
  private sum = 0;
  private dataBytes = 0;
  /**
   * While a frozen walk is open: what each path held when it began, for the
   * paths changed since that the walk has not passed yet — a node's copy, or
   * null for a path created since. False once the walk has emitted it.
   */
  private preserved: Map<string, NodeRecord | null | false> | null = null;
  /** Where sweepDue goes on from. */
  private sweep: Generator<[string, boolean]> | null = null;
  private walks = 0;

  /** A fresh tree as ZooKeeper starts: '/', '/zookeeper', '/zookeeper/quota', '/zookeeper/config'. */
  constructor() {
    this.root = this.insert(ROOT, this.systemNode(OPEN_ACL, 0));
    this.insert(ZOOKEEPER, this.systemNode(OPEN_ACL, 0));
    this.insert(QUOTA, this.systemNode(OPEN_ACL, 0));
    // ZooKeeper sets the config node's ACL with setACL(..., -1), which leaves aversion at -1.
    this.insert(CONFIG, this.systemNode(READ_ACL, -1));
  }

  private systemNode(acl: readonly ACL[], aversion: number): NodeRecord {
    return new NodeRecord(EMPTY, acl, 'persistent', 0n, 0, 0, 0, 0, 0, 0, 0, aversion);
  }

  /**
   * Rebuilds a tree from snapshot contents a node at a time, so that a large
   * one can be loaded in slices: add() each node, parents before children,
   * then finish(). Data is copied.
   */
  static load(lastZxid: number, sessions: Iterable<[bigint, SessionInfo]>): TreeLoad {
    const t = new DataTree();
    // Start from nothing: the snapshot holds the system nodes as they were.
    for (const path of [CONFIG, QUOTA, ZOOKEEPER, ROOT]) t.remove(path, t.at(path)!);
    t.lastZxid = lastZxid;
    for (const [id, s] of sessions) t.putSession(id, s);
    return {
      add: (path, node) => {
        if (path === ROOT) t.root = t.insert(path, node);
        else if (t.nodes.size === 0) throw new RangeError('snapshot does not start with the root');
        else t.insert(path, node);
        if (path.startsWith(QUOTA + '/') && childName(path) === LIMIT_NODE) t.quotas.add(trimQuotaPath(parentOf(path)!));
      },
      finish: () => {
        if (t.nodes.size === 0) throw new RangeError('snapshot holds no root');
        return t;
      },
    };
  }

  // ---------------------------------------------------------------- reads

  /** The node at `path`; "" is the root, as in ZooKeeper's node map. */
  getNode(path: string): ZNode | undefined {
    return path === '' ? this.root : this.at(path);
  }

  /** The node keyed by exactly `path` (no alias). */
  private at(path: string): ZNode | undefined {
    const slot = this.nodes.get(path);
    return slot === undefined ? undefined : this.store.node(slot);
  }

  sessionAlive(sessionId: bigint): boolean {
    return this.sessionMap.has(sessionId);
  }

  /** Sessions are ensemble state: created and closed by transactions. */
  get sessions(): ReadonlyMap<bigint, SessionInfo> {
    return this.sessionMap;
  }

  /** As ZooKeeper's zk_znode_count, which counts the root twice (its "" alias is a map entry there). */
  get nodeCount(): number {
    return this.nodes.size + 1;
  }

  get ephemeralCount(): number {
    let n = 0;
    for (const s of this.ephemerals.values()) n += s.size;
    return n;
  }

  /** zk_approximate_data_size: the sum of path and data lengths (ZooKeeper counts the root's data twice, once per alias). */
  get approximateDataSize(): number {
    return this.dataBytes + this.root.dataLength;
  }

  /** Paths of a session's ephemerals, live view. */
  ephemeralPaths(sessionId: bigint): Iterable<string> | undefined {
    return this.ephemerals.get(sessionId);
  }

  /** getEphemerals: all of a session's ephemerals, or those starting with `prefix` unless it is empty or "/". */
  getEphemerals(sessionId: bigint, prefix = '/'): string[] {
    const all = this.ephemerals.get(sessionId);
    if (all === undefined) return [];
    const p = prefix.trim();
    if (p === '' || p === ROOT) return [...all];
    return [...all].filter((path) => path.startsWith(prefix));
  }

  /** getAllChildrenNumber: every node below `path`. */
  descendantCount(path: string): number {
    if (path === ROOT) return this.nodes.size - 1;
    // ZooKeeper counts keys starting with path + "/": for the "" alias that is every node.
    if (path === '') return this.nodes.size;
    let count = 0;
    const stack = [path];
    while (stack.length > 0) {
      const p = stack.pop()!;
      const children = this.at(p)?.children;
      if (!children) continue;
      count += children.size;
      for (const c of children) stack.push(c);
    }
    return count;
  }

  /** Empty containers that had a child once (cversion > 0), or that never did but are older than `maxNeverUsedIntervalMs` (0: never). */
  emptyContainers(now = 0, maxNeverUsedIntervalMs = 0): string[] {
    return [...this.containers].filter((path) => this.containerDue(path, now, maxNeverUsedIntervalMs));
  }

  /** Childless TTL nodes not modified for longer than their TTL. */
  expiredTtlNodes(now: number): string[] {
    return [...this.ttls].filter((path) => this.ttlDue(path, now));
  }

  /**
   * Empty containers and expired TTL nodes among the next `budget` of them
   * (all containers, then all TTL nodes), going on from where the last call
   * stopped, and never past the end of a round: the leader sweeps every
   * tick, and a sweep over millions is spread over many ticks instead of
   * stopping the event loop in one.
   */
  sweepDue(now: number, budget: number, maxNeverUsedIntervalMs = 0): string[] {
    const out: string[] = [];
    this.sweep ??= this.sweepRound();
    for (let looked = 0; looked < budget; looked++) {
      const r = this.sweep.next();
      if (r.done) {
        this.sweep = null;
        break;
      }
      const [path, container] = r.value;
      if (container ? this.containerDue(path, now, maxNeverUsedIntervalMs) : this.ttlDue(path, now)) out.push(path);
    }
    return out;
  }

  private *sweepRound(): Generator<[string, boolean]> {
    for (const path of this.containers) yield [path, true];
    for (const path of this.ttls) yield [path, false];
  }

  private containerDue(path: string, now: number, maxNeverUsedIntervalMs: number): boolean {
    const n = this.at(path)!;
    return n.children === null && (n.cversion > 0 || (maxNeverUsedIntervalMs !== 0 && now - n.mtime > maxNeverUsedIntervalMs));
  }

  private ttlDue(path: string, now: number): boolean {
    const n = this.at(path)!;
    return n.children === null && now - n.mtime > ttlOf(n.owner);
  }

  /** deleteContainer txns for the leader to propose: the ContainerManager sweep. */
  cleanupTxns(now: number, maxNeverUsedIntervalMs = 0): Txn[] {
    return [...this.emptyContainers(now, maxNeverUsedIntervalMs), ...this.expiredTtlNodes(now)].map((path) => ({
      type: 'deleteContainer',
      path,
    }));
  }

  /** Every node, each parent before its children, children in creation order; each a handle to read before the tree changes again. */
  *walk(): Generator<[string, ZNode]> {
    yield [ROOT, this.root];
    const stack: Iterator<string>[] = [];
    if (this.root.children) stack.push(this.root.children.values());
    while (stack.length > 0) {
      const next = stack[stack.length - 1]!.next();
      if (next.done) {
        stack.pop();
        continue;
      }
      const path = next.value;
      const node = this.at(path)!;
      yield [path, node];
      if (node.children) stack.push(node.children.values());
    }
  }

  /**
   * The tree as it is now, walked a piece at a time while transactions go on
   * being applied: a snapshot of a large tree is taken in slices between
   * turns of the event loop instead of stopping it. Copy-on-write: apply
   * keeps a copy of each node it is about to change or remove, until the walk
   * has passed it. The walk goes depth first through the live child sets,
   * which puts parents before children: a child created since is skipped
   * (and so is all below it, created since too); nodes removed before the
   * walk reached them come last, parents first. One walk at a time.
   */
  freeze(): FrozenWalk {
    if (this.preserved !== null) throw new Error('a frozen walk is already open');
    const preserved = new Map<string, NodeRecord | null | false>();
    this.preserved = preserved;
    const id = ++this.walks;
    const total = this.nodes.size;
    const stack: Iterator<string>[] = [];
    let started = false;
    let removed: Array<[string, NodeRecord]> | null = null;
    let emitted = 0;
    const close = () => {
      if (this.preserved === preserved) this.preserved = null;
    };
    // The node at `path` as the walk began, or undefined when it was created since or given already.
    const visit = (path: string): [string, NodeFields] | undefined => {
      const kept = preserved.get(path);
      if (kept === null || kept === false) return undefined;
      const live = this.at(path);
      if (live?.children) stack.push(live.children.values());
      emitted++;
      if (kept !== undefined) {
        preserved.set(path, false);
        return [path, kept];
      }
      if (live === undefined) throw new Error(`invariant: ${path} went without a copy kept for the walk`);
      live.walked = id;
      return [path, live];
    };
    const next = (): [string, NodeFields] | undefined => {
      if (removed === null) {
        if (!started) {
          started = true;
          return visit(ROOT)!;
        }
        while (stack.length > 0) {
          const r = stack[stack.length - 1]!.next();
          if (r.done) {
            stack.pop();
            continue;
          }
          const node = visit(r.value);
          if (node) return node;
        }
        removed = [];
        for (const [path, kept] of preserved) if (kept) removed.push([path, kept]);
        // czxid orders a parent before its children; within one multi, depth does.
        removed.sort(([pa, a], [pb, b]) => b.czxid - a.czxid || depth(pb) - depth(pa)); // popped from the end
      }
      const last = removed.pop();
      if (last === undefined) {
        if (emitted !== total) throw new Error(`invariant: a frozen walk emitted ${emitted} of ${total} nodes`);
        close();
        return undefined;
      }
      emitted++;
      return last;
    };
    return { zxid: this.lastZxid, sessions: [...this.sessionMap], acls: [...this.acls.lists()], nodes: total, next, close };
  }

  /** Before a node changes or goes: a frozen walk that has not passed it keeps what it was. */
  private preserve(path: string, node: ZNode): void {
    const p = this.preserved;
    if (p === null || node.walked === this.walks || p.has(path)) return;
    p.set(path, node.copy());
  }

  /** Hex digest of all nodes and sessions; equal trees have equal digests whatever their history. */
  digest(): string {
    return formatDigest(this.sum);
  }

  // ---------------------------------------------------------------- apply

  apply(hdr: TxnHeader, txn: Txn): ApplyResult {
    if (!(hdr.zxid > this.lastZxid)) {
      throw new Error(`txn zxid ${hex(hdr.zxid)} does not follow last applied zxid ${hex(this.lastZxid)}`);
    }
    const triggers: WatchTrigger[] = [];
    const result = this.applyTxn(hdr, txn, triggers);
    this.lastZxid = hdr.zxid;
    return { err: result.err, response: result.response, triggers };
  }

  private applyTxn(hdr: TxnHeader, txn: Txn, triggers: WatchTrigger[]): { err: number; response?: unknown } {
    switch (txn.type) {
      case 'createSession':
        this.putSession(txn.sessionId, { timeout: txn.timeout, verifier: txn.verifier });
        return { err: Err.OK };
      case 'closeSession':
        this.closeSession(txn.sessionId, hdr.zxid, triggers);
        return { err: Err.OK };
      case 'error':
        return { err: txn.err };
      case 'multi':
        return { err: Err.OK, response: this.multi(txn.txns, hdr, triggers) };
      case 'reconfig': {
        // The reply is a GetDataResponse: the new configuration and the node's stat.
        const node = this.setData({ type: 'setData', path: CONFIG, data: txn.data, version: -1 }, hdr, triggers);
        return { err: Err.OK, response: { data: node.data, stat: toStat(node) } };
      }
    }
    const err = checkTxn(txn, this);
    if (err !== Err.OK) return { err };
    switch (txn.type) {
      case 'create': {
        const node = this.create(txn, hdr, triggers);
        return { err, response: txn.op === OpCode.create ? { path: txn.path } : { path: txn.path, stat: toStat(node) } };
      }
      case 'delete':
      case 'deleteContainer':
        this.delete(txn.path, hdr.zxid, triggers);
        return { err };
      case 'setData':
        return { err, response: { stat: toStat(this.setData(txn, hdr, triggers)) } };
      case 'setACL':
        return { err, response: { stat: toStat(this.setACL(txn)) } };
      case 'check':
        return { err, response: { stat: toStat(this.at(txn.path)!) } };
    }
  }

  /** All or nothing: every sub-txn is checked against the state the earlier ones leave before any is applied. */
  private multi(txns: SubTxn[], hdr: TxnHeader, triggers: WatchTrigger[]): MultiResult[] {
    let failedAt = txns.findIndex((t) => t.type === 'error');
    let failure: number = Err.RUNTIMEINCONSISTENCY;
    if (failedAt < 0) {
      const view = new Overlay(this);
      for (let i = 0; i < txns.length && failedAt < 0; i++) {
        const err = checkTxn(txns[i]!, view);
        if (err !== Err.OK) {
          failedAt = i;
          failure = err;
        } else {
          simulate(txns[i]!, view);
        }
      }
    }
    if (failedAt >= 0) {
      // As ZooKeeper reports it: OK before the failure, the failing op's error, RUNTIMEINCONSISTENCY after.
      return txns.map((t, i) => ({
        type: OpCode.error,
        err: t.type === 'error' ? t.err : i < failedAt ? Err.OK : i === failedAt ? failure : Err.RUNTIMEINCONSISTENCY,
      }));
    }
    return txns.map((t): MultiResult => {
      switch (t.type) {
        case 'create': {
          const node = this.create(t, hdr, triggers);
          return t.op === OpCode.create ? { type: OpCode.create, path: t.path } : { type: t.op, path: t.path, stat: toStat(node) };
        }
        case 'delete':
          this.delete(t.path, hdr.zxid, triggers);
          return { type: OpCode.delete };
        case 'setData':
          return { type: OpCode.setData, stat: toStat(this.setData(t, hdr, triggers)) };
        case 'check':
          return { type: OpCode.check };
        case 'error':
          throw new Error('unreachable: failed multis return above');
      }
    });
  }

  private create(t: CreateTxn, hdr: TxnHeader, triggers: WatchTrigger[]): ZNode {
    const parentPath = parentOf(t.path)!;
    const parent = this.getNode(parentPath)!;
    this.changeMeta(watchParent(parentPath), parent, () => {
      // The txn carries the parent's new cversion (it named sequential children at prep time).
      if (t.parentCVersion > parent.cversion) {
        parent.cversion = t.parentCVersion;
        parent.pzxid = hdr.zxid;
      }
    });
    const node = this.insert(t.path, new NodeRecord(t.data, t.acl, t.kind, t.ephemeralOwner, hdr.zxid, hdr.zxid, hdr.zxid, hdr.time, hdr.time, 0, 0, 0));
    this.quotaCreated(t.path, parentPath, node);
    triggers.push(
      { type: EventType.NodeCreated, path: t.path, acl: node.acl },
      { type: EventType.NodeChildrenChanged, path: watchParent(parentPath), acl: parent.acl },
    );
    return node;
  }

  private delete(path: string, zxid: number, triggers: WatchTrigger[]): void {
    const node = this.at(path)!;
    // Read before the node goes: its slot is free once removed.
    const { acl, dataLength } = node;
    const parentPath = watchParent(parentOf(path)!);
    this.remove(path, node);
    this.quotaDeleted(path, parentPath, dataLength);
    const parent = this.at(parentPath)!;
    this.changeMeta(parentPath, parent, () => {
      if (zxid > parent.pzxid) parent.pzxid = zxid;
    });
    triggers.push(
      { type: EventType.NodeDeleted, path, acl },
      { type: EventType.NodeChildrenChanged, path: parentPath, acl: parent.acl },
    );
  }

  private setData(t: SetDataTxn, hdr: TxnHeader, triggers: WatchTrigger[]): ZNode {
    const node = this.at(t.path)!;
    const data = t.data;
    const quota = maxQuotaPrefix(this.quotas, t.path);
    if (quota !== null) this.updateQuotaStat(quota, (data?.length ?? 0) - node.dataLength, 0);
    this.sum = subHash(this.sum, dataHash(t.path, node.data));
    this.sum = addHash(this.sum, dataHash(t.path, data));
    this.dataBytes += (data?.length ?? 0) - node.dataLength;
    this.changeMeta(t.path, node, () => {
      node.data = data;
      node.mtime = hdr.time;
      node.mzxid = hdr.zxid;
      node.version = t.version;
    });
    triggers.push({ type: EventType.NodeDataChanged, path: t.path, acl: node.acl });
    return node;
  }

  private setACL(t: SetACLTxn): ZNode {
    const node = this.at(t.path)!;
    this.changeMeta(t.path, node, () => {
      const old = node.acl;
      node.acl = this.acls.intern(t.acl);
      this.acls.release(old);
      node.aversion = t.version;
    });
    return node;
  }

  /** Deletes the session's ephemerals (in path order, for a deterministic event order) and forgets it. */
  private closeSession(sessionId: bigint, zxid: number, triggers: WatchTrigger[]): void {
    const owned = this.ephemerals.get(sessionId);
    if (owned) for (const path of [...owned].sort()) this.delete(path, zxid, triggers);
    const s = this.sessionMap.get(sessionId);
    if (s) {
      this.sum = subHash(this.sum, sessionHash(sessionId, s.timeout, s.verifier));
      this.sessionMap.delete(sessionId);
    }
  }

  private putSession(sessionId: bigint, s: SessionInfo): void {
    const old = this.sessionMap.get(sessionId);
    if (old) this.sum = subHash(this.sum, sessionHash(sessionId, old.timeout, old.verifier));
    const info = { timeout: s.timeout, verifier: keep(s.verifier) };
    this.sessionMap.set(sessionId, info);
    this.sum = addHash(this.sum, sessionHash(sessionId, info.timeout, info.verifier));
  }

  // ---------------------------------------------------------------- quotas

  /** DataTree.createNode's quota steps: a limits node adds a quota, a stats node is filled in, counts move. */
  private quotaCreated(path: string, parentPath: string, node: ZNode): void {
    if (parentPath.startsWith(QUOTA)) {
      const name = childName(path);
      if (name === LIMIT_NODE) this.quotas.add(trimQuotaPath(parentPath));
      if (name === STAT_NODE) this.updateQuotaForPath(trimQuotaPath(parentPath));
    }
    const quota = maxQuotaPrefix(this.quotas, path);
    if (quota !== null) this.updateQuotaStat(quota, node.dataLength, 1);
  }

  /** DataTree.deleteNode's quota steps. */
  private quotaDeleted(path: string, parentPath: string, dataLength: number): void {
    if (parentPath.startsWith(ZOOKEEPER) && childName(path) === LIMIT_NODE) this.quotas.delete(trimQuotaPath(parentPath));
    const quota = maxQuotaPrefix(this.quotas, path);
    if (quota !== null) this.updateQuotaStat(quota, -dataLength, -1);
  }

  /** Recounts the subtree of a quota path into its stats node. */
  private updateQuotaForPath(path: string): void {
    let count = 0;
    let bytes = 0;
    const stack = this.nodes.has(path) ? [path] : [];
    while (stack.length > 0) {
      const p = stack.pop()!;
      const n = this.at(p)!;
      count++;
      bytes += n.dataLength;
      if (n.children) for (const c of n.children) stack.push(c);
    }
    const st = new StatsTrack();
    st.bytes = bytes;
    st.count = count;
    this.replaceStatData(statPath(path), st);
  }

  private updateQuotaStat(quota: string, bytesDiff: number, countDiff: number): void {
    const path = statPath(quota);
    const node = this.at(path);
    if (node === undefined) return; // limits created, stats not yet: ZooKeeper logs and goes on
    const st = new StatsTrack(node.data === null ? '' : node.data.toString('utf8'));
    st.count += countDiff;
    st.bytes += bytesDiff;
    this.replaceStatData(path, st);
  }

  /** New data for a stats node: no Stat change, no watch, as ZooKeeper does it. */
  private replaceStatData(path: string, st: StatsTrack): void {
    const node = this.at(path);
    if (node === undefined) return;
    const data = Buffer.from(st.toString(), 'utf8');
    this.preserve(path, node);
    this.sum = subHash(this.sum, dataHash(path, node.data));
    this.sum = addHash(this.sum, dataHash(path, data));
    this.dataBytes += data.length - node.dataLength;
    node.data = data;
  }

  // ---------------------------------------------------------------- bookkeeping

  /** Runs `change` on a node's stat fields, keeping the digest in step. */
  private changeMeta(path: string, node: ZNode, change: () => void): void {
    this.preserve(path, node);
    this.sum = subHash(this.sum, metaHash(path, node, this.acls.hashOf(node.acl)));
    change();
    this.sum = addHash(this.sum, metaHash(path, node, this.acls.hashOf(node.acl)));
  }

  /** Adds a node under its (existing) parent, with every index and counter. */
  private insert(path: string, record: NodeRecord): ZNode {
    if (this.nodes.has(path)) throw new Error(`invariant: ${path} already exists`);
    if (path !== ROOT) {
      const parent = this.getNode(parentOf(path)!);
      if (parent === undefined) throw new Error(`invariant: parent of ${path} is missing`);
      parent.children = addPath(parent.children, path);
    }
    const node = this.store.add(record, this.acls.intern(record.acl));
    if (this.preserved !== null && !this.preserved.has(path)) this.preserved.set(path, null);
    this.nodes.set(path, node.slot);
    this.dataBytes += path.length + node.dataLength;
    this.sum = addHash(this.sum, metaHash(path, node, this.acls.hashOf(node.acl)));
    this.sum = addHash(this.sum, dataHash(path, node.data));
    switch (node.kind) {
      case 'ephemeral': {
        const owned = this.ephemerals.get(node.owner);
        const grown = addPath(owned, path);
        if (grown !== owned) this.ephemerals.set(node.owner, grown);
        break;
      }
      case 'container':
        this.containers.add(path);
        break;
      case 'ttl':
        this.ttls.add(path);
        break;
    }
    return node;
  }

  /** Removes a childless node from its parent, with every index and counter. */
  private remove(path: string, node: ZNode): void {
    if (node.children !== null) throw new Error(`invariant: removing ${path}, which has children`);
    this.preserve(path, node);
    if (path !== ROOT) {
      const parent = this.getNode(parentOf(path)!)!;
      if (!parent.children?.delete(path)) throw new Error(`invariant: ${path} is not a child of its parent`);
      if (parent.children.size === 0) parent.children = null;
    }
    this.nodes.delete(path);
    this.sum = subHash(this.sum, metaHash(path, node, this.acls.hashOf(node.acl)));
    this.sum = subHash(this.sum, dataHash(path, node.data));
    this.acls.release(node.acl);
    this.dataBytes -= path.length + node.dataLength;
    switch (node.kind) {
      case 'ephemeral': {
        const owned = this.ephemerals.get(node.owner)!;
        owned.delete(path);
        if (owned.size === 0) this.ephemerals.delete(node.owner);
        break;
      }
      case 'container':
        this.containers.delete(path);
        break;
      case 'ttl':
        this.ttls.delete(path);
        break;
    }
    this.store.release(node.slot);
  }

  /** Interned ACL lists, for the snapshot. */
  aclLists(): IterableIterator<readonly ACL[]> {
    return this.acls.lists();
  }

  /**
   * Full consistency check, O(nodes): parent/child links, indexes, counters
   * and the incremental digest against a recomputation. Throws on the first
   * violation. For tests and for verifying a freshly loaded snapshot.
   */
  checkInvariants(): void {
    const fail = (msg: string) => {
      throw new Error(`invariant: ${msg}`);
    };
    let sum = 0;
    let bytes = 0;
    let ephemerals = 0;
    if (this.store.size !== this.nodes.size) fail(`the store holds ${this.store.size} nodes, the map ${this.nodes.size}`);
    for (const [path, slot] of this.nodes) {
      const n = this.store.node(slot);
      if (path !== ROOT) {
        const parent = this.getNode(parentOf(path)!);
        if (!parent?.children?.has(path)) fail(`${path} is not listed by its parent`);
      }
      if (n.children !== null) {
        if (n.children.size === 0) fail(`${path} keeps an empty child set`);
        for (const c of n.children) if (!this.nodes.has(c) || this.getNode(parentOf(c)!)?.slot !== slot) fail(`${path} lists ${c}, not a child it has`);
      }
      if (n.kind === 'ephemeral') {
        ephemerals++;
        if (!this.ephemerals.get(n.owner)?.has(path)) fail(`${path} missing from its session's ephemerals`);
      }
      if (n.kind === 'container' && !this.containers.has(path)) fail(`${path} missing from containers`);
      if (n.kind === 'ttl' && !this.ttls.has(path)) fail(`${path} missing from ttls`);
      sum = addHash(addHash(sum, metaHash(path, n, this.acls.hashOf(n.acl))), dataHash(path, n.data));
      bytes += path.length + n.dataLength;
    }
    for (const [id, s] of this.sessionMap) sum = addHash(sum, sessionHash(id, s.timeout, s.verifier));
    if (ephemerals !== this.ephemeralCount) fail('ephemeral index holds stale paths');
    if (sum !== this.sum) fail(`digest ${formatDigest(this.sum)} != recomputed ${formatDigest(sum)}`);
    if (bytes !== this.dataBytes) fail(`approximate data size ${this.dataBytes} != ${bytes}`);
  }
}
