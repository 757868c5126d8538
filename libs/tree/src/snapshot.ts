/**
 * Snapshot encoding: everything apply depends on — lastZxid, sessions, and
 * every znode with all persisted stat fields (the stored cversion that names
 * sequential children included) — so that loading a snapshot and replaying
 * the txns after it gives the same tree, digest included, as replaying from
 * the start. Nodes are written parents first, children in creation order,
 * and each distinct ACL list once.
 */
import type { ACL } from '@zooid/protocol';
import { Reader, Truncated, Writer } from './codec.js';
import { KINDS, KIND_CODE, NodeRecord } from './stat.js';
import { DataTree, type FrozenWalk, type SessionInfo, type TreeLoad } from './tree.js';
import { readAcl, writeAcl } from './txn.js';

const MAGIC = 0x5a534e50; // "ZSNP"
const FORMAT = 1;

/** Fixed bytes per node in the format: the lengths, ACL index, kind, owner, five zxids/times, three versions. */
const NODE_FIXED_BYTES = 4 + 4 + 4 + 1 + 8 + 5 * 8 + 3 * 4;

/** A part ends with the node that takes it past its size: room for that node, unless its data is large, saves copying the whole part to grow it. */
const PART_HEADROOM = 64 * 1024;

/**
 * Encodes the tree as it was when the encoder was made, a few nodes per
 * step(), while the tree goes on applying transactions in between (see
 * DataTree.freeze): the host decides how much to do per turn of its event
 * loop. Nodes are written parents first, children in creation order.
 */
export class SnapshotEncoder {
  readonly zxid: number;
  private readonly walk: FrozenWalk;
  private w: Writer;
  private readonly aclIndex = new Map<readonly ACL[], number>();
  private done = false;

  /**
   * With `partBytes`, the snapshot is taken a part of about that size at a
   * time (take()) as it is written out, and never held whole; without, it is
   * built whole for finish().
   */
  constructor(
    tree: DataTree,
    private readonly partBytes?: number,
  ) {
    this.walk = tree.freeze();
    this.zxid = this.walk.zxid;
    const { sessions, acls, nodes } = this.walk;
    // Sized to fit, so that growing (a copy of everything so far) is rare.
    this.w = new Writer(partBytes !== undefined ? partBytes + PART_HEADROOM : 1024 + tree.approximateDataSize + nodes * NODE_FIXED_BYTES + sessions.length * 64);
    const w = this.w;
    w.u32(MAGIC);
    w.u8(FORMAT);
    w.num(this.zxid);
    w.u32(sessions.length);
    for (const [id, s] of sessions) {
      w.i64(id);
      w.i32(s.timeout);
      w.bytes(s.verifier);
    }
    for (const acl of acls) this.aclIndex.set(acl, this.aclIndex.size);
    w.u32(acls.length);
    for (const acl of acls) writeAcl(w, acl);
    w.u32(nodes);
  }

  /** Writes up to `budget` more nodes (fewer once a part is full); true once all are written. */
  step(budget: number): boolean {
    const w = this.w;
    // Taken in parts, a step ends with a full part: a tree of large znodes is written a part at a time too.
    const full = this.partBytes ?? Infinity;
    for (let i = 0; i < budget && !this.done && w.length < full; i++) {
      const next = this.walk.next();
      if (next === undefined) {
        this.done = true;
        break;
      }
      const [path, n] = next;
      w.str(path);
      w.bytes(n.stored);
      w.u32(this.aclIndex.get(n.acl)!);
      w.u8(KIND_CODE[n.kind]);
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
    return this.done;
  }

  /** Bytes encoded and not taken yet. */
  get buffered(): number {
    return this.w.length;
  }

  /** The bytes encoded since the last take(), for a snapshot written as it is encoded: the parts in order are the snapshot. */
  take(): Buffer {
    if (this.partBytes === undefined) throw new Error('a snapshot built whole is had from finish()');
    const part = this.w.finish();
    this.w = new Writer(this.partBytes + PART_HEADROOM);
    return part;
  }

  /** The snapshot, once step() said it is complete. */
  finish(): Buffer {
    if (!this.done) throw new Error('snapshot not complete');
    return this.w.finish();
  }

  /** Gives up before the end: the tree stops keeping copies for it. */
  abandon(): void {
    this.walk.close();
  }
}

/** The whole snapshot in one go, for trees small enough or callers with nothing else to do. */
export function encodeSnapshot(tree: DataTree): Buffer {
  const enc = new SnapshotEncoder(tree);
  enc.step(Infinity);
  return enc.finish();
}

/**
 * Decodes a snapshot a few nodes per step(), so that a host can load a large
 * one between turns of its event loop (about a second per 200,000 znodes in
 * one go). Given the whole snapshot, it reads the header (sessions, ACLs)
 * when made. Made empty, it takes the snapshot in parts as they arrive
 * (add(), then end() after the last), and decodes what has arrived: a record
 * cut at the end of a part is read again once the next one is there. Throws
 * RangeError on a damaged or truncated snapshot, at the step that meets it.
 */
export class SnapshotDecoder {
  private r = new Reader(new Uint8Array(0));
  /** Parts not yet reached: one is joined to what is left of the current one only when a record needs it. */
  private readonly queued: Uint8Array[] = [];
  private ended = false;
  private head?: { zxid: number; nodes: number; acls: ACL[][]; load: TreeLoad };
  private decoded = 0;
  private tree?: DataTree;
  private hungry = false;

