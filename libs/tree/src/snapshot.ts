/**
 * Snapshot encoding: everything apply depends on — lastZxid, sessions, and
 * every znode with all persisted stat fields (the stored cversion that names
 * sequential children included) — so that loading a snapshot and replaying
 * the txns after it gives the same tree, digest included, as replaying from
 * the start. Nodes are written parents first, children in creation order,
 * and each distinct ACL list once.
 */
import type { ACL } from '@zooid/protocol';
import { Reader, Writer } from './codec.js';
import { ZNode, sharedOwner, type NodeKind } from './stat.js';
import { DataTree, type SessionInfo } from './tree.js';
import { readAcl, writeAcl } from './txn.js';

const MAGIC = 0x5a534e50; // "ZSNP"
const FORMAT = 1;
const KINDS: readonly NodeKind[] = ['persistent', 'ephemeral', 'container', 'ttl'];

export function encodeSnapshot(tree: DataTree): Buffer {
  const w = new Writer(Math.max(1024, tree.approximateDataSize * 2));
  w.u32(MAGIC);
  w.u8(FORMAT);
  w.num(tree.lastZxid);

  w.u32(tree.sessions.size);
  for (const [id, s] of tree.sessions) {
    w.i64(id);
    w.i32(s.timeout);
    w.bytes(s.verifier);
  }

  const aclIndex = new Map<readonly ACL[], number>();
  for (const acl of tree.aclLists()) aclIndex.set(acl, aclIndex.size);
  w.u32(aclIndex.size);
  for (const acl of aclIndex.keys()) writeAcl(w, acl);

  w.u32(tree.nodeCount - 1);
  for (const [path, n] of tree.walk()) {
    w.str(path);
    w.bytes(n.data);
    w.u32(aclIndex.get(n.acl)!);
    w.u8(KINDS.indexOf(n.kind));
    w.i64(n.owner);
    w.num(n.czxid);
    w.num(n.mzxid);
    w.num(n.pzxid);
    w.num(n.ctime);
    w.num(n.mtime);
    w.i32(n.version);
    w.i32(n.cversion);
    w.i32(n.aversion);
  }
  return w.finish();
}

/** Nodes decoded between two calls of decodeSnapshot's progress callback. */
const PROGRESS_EVERY = 4096;

/**
 * Throws on a damaged or truncated snapshot. A large one takes a while (about
 * a second per 200,000 znodes): onProgress hears how many nodes are done.
 */
export function decodeSnapshot(buf: Uint8Array, onProgress?: (done: number, total: number) => void): DataTree {
  const r = new Reader(buf);
  if (r.u32() !== MAGIC) throw new RangeError('not a snapshot');
  const format = r.u8();
  if (format !== FORMAT) throw new RangeError(`unknown snapshot format ${format}`);
  const lastZxid = r.num();

  const sessions: Array<[bigint, SessionInfo]> = [];
  for (let i = r.u32(); i > 0; i--) {
    const id = r.i64();
    const timeout = r.i32();
    const verifier = r.bytes(true); // the tree copies it
    if (verifier === null) throw new RangeError('session without a password verifier');
    sessions.push([id, { timeout, verifier }]);
  }

  const acls: ACL[][] = [];
  for (let i = r.u32(); i > 0; i--) acls.push(readAcl(r));

  const count = r.u32();
  function* nodes(): Generator<[string, ZNode]> {
    onProgress?.(0, count);
    for (let i = 0; i < count; i++) {
      const path = r.str();
      const data = r.bytes(true); // the tree copies it
      const acl = acls[r.u32()];
      const kind = KINDS[r.u8()];
      if (acl === undefined || kind === undefined) throw new RangeError(`bad ACL index or kind for ${path}`);
      const owner = sharedOwner(r.i64());
      yield [path, new ZNode(data, acl, kind, owner, r.num(), r.num(), r.num(), r.num(), r.num(), r.i32(), r.i32(), r.i32())];
      if (onProgress && (i + 1) % PROGRESS_EVERY === 0) onProgress(i + 1, count);
    }
    onProgress?.(count, count);
  }
  const tree = DataTree.fromSnapshot(lastZxid, sessions, nodes());
  if (!r.done) throw new RangeError('trailing bytes after snapshot');
  return tree;
}
