import { describe, expect, it } from 'vitest';
import { Slabs } from '../src/slabs.js';

describe('copies packed into slabs', () => {
  it('copies: later changes to the source do not reach the copy', () => {
    const slabs = new Slabs(1024);
    const src = Buffer.from('hello');
    const c = slabs.copy(src);
    src.fill(0);
    expect(c.toString()).toBe('hello');
  });

  it('packs small copies side by side in a slab of their own, never in the shared pool', () => {
    const slabs = new Slabs(1024);
    const pooled = Buffer.allocUnsafe(16);
    const a = slabs.copy(Buffer.alloc(10, 1));
    const b = slabs.copy(Buffer.alloc(10, 2));
    expect(a.buffer).toBe(b.buffer);
    expect(a.buffer).not.toBe(pooled.buffer);
    expect(a.buffer.byteLength).toBe(1024);
    // Aligned to eight bytes, and apart.
    expect(b.byteOffset - a.byteOffset).toBe(16);
    expect([...a]).toEqual(Array(10).fill(1));
    expect([...b]).toEqual(Array(10).fill(2));
  });

  it('starts a new slab when one is full, and gives a large run a buffer of its own', () => {
    const slabs = new Slabs(1024);
    const first = slabs.copy(Buffer.alloc(100));
    let last = first;
    for (let i = 0; i < 10; i++) last = slabs.copy(Buffer.alloc(100));
    expect(last.buffer).not.toBe(first.buffer);
    const large = slabs.copy(Buffer.alloc(200, 7));
    expect(large.buffer.byteLength).toBe(200);
    expect(large.every((x) => x === 7)).toBe(true);
  });
});