  constructor(buf?: Uint8Array) {
    if (buf === undefined) return;
    this.add(buf);
    this.end();
    this.step(0);
  }

  /** The next part of a snapshot that arrives in parts. */
  add(part: Uint8Array): void {
    if (this.ended) throw new Error('a snapshot part after its end');
    this.queued.push(part);
  }

  /** No more parts: what is still incomplete is a truncated snapshot. */
  end(): void {
    this.ended = true;
  }

  /** The zxid the snapshot is of, once its header has been decoded (undefined before). */
  get zxid(): number | undefined {
    return this.head?.zxid;
  }

  /** Nodes in the snapshot, the root included, once its header has been decoded (undefined before). */
  get nodes(): number | undefined {
    return this.head?.nodes;
  }

  /** Nodes decoded so far. */
  get done(): number {
    return this.decoded;
  }

  /** The last step stopped because the parts that arrived are used up, not for its budget: wait for the next. */
  get starved(): boolean {
    return this.hungry;
  }

  /** Decodes up to `budget` more nodes of what has arrived; true once the tree is complete. */
  step(budget: number): boolean {
    if (this.tree) return true;
    this.hungry = false;
    const stopAt = this.decoded + budget;
    for (;;) {
      const r = this.r;
      let at = r.position;
      try {
        const head = (this.head ??= readHead(r));
        const { acls, load } = head;
        const end = Math.min(head.nodes, stopAt);
        for (; this.decoded < end; this.decoded++) {
          at = r.position;
          const path = r.str();
          const data = r.bytes(true); // the tree copies it
          const acl = acls[r.u32()];
          const kind = KINDS[r.u8()];
          if (acl === undefined || kind === undefined) throw new RangeError(`bad ACL index or kind for ${path}`);
          load.add(path, new NodeRecord(data, acl, kind, r.i64(), r.num(), r.num(), r.num(), r.num(), r.num(), r.i32(), r.i32(), r.i32()));
        }
        if (this.decoded < head.nodes) return false;
        if (!r.done) throw new RangeError('trailing bytes after snapshot');
        this.refuseTrailing();
        this.tree = load.finish();
        return true;
      } catch (err) {
        if (!(err instanceof Truncated)) throw err;
        r.rewind(at);
        const next = this.queued.shift();
        if (next === undefined) {
          if (this.ended) throw err;
          this.hungry = true;
          return false;
        }
        this.r = r.followedBy(next);
      }
    }
  }

  /** The tree, once step() said it is complete. */
  finish(): DataTree {
    if (!this.tree) throw new Error('snapshot not decoded yet');
    this.refuseTrailing();
    return this.tree;
  }

  /** Bytes that arrived after the last node: checked when the tree completes, and again when it is taken. */
  private refuseTrailing(): void {
    if (this.queued.some((part) => part.length > 0)) throw new RangeError('trailing bytes after snapshot');
  }
}

/** The header: zxid, sessions, ACLs and node count. Throws Truncated, having made nothing, when it has not all arrived. */
function readHead(r: Reader): { zxid: number; nodes: number; acls: ACL[][]; load: TreeLoad } {
  if (r.u32() !== MAGIC) throw new RangeError('not a snapshot');
  const format = r.u8();
  if (format !== FORMAT) throw new RangeError(`unknown snapshot format ${format}`);
  const zxid = r.num();
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
  const nodes = r.u32();
  return { zxid, nodes, acls, load: DataTree.load(zxid, sessions) };
}

/** The whole snapshot in one go, for snapshots small enough or callers with nothing else to do. */
export function decodeSnapshot(buf: Uint8Array): DataTree {
  const dec = new SnapshotDecoder(buf);
  dec.step(Infinity);
  return dec.finish();
}
