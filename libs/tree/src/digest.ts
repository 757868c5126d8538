/**
 * The tree digest: a sum, modulo 2^48, of one CRC32 per znode part and per
 * session, in the spirit of ZooKeeper's DigestCalculator. A sum does not care
 * about insertion order, and it updates in O(1) per change: take a node's old
 * hash out, put its new one in.
 *
 * Each node contributes two hashes. The meta hash covers path, persisted stat
 * fields, kind/owner and ACL; the data hash covers path and data. Child
 * creation only changes the parent's meta, so it never re-hashes the
 * parent's data, however large.
 */
import { crc32 } from 'node:zlib';
import { KIND_CODE, type NodeFields } from './stat.js';

const MOD = 2 ** 48;
const META_SEED = crc32('meta');
const DATA_SEED = crc32('data');
const NULL_DATA_SEED = crc32('null-data');
const SESSION_SEED = crc32('session');

// Exact-sized scratch buffers: hashing allocates nothing.
const meta = Buffer.alloc(65);
const session = Buffer.alloc(12);

export function metaHash(path: string, n: NodeFields, aclHash: number): number {
  meta.writeDoubleBE(n.czxid, 0);
  meta.writeDoubleBE(n.mzxid, 8);
  meta.writeDoubleBE(n.pzxid, 16);
  meta.writeDoubleBE(n.ctime, 24);
  meta.writeDoubleBE(n.mtime, 32);
  meta.writeInt32BE(n.version, 40);
  meta.writeInt32BE(n.cversion, 44);
  meta.writeInt32BE(n.aversion, 48);
  meta.writeBigInt64BE(n.owner, 52);
  meta.writeUInt32BE(aclHash, 60);
  meta[64] = KIND_CODE[n.kind];
  return crc32(meta, crc32(path, META_SEED));
}

export function dataHash(path: string, data: Uint8Array | null): number {
  return data === null ? crc32(path, NULL_DATA_SEED) : crc32(data, crc32(path, DATA_SEED));
}

export function sessionHash(sessionId: bigint, timeout: number, verifier: Uint8Array): number {
  session.writeBigInt64BE(sessionId, 0);
  session.writeInt32BE(timeout, 8);
  return crc32(verifier, crc32(session, SESSION_SEED));
}

export function addHash(sum: number, h: number): number {
  return (sum + h) % MOD;
}

export function subHash(sum: number, h: number): number {
  return (sum - h + MOD) % MOD;
}

export function formatDigest(sum: number): string {
  return sum.toString(16).padStart(12, '0');
}
