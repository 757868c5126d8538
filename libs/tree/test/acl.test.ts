/**
 * ACL schemes, validation and where each permission is checked, as observed
 * on a real ZooKeeper 3.8.0 server (super digest configured, clients on
 * 127.0.0.1). Where 3.8.4+ changed behaviour for security (exists needs READ)
 * we follow the later 3.8 releases; those rows say so.
 */
import { describe, expect, it } from 'vitest';
import { Err, OpCode, type ACL, type Id } from '@zooid/protocol';
import { authenticate, checkACL, digestOf, fixupACL, ipMatches } from '../src/index.js';
import { Harness, LOCAL_IP, OPEN } from './harness.js';

const SUPER_DIGEST = digestOf('super:secret');
const digestId = (up: string): Id => ({ scheme: 'digest', id: digestOf(up) });
const acl = (perms: number, scheme: string, id: string): ACL => ({ perms, id: { scheme, id } });

describe('digest authentication', () => {
  it('hashes like DigestAuthenticationProvider', () => {
    // values read back from ZooKeeper's getACL
    expect(digestOf('alice:pw')).toBe('alice:V55/p2T0OpjQ+low3NVAH4aLvm0=');
    expect(digestOf('bob:pw2')).toBe('bob:DzYBVPYoUPHuiOrAcsz6mJwnG9k=');
    expect(digestOf('carol')).toBe('carol:KLkrVu5kuS67cthl8XLvAMcI34M=');
    expect(SUPER_DIGEST).toBe('super:lK75jTNcA+U9vtVEw5vB51mj/w4=');
  });

  it('accepts digest and ip, refuses other schemes (AUTHFAILED)', () => {
    expect(authenticate('digest', Buffer.from('alice:pw'))).toEqual(digestId('alice:pw'));
    expect(authenticate('ip', Buffer.from('x'), '10.1.2.3')).toEqual({ scheme: 'ip', id: '10.1.2.3' });
    expect(authenticate('foo', Buffer.from('x'))).toBeNull();
    expect(authenticate('super', Buffer.from('secret'))).toBeNull();
    expect(authenticate('world', Buffer.from('anyone'))).toBeNull();
  });
});

describe('ACL validation on create (observed)', () => {
  const table: Array<[string, ACL[], number]> = [
    ['digest id without hash', [acl(31, 'digest', 'alice')], Err.INVALIDACL],
    ['digest id with 3 parts', [acl(31, 'digest', 'a:b:c')], Err.INVALIDACL],
    ['digest id with trailing colon', [acl(31, 'digest', 'a:')], Err.INVALIDACL],
    ['digest id with leading colon', [acl(31, 'digest', ':x')], Err.OK],
    ['unknown scheme', [acl(31, 'foo', 'bar')], Err.INVALIDACL],
    ['world other than anyone', [acl(31, 'world', 'someone')], Err.INVALIDACL],
    ['ip v4', [acl(31, 'ip', '127.0.0.1')], Err.OK],
    ['ip cidr', [acl(31, 'ip', '10.0.0.0/8')], Err.OK],
    ['ip cidr too wide', [acl(31, 'ip', '10.0.0.0/33')], Err.INVALIDACL],
    ['ip with 3 octets', [acl(31, 'ip', '1.2.3')], Err.INVALIDACL],
    ['ip octet with + (Integer.parseInt)', [acl(31, 'ip', '+1.2.3.4')], Err.OK],
    // 3.8.0 knew IPv4 only; later releases parse IPv6
    ['ip v6 (later ZooKeeper)', [acl(31, 'ip', '::1')], Err.OK],
    ['ip v6 cidr (later ZooKeeper)', [acl(31, 'ip', 'fe80::/10')], Err.OK],
    ['ip v6 too many segments', [acl(31, 'ip', '1:2:3:4:5:6:7:8:9')], Err.INVALIDACL],
    ['ip v6 double ::', [acl(31, 'ip', '1::2::3')], Err.INVALIDACL],
    ['perms 0 accepted', [acl(0, 'world', 'anyone')], Err.OK],
    ['perms 99 accepted as is', [acl(99, 'world', 'anyone')], Err.OK],
    ['empty list', [], Err.INVALIDACL],
    ['auth without authenticated ids', [acl(31, 'auth', '')], Err.INVALIDACL],
  ];
  const h = new Harness();
  const s = h.session([LOCAL_IP]);
  it.each(table.map((row, i) => [i, ...row] as const))('%i %s', (i, _name, list, err) => {
    expect(h.create(s, `/acl${i}`, { acl: list }).err).toBe(err);
  });
});

