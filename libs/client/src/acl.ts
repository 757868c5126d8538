/**
 * ACL helpers: ZooDefs.Ids, the digest scheme's id, and the `cdrwa` and
 * `scheme:id:perms` notations zkCli reads and prints.
 */
import { createHash } from 'node:crypto';
import { Perms } from '@zooid/protocol/wire';
import type { ACL } from '@zooid/protocol/wire';

export { Perms };

/** world:anyone with every permission (ZooDefs.Ids.OPEN_ACL_UNSAFE). */
export const OPEN_ACL_UNSAFE: ACL[] = [{ perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } }];
/** Every permission to the creator's authenticated ids (ZooDefs.Ids.CREATOR_ALL_ACL). */
export const CREATOR_ALL_ACL: ACL[] = [{ perms: Perms.ALL, id: { scheme: 'auth', id: '' } }];
/** world:anyone may read (ZooDefs.Ids.READ_ACL_UNSAFE). */
export const READ_ACL_UNSAFE: ACL[] = [{ perms: Perms.READ, id: { scheme: 'world', id: 'anyone' } }];

/** The digest scheme's id for a user: `user:base64(sha1("user:password"))`. */
export function digestId(user: string, password: string): string {
  return `${user}:${createHash('sha1').update(`${user}:${password}`).digest('base64')}`;
}

const PERM_CHARS: [string, number][] = [
  ['c', Perms.CREATE],
  ['d', Perms.DELETE],
  ['r', Perms.READ],
  ['w', Perms.WRITE],
  ['a', Perms.ADMIN],
];

/** 'cdrwa' → 31. Throws on a letter that is not one of c, d, r, w, a. */
export function parsePerms(s: string): number {
  let perms = 0;
  for (const ch of s) {
    const p = PERM_CHARS.find(([c]) => c === ch);
    if (!p) throw new Error(`Unknown perm type: ${ch}`);
    perms |= p[1];
  }
  return perms;
}

/** 31 → 'cdrwa', in zkCli's order. */
export function formatPerms(perms: number): string {
  return PERM_CHARS.filter(([, bit]) => perms & bit)
    .map(([c]) => c)
    .join('');
}

/**
 * zkCli's ACL notation: comma-separated `scheme:id:perms`, the id running
 * from the first colon to the last (so `digest:user:hash:rw` and `auth::cdrwa`
 * work). Throws on an entry without two colons.
 */
export function parseAcl(s: string): ACL[] {
  return s.split(',').map((entry) => {
    const first = entry.indexOf(':');
    const last = entry.lastIndexOf(':');
    if (first === -1 || first === last) throw new Error(`${entry} does not have the form scheme:id:perm`);
    return { perms: parsePerms(entry.slice(last + 1)), id: { scheme: entry.slice(0, first), id: entry.slice(first + 1, last) } };
  });
}
