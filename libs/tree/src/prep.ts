/**
 * Request validation into transactions (ZooKeeper's PrepRequestProcessor).
 *
 * The leader group-commits: it prepares many requests before the tree applies
 * any of them. So each request is validated against the committed tree plus
 * every txn prepared but not yet applied (an Overlay, ZooKeeper's
 * outstandingChanges): "create /a" then "create /a/b" in one batch works, and
 * sequential names count creations still in flight. A request that fails
 * becomes an error txn, which consumes its zxid exactly as in ZooKeeper.
 *
 * Checks run in ZooKeeper's order, because the order decides which error a
 * client sees when several apply (e.g. NOAUTH before NODEEXISTS).
 */
import {
  Err,
  OpCode,
  Perms,
  type CheckVersionRequest,
  type CreateTTLRequest,
  type DeleteRequest,
  type MultiOp,
  type ReconfigRequest,
  type SetACLRequest,
  type SetDataRequest,
} from '@zooid/protocol';
import { checkACL, fixupACL, type AuthContext } from './acl.js';
import { DEFAULT_MAX_DATA_BYTES, type TreeConfig } from './config.js';
import { isSpecialPath, isValidPath, parentOf } from './paths.js';
import { MAX_TTL, ownerFor, ttlOf, type NodeKind } from './stat.js';
import type { DataTree } from './tree.js';
import type { ReconfigOutcome } from './reconfig.js';
import type { CreateOp, CreateTxn, SubTxn, Txn } from './txn.js';
import { Overlay, copyView, type NodeView } from './view.js';

export interface CreateSessionRequest {
  timeout: number;
  verifier: Uint8Array;
}

/** The path of a container or TTL node to reap (the leader's own request). */
export interface DeleteContainerRequest {
  path: string;
}

interface CreateMode {
  ephemeral: boolean;
  sequential: boolean;
  container: boolean;
  ttl: boolean;
}

/** CreateMode.fromFlag, indexed by flag. */
const MODES: readonly CreateMode[] = [
  { ephemeral: false, sequential: false, container: false, ttl: false },
  { ephemeral: true, sequential: false, container: false, ttl: false },
  { ephemeral: false, sequential: true, container: false, ttl: false },
  { ephemeral: true, sequential: true, container: false, ttl: false },
  { ephemeral: false, sequential: false, container: true, ttl: false },
  { ephemeral: false, sequential: false, container: false, ttl: true },
  { ephemeral: false, sequential: true, container: false, ttl: true },
];

const MULTI_OPS = new Set<number>([
  OpCode.create,
  OpCode.create2,
  OpCode.createContainer,
  OpCode.createTTL,
  OpCode.delete,
  OpCode.setData,
  OpCode.check,
]);

/** Java's String.format("%010d", int): the sequential suffix, sign included in the width. */
export function sequenceSuffix(n: number): string {
  return n < 0 ? `-${String(-n).padStart(9, '0')}` : String(n).padStart(10, '0');
}

function versionMatches(current: number, expected: number): boolean {
  return expected === -1 || expected === current;
}

/** A prepared sub-txn, or the error code that stops it. */
type Prepared<T> = T | number;

function errorTxn(r: Prepared<Txn>): Txn {
  return typeof r === 'number' ? { type: 'error', err: r } : r;
}

/**
 * Judges a reconfig request at `zxid` (prepareReconfig with the leader's view
 * of the ensemble: committed and pending configuration, synced learners).
 * Only a leader that can answer those has one.
 */
export type ReconfigJudge = (req: ReconfigRequest, auth: AuthContext, zxid: number) => ReconfigOutcome;

export class Preparer {
  /** Set by the leader; without it every reconfig is RECONFIGDISABLED. */
  reconfig?: ReconfigJudge;
  private readonly view: Overlay;
  private readonly maxData: number;
  private readonly ttlEnabled: boolean;

  constructor(
    private readonly tree: DataTree,
    private readonly config: TreeConfig = {},
  ) {
    this.view = new Overlay(tree);
    this.maxData = config.maxDataBytes ?? DEFAULT_MAX_DATA_BYTES;
    this.ttlEnabled = config.extendedTypesEnabled ?? true;
  }

