/**
 * ACL semantics of ZooKeeper's server: the permission check
 * (ZooKeeperServer.checkACL), ACL validation and 'auth' expansion
 * (PrepRequestProcessor.fixupACL) and the two built-in authentication
 * providers, digest and ip (IPv4 and IPv6 with CIDR masks, as ZooKeeper's
 * current IPAuthenticationProvider parses them).
 */
import { createHash } from 'node:crypto';
import { Perms, type ACL, type ClientInfo, type Id } from '@zooid/protocol';
import type { TreeConfig } from './config.js';

const ANYONE: Id = { scheme: 'world', id: 'anyone' };
/** ZooDefs.Ids.OPEN_ACL_UNSAFE */
export const OPEN_ACL: readonly ACL[] = [{ perms: Perms.ALL, id: ANYONE }];
/** ZooDefs.Ids.READ_ACL_UNSAFE */
export const READ_ACL: readonly ACL[] = [{ perms: Perms.READ, id: ANYONE }];

/** Schemes whose ids 'auth' expands to (AuthenticationProvider.isAuthenticated). */
const AUTHENTICATED_SCHEMES = new Set(['digest', 'x509', 'sasl']);

export interface AuthContext {
  sessionId: bigint;
  /** Authenticated ids, including the connection's {scheme: 'ip', id: address}. */
  ids: Id[];
}

export function isSuper(ids: readonly Id[], config: TreeConfig): boolean {
  for (const id of ids) {
    if (id.scheme === 'super') return true;
    if (id.scheme === 'digest' && config.superDigest !== undefined && id.id === config.superDigest) return true;
    if (id.scheme === 'sasl' && config.saslSuperUser !== undefined && id.id === config.saslSuperUser) return true;
  }
  return false;
}

/** True when `ids` hold `perm` on a node with `acl`. An empty ACL allows everything, as in ZooKeeper. */
export function checkACL(acl: readonly ACL[], perm: number, ids: readonly Id[], config: TreeConfig): boolean {
  if (acl.length === 0 || isSuper(ids, config)) return true;
  for (const a of acl) {
    if ((a.perms & perm) === 0) continue;
    const { scheme, id } = a.id;
    if (scheme === 'world' && id === 'anyone') return true;
    for (const mine of ids) {
      if (mine.scheme !== scheme) continue;
      if ((scheme === 'digest' || scheme === 'x509' || scheme === 'sasl') && mine.id === id) return true;
      if (scheme === 'ip' && ipMatches(mine.id, id)) return true;
    }
  }
  return false;
}

/**
 * Validates an ACL for create/setACL and expands 'auth' to the session's
 * authenticated ids. Returns null where ZooKeeper answers INVALIDACL: an empty
 * list, an unknown scheme, an invalid id, or 'auth' with nothing to expand to.
 */
export function fixupACL(acl: readonly ACL[], ids: readonly Id[]): ACL[] | null {
  const unique = removeDuplicates(acl);
  if (unique.length === 0) return null;
  const out: ACL[] = [];
  for (const a of unique) {
    const { scheme, id } = a.id;
    if (scheme === 'world' && id === 'anyone') {
      out.push(a);
    } else if (scheme === 'auth') {
      let expanded = false;
      for (const mine of ids) {
        if (!AUTHENTICATED_SCHEMES.has(mine.scheme)) continue;
        out.push({ perms: a.perms, id: mine });
        expanded = true;
      }
      if (!expanded) return null;
    } else if ((scheme === 'digest' && isValidDigestId(id)) || (scheme === 'ip' && isValidIpExpr(id)) || (scheme === 'x509' && id !== '') || (scheme === 'sasl' && isValidKerberosName(id))) {
      out.push(a);
    } else {
      return null;
    }
  }
  return out;
}

function removeDuplicates(acl: readonly ACL[]): ACL[] {
  const out: ACL[] = [];
  for (const a of acl) {
    if (!out.some((b) => b.perms === a.perms && b.id.scheme === a.id.scheme && b.id.id === a.id.id)) out.push(a);
  }
  return out;
}

/** getACL without ADMIN hides digest hashes: 'user:hash' becomes 'user:x'. */
export function maskDigests(acl: readonly ACL[]): ACL[] {
  return acl.map((a) => {
    if (a.id.scheme !== 'digest') return a;
    const colon = a.id.id.indexOf(':');
    return colon < 0 ? a : { perms: a.perms, id: { scheme: 'digest', id: `${a.id.id.slice(0, colon)}:x` } };
  });
}

/** DigestAuthenticationProvider.generateDigest: 'user:password' → 'user:base64(sha1(user:password))'. */
export function digestOf(userPassword: string): string {
  const colon = userPassword.indexOf(':');
  const user = colon < 0 ? userPassword : userPassword.slice(0, colon);
  return `${user}:${createHash('sha1').update(userPassword, 'utf8').digest('base64')}`;
}

/**
 * An auth packet: the id it adds to the session, or null for AUTHFAILED (an
 * unknown scheme). Digest always succeeds — a wrong password just yields an id
 * that matches nothing. 'ip' adds the connection's own address.
 */
