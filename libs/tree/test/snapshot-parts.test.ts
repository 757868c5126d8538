import { describe, expect, it } from 'vitest';
import { DataTree, SnapshotEncoder, encodeSnapshot } from '../src/index.js';
import { OPEN } from './harness.js';

/** A tree of `n` znodes of `bytes` bytes each. */
function tree(n: number, bytes: number): DataTree {
  const t = new DataTree();
  let zxid = 0;
  const create = (path: string, data: Buffer, cversion: number) =>
    t.apply({ sessionId: 1n, cxid: zxid, zxid: ++zxid, time: 1, type: 1 }, { type: 'create', op: 1, path, data, acl: OPEN, kind: 'persistent', ephemeralOwner: 0n, parentCVersion: cversion });
  create('/big', Buffer.alloc(0), 1);
  for (let i = 0; i < n; i++) create(`/big/n${i}`, Buffer.alloc(bytes, i), i + 1);
  return t;
}

describe('a snapshot taken in parts', () => {
  it('is the same bytes as one built whole, and no step runs far past a full part, large znodes or not', () => {
    const t = tree(40, 5000);
    const whole = encodeSnapshot(t);
    const enc = new SnapshotEncoder(t, 8192);
    const parts: Buffer[] = [];
    for (let done = false; !done; ) {
      done = enc.step(256);
      // A part closes at the first node that fills it: at most one znode's worth beyond.
      expect(enc.buffered).toBeLessThan(8192 + 5000 + 100);
      if (done || enc.buffered >= 8192) parts.push(enc.take());
    }
    expect(parts.length).toBeGreaterThan(20);
    expect(Buffer.concat(parts).equals(whole)).toBe(true);
    expect(() => new SnapshotEncoder(tree(1, 1)).take()).toThrow(/built whole/);
  });
});
