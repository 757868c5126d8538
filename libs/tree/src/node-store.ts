/**
 * Where the tree keeps its znodes: in columns, one slot per node, instead of
 * an object per node.
 *
 * An object per znode cost about 170 bytes of heap on a 64-bit Node: a
 * header and fourteen 8-byte fields, and a heap number apiece for its zxids
 * and its times, which do not fit a small integer. In columns the same node
 * takes 89 bytes: five float64s (zxids, times), four int32s (versions and
 * the frozen-walk mark), its owner as an int64, its kind as a byte, and
 * three references (children, data, ACL). Times three replicas, that is the
 * difference between more and less memory per znode than ZooKeeper.
 *
 * Columns grow a chunk at a time, never by copying what is there: no pause
 * at a million znodes, and at most one chunk unused. A removed node's slot
 * is reused by the next one created.
 *
 * The tree maps a path to its slot; `ZNode` is a short-lived handle on one
 * slot, made per lookup. A handle must not outlive its node: once the tree
 * removes the node, the slot is someone else's.
 */
import type { ACL } from '@zooid/protocol';
import { childName } from './paths.js';
import type { PathSet } from './sharded.js';
import { KINDS, KIND_CODE, NodeRecord, storeData, storedData, type NodeFields, type NodeKind, type StoredData } from './stat.js';

const CHUNK_BITS = 14;
const CHUNK = 1 << CHUNK_BITS;
const MASK = CHUNK - 1;

// Column offsets within a slot's run of each array.
const F_CZXID = 0;
const F_MZXID = 1;
const F_PZXID = 2;
const F_CTIME = 3;
const F_MTIME = 4;
const F64S = 5;
const I_VERSION = 0;
const I_CVERSION = 1;
const I_AVERSION = 2;
const I_WALKED = 3;
const I32S = 4;
const R_CHILDREN = 0;
const R_DATA = 1;
const R_ACL = 2;
const REFS = 3;

class Chunk {
  readonly f64 = new Float64Array(CHUNK * F64S);
  readonly i32 = new Int32Array(CHUNK * I32S);
  readonly owner = new BigInt64Array(CHUNK);
  readonly kind = new Uint8Array(CHUNK);
  readonly refs: unknown[] = new Array<unknown>(CHUNK * REFS).fill(null);
}

export class NodeStore {
  private readonly chunks: Chunk[] = [];
  private readonly free: number[] = [];
  private used = 0;
  private live = 0;

  /** Nodes held. */
  get size(): number {
    return this.live;
  }

  /** A slot for a new node, filled from `r` (its ACL as given: the tree interns it first). */
  add(r: NodeRecord, acl: readonly ACL[]): ZNode {
    let slot = this.free.pop();
    if (slot === undefined) {
      slot = this.used++;
      if (slot >>> CHUNK_BITS === this.chunks.length) this.chunks.push(new Chunk());
    }
    this.live++;
    const n = this.node(slot);
    const { f64, i32, refs } = n.chunk;
    const i = n.index;
    f64[i * F64S + F_CZXID] = r.czxid;
    f64[i * F64S + F_MZXID] = r.mzxid;
    f64[i * F64S + F_PZXID] = r.pzxid;
    f64[i * F64S + F_CTIME] = r.ctime;
    f64[i * F64S + F_MTIME] = r.mtime;
    i32[i * I32S + I_VERSION] = r.version;
    i32[i * I32S + I_CVERSION] = r.cversion;
    i32[i * I32S + I_AVERSION] = r.aversion;
    i32[i * I32S + I_WALKED] = 0;
    n.chunk.owner[i] = r.owner;
    n.chunk.kind[i] = KIND_CODE[r.kind];
    refs[i * REFS + R_CHILDREN] = null;
    refs[i * REFS + R_DATA] = r.stored;
    refs[i * REFS + R_ACL] = acl;
    return n;
  }

  /** A handle on the node in `slot`. */
  node(slot: number): ZNode {
    return new ZNode(this.chunks[slot >>> CHUNK_BITS]!, slot & MASK, slot);
  }

  /** The node in `slot` is gone: what it referred to is let go, and the slot is free for the next. */
  release(slot: number): void {
    if (slot >= this.used || this.live === 0) throw new Error(`invariant: releasing slot ${slot}, which holds no node`);
    const c = this.chunks[slot >>> CHUNK_BITS]!;
    const base = (slot & MASK) * REFS;
    if (c.refs[base + R_ACL] === null) throw new Error(`invariant: slot ${slot} released twice`);
    c.refs[base + R_CHILDREN] = null;
    c.refs[base + R_DATA] = null;
    c.refs[base + R_ACL] = null;
    this.live--;
    this.free.push(slot);
  }
}

