/**
 * Interned ACL lists, as ZooKeeper's ReferenceCountedACLCache: most znodes
 * share a handful of ACLs, so each node holds a reference to one shared,
 * frozen array instead of its own copy. Reference counts let a list go when
 * its last node does.
 */
import { crc32 } from 'node:zlib';
import type { ACL } from '@zooid/protocol';
import { OPEN_ACL } from './acl.js';

interface Entry {
  readonly acl: readonly ACL[];
  readonly key: string;
  /** Feeds the node digests, so an ACL change shows up in the tree digest. */
  readonly hash: number;
  refs: number;
}

function keyOf(acl: readonly ACL[]): string {
  let k = '';
  for (const a of acl) k += `${a.perms}\u0000${a.id.scheme}\u0000${a.id.id}\u0001`;
  return k;
}

const OPEN_KEY = keyOf(OPEN_ACL);

function sameAcl(a: readonly ACL[], b: readonly ACL[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.perms !== y.perms || x.id.scheme !== y.id.scheme || x.id.id !== y.id.id) return false;
  }
  return true;
}

export class AclTable {
  private readonly byKey = new Map<string, Entry>();
  private readonly byList = new Map<readonly ACL[], Entry>();
  /** The entry interned last: a client's creates mostly repeat one ACL, each decoded into a list of its own, and comparing is cheaper than making its key. */
  private last: Entry | undefined;

  /** The shared list equal to `acl`, with one more reference. */
  intern(acl: readonly ACL[]): readonly ACL[] {
    let e = this.byList.get(acl);
    if (e === undefined && this.last !== undefined && sameAcl(acl, this.last.acl)) e = this.last;
    if (e === undefined) {
      const key = keyOf(acl);
      e = this.byKey.get(key);
      if (e === undefined) {
        // The canonical open ACL stays the shared constant, so `=== OPEN_ACL` tests keep working.
        const list = key === OPEN_KEY ? OPEN_ACL : Object.freeze(acl.map((a) => Object.freeze({ perms: a.perms, id: Object.freeze({ ...a.id }) })));
        e = { acl: list, key, hash: crc32(key), refs: 0 };
        this.byKey.set(key, e);
        this.byList.set(list, e);
      }
    }
    e.refs++;
    this.last = e;
    return e.acl;
  }

  release(acl: readonly ACL[]): void {
    const e = this.byList.get(acl);
    if (e === undefined) throw new Error('releasing an ACL that was never interned');
    if (--e.refs === 0) {
      this.byKey.delete(e.key);
      this.byList.delete(e.acl);
      if (this.last === e) this.last = undefined;
    }
  }

  hashOf(acl: readonly ACL[]): number {
    const e = this.byList.get(acl);
    if (e === undefined) throw new Error('hashing an ACL that was never interned');
    return e.hash;
  }

  get size(): number {
    return this.byKey.size;
  }

  /** Every interned list, for the snapshot. */
  lists(): IterableIterator<readonly ACL[]> {
    return this.byList.keys();
  }
}
