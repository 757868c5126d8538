/**
 * Sharded maps and sets of paths (a large tree never rehashes one huge
 * table in one go), and a frozen walk that goes on while a large parent's
 * child set moves to shards under it.
 */
import { describe, expect, it } from 'vitest';
import { OpCode } from '@zooid/protocol';
import { SHARD_PATH_SET_AT, ShardedMap, ShardedSet, addPath } from '../src/sharded.js';
import { SnapshotEncoder, decodeSnapshot } from '../src/index.js';
import { Harness } from './harness.js';

const seq = (i: number) => `/q/n-${String(i).padStart(10, '0')}`;

describe('ShardedMap', () => {
  it('behaves as a Map, and no shard takes more than its share of sequential paths', () => {
    const m = new ShardedMap<number>(256);
    for (let i = 0; i < 100_000; i++) m.set(seq(i), i);
    m.set(seq(5), -5); // replaces, does not count twice
    expect(m.size).toBe(100_000);
    expect(m.get(seq(5))).toBe(-5);
    expect(m.has(seq(99_999))).toBe(true);
    expect(m.delete(seq(7))).toBe(true);
    expect(m.delete(seq(7))).toBe(false);
    expect(m.get(seq(7))).toBeUndefined();
    expect(m.size).toBe(99_999);
    expect([...m.keys()].sort()).toEqual(Array.from({ length: 100_000 }, (_, i) => seq(i)).filter((p) => p !== seq(7)));
    const shards = (m as unknown as { shards: Map<string, number>[] }).shards.map((s) => s.size);
    // A fair share is ~390; a hash that ignored most of the path would pile them up.
    expect(Math.max(...shards)).toBeLessThan(2 * (100_000 / 256));
  });

  it('refuses a shard count that is not a power of two', () => {
    expect(() => new ShardedMap(100)).toThrow(/power of two/);
  });
});

describe('addPath', () => {
  it('keeps a plain Set while small and moves to shards past the threshold, losing nothing', () => {
    let set = addPath(null, seq(0));
    for (let i = 1; i < SHARD_PATH_SET_AT; i++) set = addPath(set, seq(i));
    expect(set).toBeInstanceOf(Set);
    expect([...set]).toEqual(Array.from({ length: SHARD_PATH_SET_AT }, (_, i) => seq(i))); // creation order while small
    set = addPath(set, seq(SHARD_PATH_SET_AT));
    expect(set).toBeInstanceOf(ShardedSet);
    expect(set.size).toBe(SHARD_PATH_SET_AT + 1);
    expect(set.has(seq(123))).toBe(true);
    expect(set.delete(seq(123))).toBe(true);
    expect(set.has(seq(123))).toBe(false);
    expect(new Set(set).size).toBe(SHARD_PATH_SET_AT);
  });

  it('iterates live, as a Set does: deleted before being reached is not seen, added to a shard ahead is', () => {
    const set = new ShardedSet(4);
    for (let i = 0; i < 100; i++) set.add(seq(i));
    const it = set.values();
    const seen = [it.next().value!];
    for (let i = 0; i < 100; i++) if (!seen.includes(seq(i))) set.delete(seq(i)); // all but the first
    set.add(seq(1000));
    for (let r = it.next(); !r.done; r = it.next()) seen.push(r.value);
    expect(seen.slice(1).every((p) => p === seq(1000))).toBe(true);
  });
});

describe('a frozen walk over a parent whose children move to shards meanwhile', () => {
  it('gives the tree as it was when the walk began', () => {
    const h = new Harness();
    const s = h.session();
    h.create(s, '/q');
    const near = SHARD_PATH_SET_AT - 100;
    for (let i = 0; i < near; i++) h.create(s, seq(i), { data: Buffer.from(String(i)) });
    const atCut = h.tree.digest();
    const cutAt = h.log.length;
    const enc = new SnapshotEncoder(h.tree);
    enc.step(near / 2); // halfway through /q's children
    // Past the threshold (the set moves to shards), children not reached yet deleted and changed, some re-created.
    for (let i = near; i < near + 500; i++) h.create(s, seq(i));
    for (let i = near - 1; i > near - 300; i -= 3) h.delete(s, seq(i));
    for (let i = near - 2; i > near - 300; i -= 3) h.setData(s, seq(i), Buffer.from('changed'));
    for (let i = near - 1; i > near - 100; i -= 3) h.create(s, seq(i));
    for (let i = 10; i < 40; i++) h.delete(s, seq(i)); // already walked
    expect(h.tree.getNode('/q')!.children).toBeInstanceOf(ShardedSet);
    while (!enc.step(97)) h.setData(s, seq(near + 1), null);
    const loaded = decodeSnapshot(enc.finish());
    loaded.checkInvariants();
    expect(loaded.digest()).toBe(atCut);
    expect(loaded.getNode(seq(near - 2))!.data!.toString()).toBe(String(near - 2));
    for (const { hdr, txn } of h.log.slice(cutAt)) loaded.apply(hdr, txn);
    expect(loaded.digest()).toBe(h.tree.digest());
    loaded.checkInvariants();
    h.tree.checkInvariants();
  });

  it('holds for a large ephemeral set and the container and TTL indexes as well', () => {
    const h = new Harness({ extendedTypesEnabled: true });
    const s = h.session();
    for (let i = 0; i <= SHARD_PATH_SET_AT; i++) h.create(s, `/e${i}`, { flags: 1 });
    for (let i = 0; i < 50; i++) h.create(s, `/c${i}`, { op: OpCode.createContainer, flags: 4 });
    h.tree.checkInvariants();
    expect(h.tree.getNode('/c49')!.kind).toBe('container');
    expect(h.tree.ephemeralCount).toBe(SHARD_PATH_SET_AT + 1);
    expect(h.tree.getEphemerals(s.sessionId, '/e1').length).toBeGreaterThan(1000);
    h.write(s, OpCode.closeSession, {});
    expect(h.tree.ephemeralCount).toBe(0);
    expect(h.tree.emptyContainers()).toEqual([]);
    h.tree.checkInvariants();
  });
});