describe('ACL expansion and masking (observed)', () => {
  const h = new Harness({ superDigest: SUPER_DIGEST });
  const plain = h.session([LOCAL_IP]);
  const alice = h.session([LOCAL_IP, digestId('alice:pw'), digestId('bob:pw2'), digestId('carol')]);
  const root = h.session([LOCAL_IP, digestId('super:secret')]);
  const getACL = (s: typeof plain, path: string) => h.read(s, OpCode.getACL, { path });

  it("'auth' expands to every digest id of the session (not ip)", () => {
    expect(h.create(alice, '/a', { acl: [acl(31, 'auth', 'whatever')] }).err).toBe(Err.OK);
    expect(getACL(alice, '/a').response).toMatchObject({
      acl: [acl(31, 'digest', digestOf('alice:pw')), acl(31, 'digest', digestOf('bob:pw2')), acl(31, 'digest', digestOf('carol'))],
    });
    expect(getACL(plain, '/a').err).toBe(Err.NOAUTH);
  });

  it('getACL with READ but not ADMIN masks digest hashes', () => {
    h.create(plain, '/rd', { acl: [acl(1, 'world', 'anyone'), acl(31, 'digest', digestOf('alice:pw'))] });
    expect(getACL(plain, '/rd').response).toMatchObject({ acl: [acl(1, 'world', 'anyone'), acl(31, 'digest', 'alice:x')] });
    expect(getACL(alice, '/rd').response).toMatchObject({ acl: [acl(1, 'world', 'anyone'), acl(31, 'digest', digestOf('alice:pw'))] });
    h.create(alice, '/am', { acl: [acl(3, 'auth', ''), acl(1, 'world', 'anyone')] });
    expect(getACL(alice, '/am').response).toMatchObject({
      acl: [acl(3, 'digest', 'alice:x'), acl(3, 'digest', 'bob:x'), acl(3, 'digest', 'carol:x'), acl(1, 'world', 'anyone')],
    });
    expect((getACL(root, '/am').response as { acl: ACL[] }).acl[0]).toEqual(acl(3, 'digest', digestOf('alice:pw')));
  });

  it('getACL needs READ or ADMIN', () => {
    h.create(plain, '/adm', { acl: [acl(16, 'world', 'anyone')] });
    expect(getACL(plain, '/adm').err).toBe(Err.OK);
    expect(h.read(plain, OpCode.getData, { path: '/adm', watch: false }).err).toBe(Err.NOAUTH);
  });

  it('duplicates collapse, other entries stay', () => {
    h.create(plain, '/dup', { acl: [...OPEN, acl(31, 'world', 'anyone'), acl(1, 'world', 'anyone')] });
    expect(getACL(plain, '/dup').response).toMatchObject({ acl: [acl(31, 'world', 'anyone'), acl(1, 'world', 'anyone')] });
  });

  it('whoAmI lists the ids, super first for the super digest', () => {
    expect(h.read(alice, OpCode.whoAmI, undefined).response).toEqual({
      clientInfo: [
        { authProvider: 'ip', user: '127.0.0.1' },
        { authProvider: 'digest', user: 'alice' },
        { authProvider: 'digest', user: 'bob' },
        { authProvider: 'digest', user: 'carol' },
      ],
    });
    expect(h.read(root, OpCode.whoAmI, undefined).response).toEqual({
      clientInfo: [
        { authProvider: 'ip', user: '127.0.0.1' },
        { authProvider: 'super', user: '' },
        { authProvider: 'digest', user: 'super' },
      ],
    });
  });
});

