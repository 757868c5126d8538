/**
 * Requests a learner answers from its own tree (ZooKeeper's
 * FinalRequestProcessor read paths), with their ACL checks and watch
 * registration. Like ZooKeeper, reads do not validate paths: a malformed
 * path simply names no node ("" is the root's alias).
 */
import { Err, OpCode, Perms } from '@zooid/protocol';
import type {
  AddWatchRequest,
  CheckWatchesRequest,
  ExistsRequest,
  GetACLRequest,
  GetAllChildrenNumberRequest,
  GetChildrenRequest,
  GetDataRequest,
  GetEphemeralsRequest,
  MultiOp,
  MultiResult,
  RemoveWatchesRequest,
  SetWatches2,
  SyncRequest,
  WatcherEvent,
} from '@zooid/protocol';
import { checkACL, clientInfos, maskDigests, type AuthContext } from './acl.js';
import type { TreeConfig } from './config.js';
import type { ZNode } from './node-store.js';
import { toStat } from './stat.js';
import type { DataTree } from './tree.js';
import type { WatchManager } from './watches.js';

export interface ReadResult {
  err: number;
  /** The reply record for the opcode (ExistsResponse, GetDataResponse, MultiResult[], ...). */
  response?: unknown;
  /** setWatches: events the client missed while away, to send right after the reply. */
  events?: WatcherEvent[];
}

const NONODE: ReadResult = { err: Err.NONODE };
const NOAUTH: ReadResult = { err: Err.NOAUTH };

export function executeRead(
  tree: DataTree,
  op: number,
  req: unknown,
  auth: AuthContext,
  watches: WatchManager,
  config: TreeConfig = {},
): ReadResult {
  switch (op) {
    case OpCode.exists: {
      const { path, watch } = req as ExistsRequest;
      if (path.includes('\0')) return { err: Err.BADARGUMENTS };
      const n = tree.getNode(path);
      // 3.8.4+ (ZOOKEEPER-2590): READ is required on a node that exists.
      if (n !== undefined && !readable(n, auth, config)) return NOAUTH;
      // A watch on a missing node is the "exist" watch: it fires on creation.
      if (watch) watchData(watches, auth, path);
      return n === undefined ? NONODE : { err: Err.OK, response: { stat: toStat(n) } };
    }
    case OpCode.getData: {
      const { path, watch } = req as GetDataRequest;
      const n = tree.getNode(path);
      if (n === undefined) return NONODE;
      if (!readable(n, auth, config)) return NOAUTH;
      if (watch) watchData(watches, auth, path);
      return { err: Err.OK, response: { data: n.data, stat: toStat(n) } };
    }
    case OpCode.getChildren:
    case OpCode.getChildren2: {
      const { path, watch } = req as GetChildrenRequest;
      const n = tree.getNode(path);
      if (n === undefined) return NONODE;
      if (!readable(n, auth, config)) return NOAUTH;
      if (watch) {
        watches.setAuth(auth.sessionId, auth.ids);
        watches.addChildWatch(auth.sessionId, path);
      }
      const children = n.childNames();
      return { err: Err.OK, response: op === OpCode.getChildren ? { children } : { children, stat: toStat(n) } };
    }
    case OpCode.getACL: {
      const { path } = req as GetACLRequest;
      const n = tree.getNode(path);
      if (n === undefined) return NONODE;
      if (!checkACL(n.acl, Perms.READ | Perms.ADMIN, auth.ids, config)) return NOAUTH;
      // Without ADMIN the digest hashes are hidden (they could be brute-forced offline).
      const acl = checkACL(n.acl, Perms.ADMIN, auth.ids, config) ? n.acl : maskDigests(n.acl);
      return { err: Err.OK, response: { acl, stat: toStat(n) } };
    }
    case OpCode.getAllChildrenNumber: {
      const { path } = req as GetAllChildrenNumberRequest;
      const n = tree.getNode(path);
      if (n === undefined) return NONODE;
      if (!readable(n, auth, config)) return NOAUTH;
      return { err: Err.OK, response: { totalNumber: tree.descendantCount(path) } };
    }
    case OpCode.getEphemerals: {
      const { prefixPath } = req as GetEphemeralsRequest;
      return { err: Err.OK, response: { ephemerals: tree.getEphemerals(auth.sessionId, prefixPath) } };
    }
    case OpCode.multiRead:
      return multiRead(tree, req as MultiOp[], auth, config);
    case OpCode.whoAmI:
      return { err: Err.OK, response: { clientInfo: clientInfos(auth.ids, config) } };
    case OpCode.sync:
      return { err: Err.OK, response: { path: (req as SyncRequest).path } };
    default:
      return executeWatchOp(tree, watches, op, req, auth) ?? { err: Err.UNIMPLEMENTED };
  }
}

function readable(n: ZNode, auth: AuthContext, config: TreeConfig): boolean {
  return checkACL(n.acl, Perms.READ, auth.ids, config);
}

function watchData(watches: WatchManager, auth: AuthContext, path: string): void {
  watches.setAuth(auth.sessionId, auth.ids);
  watches.addDataWatch(auth.sessionId, path);
}

/** Each op answers on its own; reads inside multiRead never set watches. */
function multiRead(tree: DataTree, ops: MultiOp[], auth: AuthContext, config: TreeConfig): ReadResult {
  if (ops.some((o) => o.type !== OpCode.getData && o.type !== OpCode.getChildren)) return { err: Err.MARSHALLINGERROR };
  const results = ops.map((o): MultiResult => {
    const n = tree.getNode(o.req.path);
    if (n === undefined) return { type: OpCode.error, err: Err.NONODE };
    if (!readable(n, auth, config)) return { type: OpCode.error, err: Err.NOAUTH };
    return o.type === OpCode.getData
      ? { type: OpCode.getData, data: n.data, stat: toStat(n) }
      : { type: OpCode.getChildren, children: n.childNames() };
  });
  return { err: Err.OK, response: results };
}

/**
 * The watch-only requests — setWatches, setWatches2, addWatch, checkWatches,
 * removeWatches — or null for any other opcode.
 */
export function executeWatchOp(tree: DataTree, watches: WatchManager, op: number, req: unknown, auth: AuthContext): ReadResult | null {
  switch (op) {
    case OpCode.setWatches:
    case OpCode.setWatches2: {
      const sw = req as SetWatches2;
      watches.setAuth(auth.sessionId, auth.ids);
      return { err: Err.OK, events: watches.setWatches(tree, auth.sessionId, sw.relativeZxid, sw) };
    }
    case OpCode.addWatch: {
      const { path, mode } = req as AddWatchRequest;
      watches.setAuth(auth.sessionId, auth.ids);
      // addWatch answers with an ErrorResponse body holding 0.
      return watches.addWatch(auth.sessionId, path, mode) ? { err: Err.OK, response: { err: Err.OK } } : { err: Err.MARSHALLINGERROR };
    }
    case OpCode.checkWatches: {
      const { path, type } = req as CheckWatchesRequest;
      return { err: watches.checkWatches(auth.sessionId, path, type) };
    }
    case OpCode.removeWatches: {
      const { path, type } = req as RemoveWatchesRequest;
      return { err: watches.removeWatches(auth.sessionId, path, type) };
    }
    default:
      return null;
  }
}
