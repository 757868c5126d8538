/**
 * Maps and sets of paths split into shards, so that growing one never stops
 * the event loop for long. V8 grows a Map or Set by rehashing every entry
 * into a table twice the size in one go: about 370 ms at 2^20 entries and
 * 690 ms at 2^21, on every member at the same point of the write stream.
 * Split by a hash of the path, each shard holds a fraction of the entries and
 * its growth costs that fraction. Iteration is shard by shard, each shard in
 * insertion order, and — as for a Map — live: what is added to a shard not
 * reached yet is seen, what is deleted before it is reached is not.
 */

/** FNV-1a over the UTF-16 code units, folded so the low bits mix the high ones. */
function pathHash(path: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < path.length; i++) h = Math.imul(h ^ path.charCodeAt(i), 0x01000193);
  return h ^ (h >>> 15);
}

/** What a Map and a Set of paths have in common: the shard of a path, the count, has and delete. */
abstract class Shards<S extends Map<string, unknown> | Set<string>> {
  protected readonly shards: S[];
  private readonly mask: number;
  private count = 0;

  constructor(shards: number, make: () => S) {
    if (!Number.isInteger(Math.log2(shards))) throw new Error(`invariant: ${shards} shards is not a power of two`);
    this.shards = Array.from({ length: shards }, make);
    this.mask = shards - 1;
  }

  protected shard(path: string): S {
    return this.shards[pathHash(path) & this.mask]!;
  }

  /** Runs `put` on the path's shard, counting what it added. */
  protected put(path: string, put: (shard: S) => void): void {
    const shard = this.shard(path);
    const before = shard.size;
    put(shard);
    this.count += shard.size - before;
  }

  get size(): number {
    return this.count;
  }

  has(path: string): boolean {
    return this.shard(path).has(path);
  }

  delete(path: string): boolean {
    if (!this.shard(path).delete(path)) return false;
    this.count--;
    return true;
  }
}

/** A Map from paths, in shards. */
export class ShardedMap<V> extends Shards<Map<string, V>> {
  constructor(shards = 256) {
    super(shards, () => new Map<string, V>());
  }

  get(path: string): V | undefined {
    return this.shard(path).get(path);
  }

  set(path: string, value: V): this {
    this.put(path, (shard) => shard.set(path, value));
    return this;
  }

  *keys(): IterableIterator<string> {
    for (const shard of this.shards) yield* shard.keys();
  }

  *entries(): IterableIterator<[string, V]> {
    for (const shard of this.shards) yield* shard.entries();
  }

  [Symbol.iterator](): IterableIterator<[string, V]> {
    return this.entries();
  }
}

/** A Set of paths, in shards. */
export class ShardedSet extends Shards<Set<string>> {
  constructor(shards = 64) {
    super(shards, () => new Set<string>());
  }

  add(path: string): this {
    this.put(path, (shard) => shard.add(path));
    return this;
  }

  *values(): IterableIterator<string> {
    for (const shard of this.shards) yield* shard;
  }

  [Symbol.iterator](): IterableIterator<string> {
    return this.values();
  }
}

/** A set of paths that starts as a plain Set and moves to shards once large (most sets stay small). */
export type PathSet = Set<string> | ShardedSet;

/** Past this many entries, a PathSet moves to shards: 64 shards then hold ~128 each. */
export const SHARD_PATH_SET_AT = 8192;

/** Adds `path` to `set` (a new one when absent); the set to keep, which may be a new, sharded one. */
export function addPath(set: PathSet | null | undefined, path: string): PathSet {
  if (set === null || set === undefined) return new Set([path]);
  set.add(path);
  if (!(set instanceof Set) || set.size <= SHARD_PATH_SET_AT) return set;
  const sharded = new ShardedSet();
  for (const p of set) sharded.add(p);
  return sharded;
}