  /**
   * Turns a decoded request into the txn to log at `zxid` (an error txn when
   * it fails). `now` becomes the txn's time. Besides client writes this takes
   * the ensemble's own requests: createSession (CreateSessionRequest),
   * closeSession (no body) and deleteContainer (DeleteContainerRequest).
   */
  prepare(op: number, req: unknown, auth: AuthContext, zxid: number, now: number): Txn {
    switch (op) {
      case OpCode.create:
      case OpCode.create2:
      case OpCode.createContainer:
      case OpCode.createTTL:
        return errorTxn(this.create(op, req as CreateTTLRequest, auth, zxid, now));
      case OpCode.delete:
        return errorTxn(this.delete(req as DeleteRequest, auth, zxid));
      case OpCode.setData:
        return errorTxn(this.setData(req as SetDataRequest, auth, zxid, now));
      case OpCode.setACL:
        return errorTxn(this.setACL(req as SetACLRequest, auth, zxid));
      case OpCode.check:
        return errorTxn(this.check(req as CheckVersionRequest, auth));
      case OpCode.multi:
        return this.multi(req as MultiOp[], auth, zxid, now);
      case OpCode.deleteContainer:
        return errorTxn(this.deleteContainer((req as DeleteContainerRequest).path, zxid, now));
      case OpCode.createSession: {
        const { timeout, verifier } = req as CreateSessionRequest;
        this.view.setSession(auth.sessionId, true, zxid);
        return { type: 'createSession', sessionId: auth.sessionId, timeout, verifier };
      }
      case OpCode.closeSession:
        return this.closeSession(auth.sessionId, zxid);
      case OpCode.reconfig: {
        // Without a judge (not a leader's preparer) reconfiguration is off, as in ZooKeeper by default.
        if (!this.reconfig) return { type: 'error', err: Err.RECONFIGDISABLED };
        const out = this.reconfig(req as ReconfigRequest, auth, zxid);
        return out.ok ? out.txn : { type: 'error', err: out.err };
      }
      default:
        return { type: 'error', err: Err.UNIMPLEMENTED };
    }
  }

  /** The tree has applied everything up to `zxid`: forget those pending changes. */
  applied(zxid: number): void {
    this.view.prune(zxid);
  }

  /** Drops all pending changes (leadership lost, or the pipeline restarted from the tree). */
  reset(): void {
    this.view.clear();
  }

  /**
   * Containers and TTL nodes due for removal (the tree's candidates) that no
   * pending txn already removes or revives: the leader prepares a
   * deleteContainer for each, and never proposes the same removal twice.
   */
  cleanupCandidates(now: number, budget = Infinity, maxNeverUsedIntervalMs = 0): string[] {
    return this.tree.sweepDue(now, budget, maxNeverUsedIntervalMs).filter((path) => {
      const v = this.view.getNode(path);
      return v !== undefined && v.numChildren === 0 && (v.kind !== 'ttl' || now - v.mtime > ttlOf(v.owner));
    });
  }

  /** Pending changes not yet applied: ZooKeeper's outstanding changes count. */
  get pending(): number {
    return this.view.size;
  }

  private alive(auth: AuthContext): boolean {
    return this.view.sessionAlive(auth.sessionId);
  }

  private allowed(node: NodeView, perm: number, auth: AuthContext): boolean {
    return checkACL(node.acl, perm, auth.ids, this.config);
  }

  private create(op: CreateOp, req: CreateTTLRequest, auth: AuthContext, zxid: number, now: number): Prepared<CreateTxn> {
    const mode = MODES[req.flags];
    if (mode === undefined) return Err.BADARGUMENTS;
    // validateCreateRequest; a createTTL without a TTL mode is refused too (ZooKeeper would crash on it at apply)
    if (mode.ttl && !this.ttlEnabled) return Err.UNIMPLEMENTED;
    const ttl = op === OpCode.createTTL ? req.ttl : -1;
    if (mode.ttl ? !(ttl > 0 && ttl <= MAX_TTL) : op === OpCode.createTTL) return Err.BADARGUMENTS;
    if ((req.data?.length ?? 0) > this.maxData) return Err.BADARGUMENTS;
    if (!this.alive(auth)) return Err.SESSIONEXPIRED;

    const parentPath = parentOf(req.path);
    if (parentPath === null || req.path.includes('\0')) return Err.BADARGUMENTS;
    const acl = fixupACL(req.acl, auth.ids);
    if (acl === null) return Err.INVALIDACL;
    const parent = this.view.getNode(parentPath);
    if (parent === undefined) return Err.NONODE;
    if (!this.allowed(parent, Perms.CREATE, auth)) return Err.NOAUTH;
    const path = mode.sequential ? req.path + sequenceSuffix(parent.cversion) : req.path;
    if (!isValidPath(path)) return Err.BADARGUMENTS;
    if (this.view.getNode(path) !== undefined) return Err.NODEEXISTS;
    if (parent.kind === 'ephemeral') return Err.NOCHILDRENFOREPHEMERALS;

    // The node's kind follows what ZooKeeper applies: the opcode for containers and TTLs, the flags otherwise.
    const kind: NodeKind =
      op === OpCode.createContainer ? 'container' : op === OpCode.createTTL ? 'ttl' : mode.ephemeral ? 'ephemeral' : 'persistent';
    const ephemeralOwner = ownerFor(kind, auth.sessionId, ttl);
    const parentCVersion = (parent.cversion + 1) | 0;
    const nextParent = copyView(parent);
    nextParent.numChildren++;
    nextParent.cversion = parentCVersion;
    this.view.setNode(parentPath, nextParent, zxid);
    this.view.setNode(path, { kind, owner: ephemeralOwner, numChildren: 0, version: 0, cversion: 0, aversion: 0, acl, mtime: now }, zxid);
    return { type: 'create', op, path, data: req.data, acl, kind, ephemeralOwner, parentCVersion };
  }