/** A handle on one node of a NodeStore: its fields, read and written in the columns. */
export class ZNode implements NodeFields {
  constructor(
    /** The columns of the node's chunk, and its place in them. */
    readonly chunk: Chunk,
    readonly index: number,
    readonly slot: number,
  ) {}

  get czxid(): number {
    return this.chunk.f64[this.index * F64S + F_CZXID]!;
  }
  set czxid(v: number) {
    this.chunk.f64[this.index * F64S + F_CZXID] = v;
  }
  get mzxid(): number {
    return this.chunk.f64[this.index * F64S + F_MZXID]!;
  }
  set mzxid(v: number) {
    this.chunk.f64[this.index * F64S + F_MZXID] = v;
  }
  get pzxid(): number {
    return this.chunk.f64[this.index * F64S + F_PZXID]!;
  }
  set pzxid(v: number) {
    this.chunk.f64[this.index * F64S + F_PZXID] = v;
  }
  get ctime(): number {
    return this.chunk.f64[this.index * F64S + F_CTIME]!;
  }
  get mtime(): number {
    return this.chunk.f64[this.index * F64S + F_MTIME]!;
  }
  set mtime(v: number) {
    this.chunk.f64[this.index * F64S + F_MTIME] = v;
  }
  get version(): number {
    return this.chunk.i32[this.index * I32S + I_VERSION]!;
  }
  set version(v: number) {
    this.chunk.i32[this.index * I32S + I_VERSION] = v;
  }
  get cversion(): number {
    return this.chunk.i32[this.index * I32S + I_CVERSION]!;
  }
  set cversion(v: number) {
    this.chunk.i32[this.index * I32S + I_CVERSION] = v;
  }
  get aversion(): number {
    return this.chunk.i32[this.index * I32S + I_AVERSION]!;
  }
  set aversion(v: number) {
    this.chunk.i32[this.index * I32S + I_AVERSION] = v;
  }
  /** The number of the last frozen walk (DataTree.freeze) that passed this node: it need not be preserved for that walk. */
  get walked(): number {
    return this.chunk.i32[this.index * I32S + I_WALKED]!;
  }
  set walked(v: number) {
    this.chunk.i32[this.index * I32S + I_WALKED] = v;
  }
  get owner(): bigint {
    return this.chunk.owner[this.index]!;
  }
  get kind(): NodeKind {
    return KINDS[this.chunk.kind[this.index]!]!;
  }

  /**
   * Child paths — the very strings the tree keys its nodes by, so that a
   * child costs its parent no string of its own; null for a leaf, which most
   * nodes are. In creation order while small, shard by shard once large.
   */
  get children(): PathSet | null {
    return this.chunk.refs[this.index * REFS + R_CHILDREN] as PathSet | null;
  }
  set children(c: PathSet | null) {
    this.chunk.refs[this.index * REFS + R_CHILDREN] = c;
  }

  /** Interned: nodes with equal ACLs share one array (see AclTable). */
  get acl(): readonly ACL[] {
    return this.chunk.refs[this.index * REFS + R_ACL] as readonly ACL[];
  }
  set acl(a: readonly ACL[]) {
    this.chunk.refs[this.index * REFS + R_ACL] = a;
  }

  get stored(): StoredData {
    return this.chunk.refs[this.index * REFS + R_DATA] as StoredData;
  }

  /** The data (not to be modified); null for a node created without data. */
  get data(): Buffer | null {
    return storedData(this.stored);
  }
  set data(bytes: Uint8Array | null) {
    this.chunk.refs[this.index * REFS + R_DATA] = storeData(bytes);
  }

  get dataLength(): number {
    const s = this.stored;
    return s === null ? 0 : s.length;
  }

  get numChildren(): number {
    const c = this.children;
    return c === null ? 0 : c.size;
  }

  /** The children's names, in the order the set keeps them. */
  childNames(): string[] {
    const c = this.children;
    return c === null ? [] : Array.from(c, childName);
  }

  /** The node's fields as a record of their own (sharing the immutable data): what a frozen walk keeps of a node about to change. */
  copy(): NodeRecord {
    return new NodeRecord(null, this.acl, this.kind, this.owner, this.czxid, this.mzxid, this.pzxid, this.ctime, this.mtime, this.version, this.cversion, this.aversion, this.stored);
  }
}
