import { describe, expect, it } from 'vitest';
import type { ACL } from '@zooid/protocol';
import { OPEN_ACL } from '../src/acl.js';
import { AclTable } from '../src/acl-table.js';

// Each call makes new objects, as decoding a request does.
const open = (): ACL[] => [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
const digest = (user: string, perms = 31): ACL[] => [{ perms, id: { scheme: 'digest', id: `${user}:hash=` } }];

describe('AclTable', () => {
  it('shares one list among equal ACLs, whichever was interned last', () => {
    const t = new AclTable();
    const a = t.intern(digest('alice'));
    const b = t.intern(digest('bob'));
    expect(t.intern(digest('alice'))).toBe(a);
    expect(t.intern(digest('alice'))).toBe(a);
    expect(t.intern(digest('bob'))).toBe(b);
    expect(t.intern(open())).toBe(OPEN_ACL);
    expect(t.intern(digest('alice', 1))).not.toBe(a);
    expect(t.intern([...digest('alice'), ...digest('bob')])).not.toBe(t.intern([...digest('bob'), ...digest('alice')]));
    expect(t.size).toBe(6);
  });

  it('lets a list go with its last reference, the one interned last included', () => {
    const t = new AclTable();
    const a = t.intern(digest('alice'));
    t.intern(digest('alice'));
    t.release(a);
    expect(t.size).toBe(1);
    t.release(a);
    expect(t.size).toBe(0);
    expect(() => t.hashOf(a)).toThrow(/never interned/);
    // Interned again it is a new entry with one reference: one release lets it go.
    const again = t.intern(digest('alice'));
    expect(again).toEqual(a);
    expect(t.size).toBe(1);
    t.release(again);
    expect(t.size).toBe(0);
  });

  it('hashes equal lists alike however they were found', () => {
    const t = new AclTable();
    const first = t.hashOf(t.intern(digest('carol')));
    t.intern(digest('dave'));
    expect(t.hashOf(t.intern(digest('carol')))).toBe(first);
    expect(t.hashOf(t.intern(digest('carol')))).toBe(first);
    expect(t.hashOf(t.intern(digest('dave')))).not.toBe(first);
  });
});