describe('where each permission is checked (observed)', () => {
  const h = new Harness({ superDigest: SUPER_DIGEST });
  const other = h.session([LOCAL_IP]);
  const alice = h.session([LOCAL_IP, digestId('alice:pw')]);
  const root = h.session([LOCAL_IP, digestId('super:secret')]);
  h.create(other, '/dn', { acl: [acl(1, 'digest', digestOf('alice:pw'))] }); // alice: READ only

  const table: Array<[string, () => number, number]> = [
    ['getData without READ', () => h.read(other, OpCode.getData, { path: '/dn', watch: false }).err, Err.NOAUTH],
    ['getChildren without READ', () => h.read(other, OpCode.getChildren, { path: '/dn', watch: false }).err, Err.NOAUTH],
    ['getChildren2 without READ', () => h.read(other, OpCode.getChildren2, { path: '/dn', watch: false }).err, Err.NOAUTH],
    ['getAllChildrenNumber without READ', () => h.read(other, OpCode.getAllChildrenNumber, { path: '/dn' }).err, Err.NOAUTH],
    ['getACL without READ/ADMIN', () => h.read(other, OpCode.getACL, { path: '/dn' }).err, Err.NOAUTH],
    // 3.8.0 answered OK here; 3.8.4+ (ZOOKEEPER-2590) checks READ
    ['exists without READ (3.8.4+)', () => h.read(other, OpCode.exists, { path: '/dn', watch: false }).err, Err.NOAUTH],
    ['exists of a missing child needs nothing', () => h.read(other, OpCode.exists, { path: '/dn/zz', watch: false }).err, Err.NONODE],
    ['getData with READ', () => h.read(alice, OpCode.getData, { path: '/dn', watch: false }).err, Err.OK],
    ['setData without WRITE', () => h.setData(alice, '/dn', Buffer.from('x')).err, Err.NOAUTH],
    ['create without CREATE on parent', () => h.create(alice, '/dn/c').err, Err.NOAUTH],
    ['create with invalid path, no CREATE: NOAUTH first', () => h.create(other, '/dn/').err, Err.NOAUTH],
    ['setACL without ADMIN', () => h.write(alice, OpCode.setACL, { path: '/dn', acl: OPEN, version: -1 }).err, Err.NOAUTH],
    ['setACL invalid list, no ADMIN: INVALIDACL first', () => h.write(other, OpCode.setACL, { path: '/dn', acl: [acl(31, 'digest', 'bad')], version: -1 }).err, Err.INVALIDACL],
    ['super setData', () => h.setData(root, '/dn', Buffer.from('y')).err, Err.OK],
    ['super create child', () => h.create(root, '/dn/c').err, Err.OK],
    ['delete without DELETE on parent', () => h.delete(alice, '/dn/c').err, Err.NOAUTH],
    ['delete missing child without DELETE: NOAUTH first', () => h.delete(alice, '/dn/zz').err, Err.NOAUTH],
    ['create existing child without CREATE: NOAUTH first', () => h.create(other, '/dn/c').err, Err.NOAUTH],
    ['create existing node with CREATE on parent', () => h.create(other, '/dn').err, Err.NODEEXISTS],
    ['super delete child', () => h.delete(root, '/dn/c').err, Err.OK],
    ['check without READ', () => h.write(other, OpCode.check, { path: '/dn', version: -1 }).err, Err.NOAUTH],
    ['invalid ACL before missing parent', () => h.create(other, '/nonexist/x', { acl: [] }).err, Err.INVALIDACL],
    ['setACL valid list on missing node', () => h.write(other, OpCode.setACL, { path: '/nonexist', acl: OPEN, version: -1 }).err, Err.NONODE],
  ];
  it.each(table)('%s', (_name, run, err) => {
    expect(run()).toBe(err);
  });

  it('ip ACLs match the connection address', () => {
    h.create(other, '/ipn', { acl: [acl(31, 'ip', '127.0.0.0/8')] });
    h.create(other, '/ipo', { acl: [acl(31, 'ip', '10.0.0.0/8')] });
    h.create(other, '/ip0', { acl: [acl(1, 'ip', '10.0.0.0/0')] });
    expect(h.read(other, OpCode.getData, { path: '/ipn', watch: false }).err).toBe(Err.OK);
    expect(h.read(other, OpCode.getData, { path: '/ipo', watch: false }).err).toBe(Err.NOAUTH);
    expect(h.read(other, OpCode.getData, { path: '/ip0', watch: false }).err).toBe(Err.OK);
  });
});

