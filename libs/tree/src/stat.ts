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

/** The data as a node keeps it: small data as a one-byte string (see COMPACT_DATA_BYTES), never sharing memory with the caller's bytes. */
export type StoredData = string | Buffer | null;

export function storeData(data: Uint8Array | null): StoredData {
  if (data === null) return null;
  if (data.length <= COMPACT_DATA_BYTES) return (Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.length)).toString('latin1');
  return keep(data);
}

/** Stored data read back: the same bytes, a fresh Buffer each time for the compact form. */
export function storedData(s: StoredData): Buffer | null {
  return typeof s === 'string' ? Buffer.from(s, 'latin1') : s;
}

/** A znode's persisted fields, wherever they are kept: the tree's node store (ZNode) or a record of their own. */
export interface NodeFields {
  readonly acl: readonly ACL[];
  readonly kind: NodeKind;
  readonly owner: bigint;
  readonly czxid: number;
  readonly mzxid: number;
  readonly pzxid: number;
  readonly ctime: number;
  readonly mtime: number;
  readonly version: number;
  readonly cversion: number;
  readonly aversion: number;
  /** The data (not to be modified); null for a node created without data. */
  readonly data: Buffer | null;
  /** The data as kept: what a snapshot writes without making a Buffer of it. */
  readonly stored: StoredData;
  readonly dataLength: number;
}

/** The kinds in the order the snapshot format and the node store number them. */
export const KINDS: readonly NodeKind[] = ['persistent', 'ephemeral', 'container', 'ttl'];
export const KIND_CODE: Readonly<Record<NodeKind, number>> = { persistent: 0, ephemeral: 1, container: 2, ttl: 3 };

/**
 * A znode's fields in an object of their own: a node on its way into the
 * tree (created, or read from a snapshot), or the copy a frozen walk keeps
 * of one about to change. The tree itself keeps nodes in its NodeStore.
 */
export class NodeRecord implements NodeFields {
  readonly stored: StoredData;

  constructor(
    data: Uint8Array | null,
    public readonly acl: readonly ACL[],
    public readonly kind: NodeKind,
    public readonly owner: bigint,
    public readonly czxid: number,
    public readonly mzxid: number,
    public readonly pzxid: number,
    public readonly ctime: number,
    public readonly mtime: number,
    public readonly version: number,
    public readonly cversion: number,
    public readonly aversion: number,
    stored?: StoredData,
  ) {
    this.stored = stored === undefined ? storeData(data) : stored;
  }

  get data(): Buffer | null {
    return storedData(this.stored);
  }

  get dataLength(): number {
    return this.stored === null ? 0 : this.stored.length;
  }
}

/** DataNode.copyStat. */
export function toStat(n: NodeFields & { readonly numChildren: number }): Stat {
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