export function authenticate(scheme: string, auth: Uint8Array, remoteIp?: string): Id | null {
  if (scheme === 'digest') return { scheme, id: digestOf(Buffer.from(auth).toString('utf8')) };
  if (scheme === 'ip' && remoteIp !== undefined) return { scheme, id: remoteIp };
  return null;
}

/** whoAmI: each id as provider and user name (AuthUtil.getClientInfos). */
export function clientInfos(ids: readonly Id[], config: TreeConfig): ClientInfo[] {
  const out: ClientInfo[] = [];
  for (const id of ids) {
    // ZooKeeper records a matching super digest as an extra 'super' id.
    if (
      (id.scheme === 'digest' && config.superDigest !== undefined && id.id === config.superDigest) ||
      (id.scheme === 'sasl' && config.saslSuperUser !== undefined && id.id === config.saslSuperUser)
    ) {
      out.push({ authProvider: 'super', user: '' });
    }
    // AuthenticationProvider.getUserName: the id itself, but for digest only the name before the hash.
    const user = id.scheme === 'digest' ? id.id.split(':')[0]! : id.id;
    out.push({ authProvider: id.scheme, user });
  }
  return out;
}

/** SASLAuthenticationProvider.isValid: what KerberosName parses — a plain name, or name[/host]@REALM. */
function isValidKerberosName(id: string): boolean {
  return !id.includes('@') || /^[^/@]*(\/[^/@]*)?@[^/@]*$/.test(id);
}

/** Java's String.split(":").length == 2: trailing empty pieces do not count. */
function isValidDigestId(id: string): boolean {
  const parts = id.split(':');
  while (parts.length > 0 && parts[parts.length - 1] === '') parts.pop();
  return parts.length === 2;
}

// ---- ip scheme ----

/** Integer.parseInt: optional sign, digits only, int range. */
function parseJavaInt(s: string, hex: boolean): number | null {
  if (!(hex ? /^[+-]?[0-9a-fA-F]+$/ : /^[+-]?[0-9]+$/).test(s)) return null;
  const v = parseInt(s, hex ? 16 : 10);
  return v < -0x80000000 || v > 0x7fffffff ? null : v;
}

function v4Bytes(addr: string): Uint8Array | null {
  const parts = addr.split('.');
  if (parts.length !== 4) return null;
  const b = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const v = parseJavaInt(parts[i]!, false);
    if (v === null || v < 0 || v > 255) return null;
    b[i] = v;
  }
  return b;
}

function v6Segments(b: Uint8Array, at: number, segments: string[]): boolean {
  for (const s of segments) {
    if (s.length === 0 || s.length > 4) return false;
    const v = parseJavaInt(s, true);
    if (v === null) return false;
    b[at++] = (v >> 8) & 0xff;
    b[at++] = v & 0xff;
  }
  return true;
}

function v6Bytes(addr: string): Uint8Array | null {
  const halves = addr.split('::');
  let head: string[] = [];
  let tail: string[] = [];
  if (halves.length === 1) {
    head = halves[0]!.split(':');
    if (head.length !== 8) return null;
  } else if (halves.length === 2) {
    if (halves[0] !== '') head = halves[0]!.split(':');
    if (halves[1] !== '') tail = halves[1]!.split(':');
    if (head.length + tail.length >= 8) return null;
  } else {
    return null;
  }
  const b = new Uint8Array(16);
  return v6Segments(b, 0, head) && v6Segments(b, 16 - tail.length * 2, tail) ? b : null;
}

function addrBytes(addr: string): Uint8Array | null {
  if (addr.includes(':')) return v6Bytes(addr);
  if (addr.includes('.')) return v4Bytes(addr);
  return null;
}

/** 'addr' or 'addr/bits' → [bytes, bits], or null when ZooKeeper would reject it. */
function parseIpExpr(expr: string): [Uint8Array, number] | null {
  const slash = expr.indexOf('/');
  const bytes = addrBytes(slash < 0 ? expr : expr.slice(0, slash));
  if (bytes === null) return null;
  if (slash < 0) return [bytes, bytes.length * 8];
  const bits = parseJavaInt(expr.slice(slash + 1), false);
  return bits === null || bits < 0 || bits > bytes.length * 8 ? null : [bytes, bits];
}

function isValidIpExpr(expr: string): boolean {
  return parseIpExpr(expr) !== null;
}

function mask(b: Uint8Array, bits: number): void {
  let i = bits >> 3;
  let m = ~((1 << (8 - (bits & 7))) - 1);
  for (; i < b.length; i++, m = 0) b[i]! &= m;
}

/** Node reports IPv4 peers of a dual-stack socket as '::ffff:a.b.c.d'; Java reports 'a.b.c.d'. */
const V4_MAPPED = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i;

export function ipMatches(clientIp: string, expr: string): boolean {
  const acl = parseIpExpr(expr);
  if (acl === null) return false;
  const [aclBytes, bits] = acl;
  const remote = addrBytes(clientIp.replace(V4_MAPPED, '$1'));
  if (remote === null || remote.length !== aclBytes.length) return false;
  mask(aclBytes, bits);
  mask(remote, bits);
  return remote.every((v, i) => v === aclBytes[i]);
}
