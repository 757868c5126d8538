import { describe, expect, it } from 'vitest';
import { NodeStore } from '../src/node-store.js';
import { NodeRecord } from '../src/stat.js';
import { OPEN } from './harness.js';

const record = (data: Uint8Array | null, at = 1) => new NodeRecord(data, OPEN, 'persistent', 0n, at, at, at, 0, 0, 0, 0, 0);
const node = (data: Uint8Array | null) => new NodeStore().add(record(data), OPEN);

describe('znode data', () => {
  it.each([0, 1, 255, 1024, 1025, 70_000])('round trips every byte value at %i bytes, never keeping the caller\'s memory', (size) => {
    const bytes = Buffer.alloc(size);
    for (let i = 0; i < size; i++) bytes[i] = (i * 7 + 3) & 0xff;
    const original = Buffer.from(bytes);
    const r = record(bytes);
    const n = new NodeStore().add(r, OPEN);
    bytes.fill(0); // the caller reuses its buffer
    expect(r.data!.equals(original)).toBe(true);
    expect(n.data!.equals(original)).toBe(true);
    expect(n.dataLength).toBe(size);
    n.data = new Uint8Array([0xff, 0x00, 0x80]);
    expect(n.data).toEqual(Buffer.from([0xff, 0x00, 0x80]));
    expect(n.copy().data).toEqual(Buffer.from([0xff, 0x00, 0x80]));
  });

  it('keeps null apart from empty', () => {
    expect(node(null).data).toBeNull();
    expect(node(null).dataLength).toBe(0);
    expect(node(new Uint8Array(0)).data).toEqual(Buffer.alloc(0));
  });

  it('takes a view into a larger buffer at its offset', () => {
    const frame = Buffer.from('xxhello-worldyy');
    expect(node(frame.subarray(2, 13)).data!.toString()).toBe('hello-world');
  });
});

describe('the node store', () => {
  const full = (i: number) =>
    new NodeRecord(Buffer.from(`d${i}`), OPEN, i % 2 ? 'ephemeral' : 'ttl', BigInt(i) * 0x1_0000_0001n - 5n, 2 ** 40 + i, 2 ** 41 + i, 2 ** 42 + i, 1.7e12 + i, 1.8e12 + i, i, 1 - i, i * 3);

  it('keeps every field of every node apart, across chunks, 64-bit owners and zxids exactly', () => {
    const store = new NodeStore();
    const n = 40_000; // more than two chunks
    const nodes = Array.from({ length: n }, (_, i) => store.add(full(i), OPEN));
    expect(store.size).toBe(n);
    for (const i of [0, 1, 16_383, 16_384, 16_385, 32_768, n - 1]) {
      const z = store.node(nodes[i]!.slot);
      expect([z.kind, z.owner, z.czxid, z.mzxid, z.pzxid, z.ctime, z.mtime, z.version, z.cversion, z.aversion, z.data!.toString()]).toEqual([
        i % 2 ? 'ephemeral' : 'ttl', BigInt(i) * 0x1_0000_0001n - 5n, 2 ** 40 + i, 2 ** 41 + i, 2 ** 42 + i, 1.7e12 + i, 1.8e12 + i, i, 1 - i, i * 3, `d${i}`,
      ]);
    }
  });

  it('writes through a handle to the slot, seen by every other handle on it, and nowhere else', () => {
    const store = new NodeStore();
    const a = store.add(full(1), OPEN);
    const b = store.add(full(2), OPEN);
    const a2 = store.node(a.slot);
    a.mzxid = 2 ** 50;
    a.version = 7;
    a.walked = 3;
    a.children = null;
    expect([a2.mzxid, a2.version, a2.walked]).toEqual([2 ** 50, 7, 3]);
    expect([b.mzxid, b.version, b.walked]).toEqual([2 ** 41 + 2, 2, 0]);
  });

  it('a copy keeps the fields as they were when it was made', () => {
    const store = new NodeStore();
    const a = store.add(full(1), OPEN);
    const before = a.copy();
    a.mzxid = 99;
    a.data = Buffer.from('new');
    expect(before.mzxid).toBe(2 ** 41 + 1);
    expect(before.data!.toString()).toBe('d1');
  });

  it('reuses a released slot for the next node, lets go of what it held, and refuses to release one twice', () => {
    const store = new NodeStore();
    const a = store.add(full(1), OPEN);
    store.add(full(2), OPEN);
    a.walked = 9;
    store.release(a.slot);
    expect(store.size).toBe(1);
    expect(() => store.release(a.slot)).toThrow(/invariant/);
    const c = store.add(full(3), OPEN);
    expect(c.slot).toBe(a.slot);
    // A new node in an old slot starts unwalked, with its own fields.
    expect([c.walked, c.version, c.data!.toString()]).toEqual([0, 3, 'd3']);
  });
});
