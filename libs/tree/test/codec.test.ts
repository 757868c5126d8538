import { describe, expect, it } from 'vitest';
import { OpCode } from '@zooid/protocol';
import { CONTAINER_OWNER, DataTree, SnapshotDecoder, SnapshotEncoder, decodeSnapshot, decodeTxn, encodeSnapshot, encodeTxn, txnType, type Txn, type TxnHeader } from '../src/index.js';
import { Reader, Writer } from '../src/codec.js';
import { OPEN } from './harness.js';

const txns: Txn[] = [
  { type: 'create', op: OpCode.create, path: '/a', data: Buffer.from('x'), acl: OPEN, kind: 'persistent', ephemeralOwner: 0n, parentCVersion: 3 },
  { type: 'create', op: OpCode.create2, path: '/e', data: null, acl: OPEN, kind: 'ephemeral', ephemeralOwner: 0x7123456789abcdefn, parentCVersion: -2147483648 },
  { type: 'create', op: OpCode.createContainer, path: '/c', data: Buffer.alloc(0), acl: [], kind: 'container', ephemeralOwner: CONTAINER_OWNER, parentCVersion: 1 },
  { type: 'delete', path: '/a' },
  { type: 'deleteContainer', path: '/c' },
  { type: 'setData', path: '/ü/日本', data: Buffer.alloc(70_000, 7), version: 12 },
  { type: 'setACL', path: '/a', acl: [{ perms: 3, id: { scheme: 'digest', id: 'u:h=' } }], version: 1 },
  { type: 'check', path: '/a', version: 2 },
  { type: 'error', err: -110 },
  { type: 'multi', txns: [] },
  { type: 'multi', txns: [{ type: 'error', err: 0 }, { type: 'error', err: -101 }, { type: 'error', err: -2 }] },
  { type: 'multi', txns: [{ type: 'delete', path: '/x' }, { type: 'check', path: '/y', version: 0 }] },
  { type: 'createSession', sessionId: -1n, timeout: 30000, verifier: Buffer.alloc(32, 9) },
  { type: 'closeSession', sessionId: 0x100000923710000n },
  { type: 'reconfig', data: Buffer.from('server.1=a:2888:3888:participant;0.0.0.0:2181\nversion=100000002') },
];

describe('txn codec', () => {
  it.each(txns.map((t) => [t.type, t] as const))('round-trips %s', (_type, txn) => {
    const hdr: TxnHeader = { sessionId: 0x100000923710000n, cxid: -7, zxid: 0x1_0000_0005, time: 1_795_602_870_067, type: txnType(txn) };
    const buf = encodeTxn(hdr, txn);
    expect(decodeTxn(buf)).toEqual({ hdr, txn });
    // every strict prefix is refused, never misread
    for (const cut of [1, 5, buf.length >> 1, buf.length - 1]) expect(() => decodeTxn(buf.subarray(0, cut))).toThrow(RangeError);
    expect(() => decodeTxn(Buffer.concat([buf, Buffer.from([0])]))).toThrow(/trailing/);
  });

  it('refuses unknown formats and tags', () => {
    const good = encodeTxn({ sessionId: 0n, cxid: 0, zxid: 1, time: 0, type: -1 }, { type: 'error', err: 0 });
    const badFormat = Buffer.from(good);
    badFormat[0] = 9;
    expect(() => decodeTxn(badFormat)).toThrow(/format/);
    const badTag = Buffer.from(good);
    badTag[33] = 99; // after the 33-byte header
    expect(() => decodeTxn(badTag)).toThrow(/tag/);
  });

  it('headers carry the txn opcode', () => {
    expect(txns.map(txnType)).toEqual([1, 15, 19, 2, 20, 5, 7, 13, -1, 14, 14, 14, -10, -11, 16]);
  });
});

