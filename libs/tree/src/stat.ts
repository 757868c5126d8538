/**
 * The znode record and how ZooKeeper turns it into a client Stat.
 *
 * Fields are stored as ZooKeeper persists them (StatPersisted), which is not
 * always what a client sees: `cversion` counts child creations only (it feeds
 * sequential names), and the reported cversion is `2 * cversion - numChildren`
 * (DataNode.copyStat), which adds the deletions back in. `owner` is the raw
 * ephemeralOwner: a session id, the container marker, or a TTL encoded the
 * way EphemeralType does; clients see it only for plain ephemerals.
 */
import type { ACL, Stat } from '@zooid/protocol';
import { childName } from './paths.js';
import type { PathSet } from './sharded.js';

export type NodeKind = 'persistent' | 'ephemeral' | 'container' | 'ttl';

/** EphemeralType.CONTAINER_EPHEMERAL_OWNER (Long.MIN_VALUE). */
export const CONTAINER_OWNER = -(2n ** 63n);
/** EphemeralType's extended-type marker: top byte 0xff, feature bits 0 = TTL. */
const TTL_MARK = -(2n ** 56n);
/** EphemeralType.TTL.maxValue(): the low 40 bits. */
export const MAX_TTL = 2 ** 40 - 1;
const TTL_BITS = BigInt(MAX_TTL);

export function ttlOwner(ttl: number): bigint {
  return TTL_MARK | BigInt(ttl);
}

export function ttlOf(owner: bigint): number {
  return Number(owner & TTL_BITS);
}

/**
 * The same owner value, as a shared bigint where one exists: a decoded txn or
 * snapshot carries a fresh bigint per node, and a heap object per persistent
 * node is memory for nothing.
 */
export function sharedOwner(owner: bigint): bigint {
  if (owner === 0n) return 0n;
  return owner === CONTAINER_OWNER ? CONTAINER_OWNER : owner;
}

/** The stored ephemeralOwner of a node of this kind. */
export function ownerFor(kind: NodeKind, sessionId: bigint, ttl: number): bigint {
  switch (kind) {
    case 'ephemeral':
      return sessionId;
    case 'container':
      return CONTAINER_OWNER;
    case 'ttl':
      return ttlOwner(ttl);
    default:
      return 0n;
  }
}

/**
 * Data up to this size is kept as a one-byte string, one character per byte:
 * a small Buffer of its own costs about 200 bytes of heap (its ArrayBuffer
 * and backing store), the string 16 plus its length. Most znodes are small.
 */
const COMPACT_DATA_BYTES = 1024;

/** Reading data back from its compact form: the same bytes, a fresh Buffer each time. */
const fromCompact = (s: string) => Buffer.from(s, 'latin1');

/**
 * A long-lived copy of bytes the tree keeps (large znode data, session
 * passwords). Copying means a node never pins the frame its data arrived
 * in; the copy is unpooled because a small pooled Buffer pins the whole
 * 8 KiB pool slab it shares with short-lived allocations.
 */
export function keep(bytes: Uint8Array): Buffer {
  const copy = Buffer.allocUnsafeSlow(bytes.length);
  copy.set(bytes);
  return copy;
}

function compact(data: Uint8Array | null): string | Buffer | null {
  if (data === null) return null;
  if (data.length <= COMPACT_DATA_BYTES) return Buffer.from(data.buffer, data.byteOffset, data.length).toString('latin1');
  return keep(data);
}

export class ZNode {
  /**
   * Child paths — the very strings the tree keys its nodes by, so that a
   * child costs its parent no string of its own; null for a leaf, which most
   * nodes are. In creation order while small, shard by shard once large.
   */
  children: PathSet | null = null;
  /** The data, stored compactly (see COMPACT_DATA_BYTES); never shares memory with the caller's bytes. */
  private stored: string | Buffer | null;
  /** The number of the last frozen walk (DataTree.freeze) that passed this node: it need not be preserved for that walk. */
  walked = 0;

  constructor(
    data: Uint8Array | null,
    /** Interned: nodes with equal ACLs share one array (see AclTable). */
    public acl: readonly ACL[],
    public kind: NodeKind,
    public owner: bigint,
    public czxid: number,
    public mzxid: number,
    public pzxid: number,
    public ctime: number,
    public mtime: number,
    public version: number,
    public cversion: number,
    public aversion: number,
  ) {
    this.stored = compact(data);
  }

  /** The same record as a separate object (sharing the immutable data): what a frozen walk keeps of a node about to change. */
  copy(): ZNode {
    const c = new ZNode(null, this.acl, this.kind, this.owner, this.czxid, this.mzxid, this.pzxid, this.ctime, this.mtime, this.version, this.cversion, this.aversion);
    c.stored = this.stored;
    return c;
  }

  /** The data (not to be modified); null for a node created without data. */
  get data(): Buffer | null {
    const s = this.stored;
    return typeof s === 'string' ? fromCompact(s) : s;
  }

  set data(bytes: Uint8Array | null) {
    this.stored = compact(bytes);
  }

  /** The children's names, in the order the set keeps them. */
  childNames(): string[] {
    return this.children === null ? [] : Array.from(this.children, childName);
  }

  get numChildren(): number {
    return this.children === null ? 0 : this.children.size;
  }

  get dataLength(): number {
    return this.stored === null ? 0 : this.stored.length;
  }
}

/** DataNode.copyStat. */
export function toStat(n: ZNode): Stat {
  const numChildren = n.numChildren;
  return {
    czxid: n.czxid,
    mzxid: n.mzxid,
    ctime: n.ctime,
    mtime: n.mtime,
    version: n.version,
    // int arithmetic, as in Java
    cversion: (Math.imul(n.cversion, 2) - numChildren) | 0,
    aversion: n.aversion,
    ephemeralOwner: n.kind === 'ephemeral' ? n.owner : 0n,
    dataLength: n.dataLength,
    numChildren,
    pzxid: n.pzxid,
  };
}