describe('ip matching', () => {
  const table: Array<[string, string, boolean]> = [
    ['127.0.0.1', '127.0.0.1', true],
    ['127.0.0.2', '127.0.0.1', false],
    ['10.20.30.40', '10.0.0.0/8', true],
    ['11.20.30.40', '10.0.0.0/8', false],
    ['192.168.1.77', '192.168.1.64/26', true],
    ['192.168.1.128', '192.168.1.64/26', false],
    ['1.2.3.4', '0.0.0.0/0', true],
    ['::ffff:10.1.1.1', '10.0.0.0/8', true], // Node's IPv4-mapped form of an IPv4 peer
    ['0:0:0:0:0:0:0:1', '::1', true], // Java's spelling of ::1
    ['::1', '::1', true],
    ['fe80::1234:5678', 'fe80::/10', true],
    ['fec0::1', 'fe80::/10', false],
    ['2001:db8:0:0:0:0:0:7', '2001:db8::/32', true],
    ['2001:db9::7', '2001:db8::/32', false],
    ['10.0.0.1', '::/0', false], // address families never match
    ['::1', '0.0.0.0/0', false],
    ['10.0.0.1', '10.0.0.1/x', false],
    ['garbage', '10.0.0.0/8', false],
  ];
  it.each(table)('%s vs %s', (ip, expr, expected) => {
    expect(ipMatches(ip, expr)).toBe(expected);
  });
});

describe('checkACL and fixupACL directly', () => {
  it('an empty ACL allows everything; super bypasses; world:anyone needs the perm bit', () => {
    expect(checkACL([], 31, [], {})).toBe(true);
    expect(checkACL([acl(0, 'world', 'anyone')], 1, [{ scheme: 'super', id: '' }], {})).toBe(true);
    expect(checkACL([acl(2, 'world', 'anyone')], 1, [], {})).toBe(false);
    expect(checkACL([acl(3, 'world', 'anyone')], 1, [], {})).toBe(true);
    expect(checkACL([acl(1, 'digest', SUPER_DIGEST)], 16, [digestId('super:secret')], { superDigest: SUPER_DIGEST })).toBe(true);
    expect(checkACL([acl(16, 'digest', SUPER_DIGEST)], 1, [digestId('super:secret')], {})).toBe(false);
  });

  it("'auth' skips ids of schemes that are not authenticated", () => {
    expect(fixupACL([acl(5, 'auth', '')], [LOCAL_IP, { scheme: 'super', id: '' }])).toBeNull();
    expect(fixupACL([acl(5, 'auth', '')], [LOCAL_IP, digestId('u:p')])).toEqual([acl(5, 'digest', digestOf('u:p'))]);
  });

  it('x509: a certificate subject matches exactly, expands from auth, and must not be empty', () => {
    const alice = { scheme: 'x509', id: 'CN=alice,O=Example' };
    expect(checkACL([acl(1, 'x509', 'CN=alice,O=Example')], 1, [alice], {})).toBe(true);
    expect(checkACL([acl(1, 'x509', 'CN=alice')], 1, [alice], {})).toBe(false);
    expect(fixupACL([acl(31, 'auth', '')], [LOCAL_IP, alice])).toEqual([acl(31, 'x509', 'CN=alice,O=Example')]);
    expect(fixupACL([acl(31, 'x509', '')], [])).toBeNull();
  });
});