describe('snapshot codec', () => {
  it('refuses garbage and truncation', () => {
    const bytes = encodeSnapshot(new DataTree());
    expect(decodeSnapshot(bytes).digest()).toBe(new DataTree().digest());
    expect(() => decodeSnapshot(Buffer.from('nope'))).toThrow(RangeError);
    expect(() => decodeSnapshot(bytes.subarray(0, bytes.length - 3))).toThrow(RangeError);
  });

  it('decodes a step at a time, and says where a damaged one fails', () => {
    const tree = new DataTree();
    for (let i = 1; i <= 10_000; i++) {
      const txn: Txn = { type: 'create', op: OpCode.create, path: `/n${i}`, data: null, acl: OPEN, kind: 'persistent', ephemeralOwner: 0n, parentCVersion: i };
      tree.apply({ sessionId: 1n, cxid: i, zxid: i, time: 0, type: OpCode.create }, txn);
    }
    const bytes = encodeSnapshot(tree);
    const dec = new SnapshotDecoder(bytes);
    expect(dec.zxid).toBe(10_000);
    expect(dec.nodes).toBe(tree.nodeCount - 1); // zk_znode_count counts the root twice
    const seen: number[] = [];
    while (!dec.step(4096)) seen.push(dec.done);
    expect(seen).toEqual([4096, 8192]);
    expect(dec.done).toBe(dec.nodes);
    expect(dec.finish().digest()).toBe(tree.digest());
    expect(() => new SnapshotDecoder(bytes).finish()).toThrow(/not decoded yet/);

    const cut = new SnapshotDecoder(bytes.subarray(0, bytes.length - 100));
    expect(cut.step(8192)).toBe(false);
    expect(() => cut.step(8192)).toThrow(RangeError);
  });
});

describe('a snapshot that arrives in parts', () => {
  /** Sessions enough that the header spans several parts, and nodes from empty to larger than a part. */
  function sample(): DataTree {
    const tree = new DataTree();
    let zxid = 0;
    for (let i = 1; i <= 300; i++) tree.apply({ sessionId: BigInt(i), cxid: 0, zxid: ++zxid, time: 0, type: OpCode.createSession }, { type: 'createSession', sessionId: BigInt(i), timeout: 30_000, verifier: Buffer.alloc(16, i) });
    for (let i = 1; i <= 2_000; i++) {
      const data = i % 500 === 0 ? Buffer.alloc(40_000, i) : i % 3 === 0 ? null : Buffer.from(`value-${i}`);
      // Seven parents first, then children under them.
      const path = i <= 7 ? `/p${i % 7}` : `/p${i % 7}/n${i}`;
      tree.apply({ sessionId: 1n, cxid: i, zxid: ++zxid, time: 0, type: OpCode.create }, { type: 'create', op: OpCode.create, path, data, acl: OPEN, kind: 'persistent', ephemeralOwner: 0n, parentCVersion: i });
    }
    return tree;
  }

  /** Cuts at seeded random places: some parts a byte long, some longer than a node. */
  function cut(bytes: Buffer, seed: number): Buffer[] {
    const parts: Buffer[] = [];
    let x = seed;
    for (let at = 0; at < bytes.length; ) {
      x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
      const len = x % 4 === 0 ? 1 : 1 + (x % 9_000);
      parts.push(bytes.subarray(at, at + len));
      at += len;
    }
    return parts;
  }

  it('decodes what has arrived, wherever the cuts fall (in the header, inside a node), and is complete with the last part', () => {
    const tree = sample();
    const bytes = encodeSnapshot(tree);
    for (const seed of [1, 2, 3]) {
      const parts = cut(bytes, seed);
      expect(parts.length).toBeGreaterThan(100);
      const dec = new SnapshotDecoder();
      parts.forEach((part, i) => {
        dec.add(part);
        const complete = dec.step(Infinity);
        expect(complete, `after part ${i} of ${parts.length}`).toBe(i === parts.length - 1);
        if (!complete) expect(dec.starved).toBe(true);
      });
      expect(dec.zxid).toBe(tree.lastZxid);
      dec.end();
      expect(dec.finish().digest()).toBe(tree.digest());
    }
  });

  it("decodes an encoder's parts as the walk makes them, a budget at a time", () => {
    const tree = sample();
    const enc = new SnapshotEncoder(tree, 16 * 1024);
    const dec = new SnapshotDecoder();
    let parts = 0;
    for (let done = false; !done; ) {
      done = enc.step(100);
      if (done || enc.buffered >= 16 * 1024) {
        dec.add(enc.take());
        parts++;
      }
      // Within its budget it stops short of what arrived; then it has had its fill.
      while (!dec.step(50) && !dec.starved);
    }
    expect(parts).toBeGreaterThan(5);
    dec.end();
    expect(dec.step(50)).toBe(true);
    expect(dec.finish().digest()).toBe(tree.digest());
  });

  it('refuses a snapshot cut short once its end is known, and bytes after its end', () => {
    const bytes = encodeSnapshot(sample());
    const short = new SnapshotDecoder();
    short.add(bytes.subarray(0, bytes.length - 10));
    expect(short.step(Infinity)).toBe(false);
    expect(short.starved).toBe(true);
    short.end();
    expect(() => short.step(Infinity)).toThrow(RangeError);

    const long = new SnapshotDecoder();
    long.add(bytes);
    long.add(Buffer.from([0]));
    long.end();
    expect(() => long.step(Infinity)).toThrow(/trailing/);

    const late = new SnapshotDecoder();
    late.add(bytes);
    expect(late.step(Infinity)).toBe(true);
    late.add(Buffer.from([0]));
    expect(() => late.finish()).toThrow(/trailing/);
    expect(() => new SnapshotDecoder(Buffer.from([0x5a, 0x53]))).toThrow(RangeError);
  });
});