  private delete(req: DeleteRequest, auth: AuthContext, zxid: number): Prepared<SubTxn> {
    if (!this.alive(auth)) return Err.SESSIONEXPIRED;
    const parentPath = parentOf(req.path);
    if (parentPath === null || req.path.includes('\0') || isSpecialPath(req.path)) return Err.BADARGUMENTS;
    const parent = this.view.getNode(parentPath);
    if (parent === undefined) return Err.NONODE;
    if (!this.allowed(parent, Perms.DELETE, auth)) return Err.NOAUTH;
    const node = this.view.getNode(req.path);
    if (node === undefined) return Err.NONODE;
    if (!versionMatches(node.version, req.version)) return Err.BADVERSION;
    if (node.numChildren > 0) return Err.NOTEMPTY;
    this.removePending(req.path, parentPath, parent, zxid);
    return { type: 'delete', path: req.path };
  }

  private setData(req: SetDataRequest, auth: AuthContext, zxid: number, now: number): Prepared<SubTxn> {
    if ((req.data?.length ?? 0) > this.maxData) return Err.BADARGUMENTS;
    if (!this.alive(auth)) return Err.SESSIONEXPIRED;
    if (!isValidPath(req.path)) return Err.BADARGUMENTS;
    const node = this.view.getNode(req.path);
    if (node === undefined) return Err.NONODE;
    if (!this.allowed(node, Perms.WRITE, auth)) return Err.NOAUTH;
    if (!versionMatches(node.version, req.version)) return Err.BADVERSION;
    const version = (node.version + 1) | 0;
    const next = copyView(node);
    next.version = version;
    next.mtime = now;
    this.view.setNode(req.path, next, zxid);
    return { type: 'setData', path: req.path, data: req.data, version };
  }

  private setACL(req: SetACLRequest, auth: AuthContext, zxid: number): Prepared<Txn> {
    if (!this.alive(auth)) return Err.SESSIONEXPIRED;
    if (!isValidPath(req.path)) return Err.BADARGUMENTS;
    const acl = fixupACL(req.acl, auth.ids);
    if (acl === null) return Err.INVALIDACL;
    const node = this.view.getNode(req.path);
    if (node === undefined) return Err.NONODE;
    if (!this.allowed(node, Perms.ADMIN, auth)) return Err.NOAUTH;
    if (!versionMatches(node.aversion, req.version)) return Err.BADVERSION;
    const version = (node.aversion + 1) | 0;
    const next = copyView(node);
    next.aversion = version;
    next.acl = acl;
    this.view.setNode(req.path, next, zxid);
    return { type: 'setACL', path: req.path, acl, version };
  }

  private check(req: CheckVersionRequest, auth: AuthContext): Prepared<SubTxn> {
    if (!this.alive(auth)) return Err.SESSIONEXPIRED;
    if (!isValidPath(req.path)) return Err.BADARGUMENTS;
    const node = this.view.getNode(req.path);
    if (node === undefined) return Err.NONODE;
    if (!this.allowed(node, Perms.READ, auth)) return Err.NOAUTH;
    if (!versionMatches(node.version, req.version)) return Err.BADVERSION;
    return { type: 'check', path: req.path, version: (node.version + 1) | 0 };
  }

