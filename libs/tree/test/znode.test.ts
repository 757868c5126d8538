import { describe, expect, it } from 'vitest';
import { ZNode } from '../src/stat.js';
import { OPEN } from './harness.js';

const node = (data: Uint8Array | null) => new ZNode(data, OPEN, 'persistent', 0n, 1, 1, 1, 0, 0, 0, 0, 0);

describe('znode data', () => {
  it.each([0, 1, 255, 1024, 1025, 70_000])('round trips every byte value at %i bytes, never keeping the caller\'s memory', (size) => {
    const bytes = Buffer.alloc(size);
    for (let i = 0; i < size; i++) bytes[i] = (i * 7 + 3) & 0xff;
    const original = Buffer.from(bytes);
    const n = node(bytes);
    bytes.fill(0); // the caller reuses its buffer
    expect(n.data!.equals(original)).toBe(true);
    expect(n.dataLength).toBe(size);
    n.data = new Uint8Array([0xff, 0x00, 0x80]);
    expect(n.data).toEqual(Buffer.from([0xff, 0x00, 0x80]));
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