describe('binary primitives', () => {
  it('round-trip strings and byte strings on both sides of the short-copy length', () => {
    const strs = ['', '/', 'a'.repeat(64), 'a'.repeat(65), `/${'b'.repeat(62)}é`, `/${'c'.repeat(70)}日本`, '/ü', `${'d'.repeat(40)}\u{1F600}`];
    // A stored byte string holds one code unit per byte, the high half included.
    const latin1 = [0, 1, 64, 65, 300].map((n) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 37) & 0xff)));
    const w = new Writer(8); // small, so that writes grow it
    for (const s of strs) w.str(s);
    for (const b of latin1) w.bytes(b.toString('latin1'));
    for (const b of latin1) w.bytes(b);
    w.bytes(null);
    const r = new Reader(w.finish());
    for (const s of strs) expect(r.str()).toBe(s);
    for (const b of latin1) expect(r.bytes()).toEqual(b);
    for (const b of latin1) expect(r.bytes()).toEqual(b);
    expect(r.bytes()).toBeNull();
    expect(r.done).toBe(true);
  });

  it('round-trip the edges of each integer width', () => {
    const w = new Writer(4);
    const i32s = [0, -1, 2 ** 31 - 1, -(2 ** 31)];
    const u32s = [0, 1, 2 ** 32 - 1];
    const i64s = [0n, 1n, -1n, 2n ** 63n - 1n, -(2n ** 63n)];
    const nums = [0, 1, -1, 2 ** 32, 2 ** 32 + 5, -(2 ** 32) - 5, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER];
    for (const v of i32s) w.i32(v);
    for (const v of u32s) w.u32(v);
    for (const v of i64s) w.i64(v);
    for (const v of nums) w.num(v);
    const r = new Reader(w.finish());
    expect(i32s.map(() => r.i32())).toEqual(i32s);
    expect(u32s.map(() => r.u32())).toEqual(u32s);
    expect(i64s.map(() => r.i64())).toEqual(i64s);
    expect(nums.map(() => r.num())).toEqual(nums);
    expect(r.done).toBe(true);
  });

  it('refuse a value that does not fit rather than wrap it', () => {
    const w = new Writer();
    expect(() => w.i32(2 ** 31)).toThrow(RangeError);
    expect(() => w.i32(1.5)).toThrow(RangeError);
    expect(() => w.u32(-1)).toThrow(RangeError);
    expect(() => w.u32(2 ** 32)).toThrow(RangeError);
    expect(() => w.i64(2n ** 63n)).toThrow(RangeError);
    expect(() => w.num(2 ** 53)).toThrow(RangeError);
    expect(() => w.num(0.5)).toThrow(RangeError);
    expect(w.length).toBe(0);
  });
});