  /**
   * All or nothing. On the first failure the multi's pending changes are
   * rolled back and the txn records, as ZooKeeper reports it, OK for the ops
   * before, the error for the failing op and RUNTIMEINCONSISTENCY after.
   */
  private multi(ops: MultiOp[], auth: AuthContext, zxid: number, now: number): Txn {
    // ZooKeeper refuses these while decoding the request: MARSHALLINGERROR for the whole multi.
    for (const op of ops) {
      if (!MULTI_OPS.has(op.type)) return { type: 'error', err: Err.MARSHALLINGERROR };
      if (isCreate(op) && op.type !== OpCode.createTTL && MODES[op.req.flags] === undefined) {
        return { type: 'error', err: Err.MARSHALLINGERROR };
      }
    }
    const mark = this.view.mark();
    const txns: SubTxn[] = [];
    for (const op of ops) {
      const r = this.subTxn(op, auth, zxid, now);
      if (typeof r !== 'number') {
        txns.push(r);
        continue;
      }
      this.view.rollback(mark);
      const failed: SubTxn[] = txns.map(() => ({ type: 'error', err: Err.OK }));
      failed.push({ type: 'error', err: r });
      while (failed.length < ops.length) failed.push({ type: 'error', err: Err.RUNTIMEINCONSISTENCY });
      return { type: 'multi', txns: failed };
    }
    return { type: 'multi', txns };
  }

  private subTxn(op: MultiOp, auth: AuthContext, zxid: number, now: number): Prepared<SubTxn> {
    switch (op.type) {
      case OpCode.delete:
        return this.delete(op.req, auth, zxid);
      case OpCode.setData:
        return this.setData(op.req, auth, zxid, now);
      case OpCode.check:
        return this.check(op.req, auth);
      case OpCode.create:
      case OpCode.create2:
      case OpCode.createContainer:
      case OpCode.createTTL:
        return this.create(multiCreateOp(op.type, op.req.flags), { ttl: -1, ...op.req }, auth, zxid, now);
      default:
        return Err.MARSHALLINGERROR;
    }
  }

  private deleteContainer(path: string, zxid: number, now: number): Prepared<Txn> {
    const parentPath = parentOf(path);
    if (parentPath === null || path.includes('\0') || isSpecialPath(path)) return Err.BADARGUMENTS;
    const node = this.view.getNode(path);
    if (node === undefined) return Err.NONODE;
    if (node.numChildren > 0) return Err.NOTEMPTY;
    // ZooKeeper refuses plain ephemerals with BADVERSION; we also refuse anything not (or no longer) a candidate.
    if (node.kind === 'ephemeral' || node.kind === 'persistent') return Err.BADVERSION;
    if (node.kind === 'ttl' && !(now - node.mtime > ttlOf(node.owner))) return Err.BADVERSION;
    const parent = this.view.getNode(parentPath);
    if (parent === undefined) return Err.NONODE;
    this.removePending(path, parentPath, parent, zxid);
    return { type: 'deleteContainer', path };
  }

  /** The session's ephemerals as they will be when this close applies, all marked deleted. */
  private closeSession(sessionId: bigint, zxid: number): Txn {
    const doomed = new Set(this.tree.ephemeralPaths(sessionId));
    for (const [path, change] of this.view.pendingNodes()) {
      const v = change.value;
      if (v !== null && v.kind === 'ephemeral' && v.owner === sessionId) doomed.add(path);
      else doomed.delete(path);
    }
    for (const path of doomed) {
      const parentPath = parentOf(path)!;
      this.removePending(path, parentPath, this.view.getNode(parentPath)!, zxid);
    }
    this.view.setSession(sessionId, false, zxid);
    return { type: 'closeSession', sessionId };
  }

  private removePending(path: string, parentPath: string, parent: NodeView, zxid: number): void {
    const nextParent = copyView(parent);
    nextParent.numChildren--;
    this.view.setNode(parentPath, nextParent, zxid);
    this.view.setNode(path, null, zxid);
  }
}

function isCreate(op: MultiOp): op is Extract<MultiOp, { type: CreateOp }> {
  return op.type === OpCode.create || op.type === OpCode.create2 || op.type === OpCode.createContainer || op.type === OpCode.createTTL;
}

/**
 * Inside a multi the flags pick the opcode, as ZooKeeper 3.8's
 * MultiOperationRecord does: TTL flags make a createTTL, the container flag a
 * createContainer; otherwise the op keeps its own type (create2 answers with
 * a Stat). A createTTL without TTL flags is a plain create.
 */
function multiCreateOp(type: CreateOp, flags: number): CreateOp {
  const mode = MODES[flags];
  if (mode?.ttl) return OpCode.createTTL;
  if (mode?.container) return OpCode.createContainer;
  return type === OpCode.createTTL ? OpCode.create : type;
}
