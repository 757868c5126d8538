/**
 * Error codes for bad paths, versions and system nodes, each observed on a
 * real ZooKeeper 3.8.0 server with the same requests. ZooKeeper validates
 * late and in a fixed order, so e.g. a create under a missing parent answers
 * NONODE even when the path itself is invalid.
 */
import { describe, expect, it } from 'vitest';
import { Err, OpCode } from '@zooid/protocol';
import { Harness, OPEN, pick } from './harness.js';

const h = new Harness();
const s = h.session();
h.create(s, '/seq');
h.create(s, '/seq/child');
h.setData(s, '/seq', Buffer.from('x')); // version 1

const w = (op: number, req: object) => () => h.write(s, op, req).err;
const r = (op: number, req: object) => () => h.read(s, op, req).err;
const create = (path: string, flags = 0, op: number = OpCode.create) => w(op, { path, data: null, acl: OPEN, flags });

const table: Array<[string, () => number, number]> = [
  ['create "/"', create('/'), Err.NODEEXISTS],
  ['create ""', create(''), Err.BADARGUMENTS],
  ['create "a"', create('a'), Err.BADARGUMENTS],
  ['create "/e/" (parent missing)', create('/e/'), Err.NONODE],
  ['create "//x"', create('//x'), Err.BADARGUMENTS],
  ['create "/seq/."', create('/seq/.'), Err.BADARGUMENTS],
  ['create "/seq/.." ', create('/seq/..'), Err.BADARGUMENTS],
  ['create "/seq/..a" is fine', create('/seq/..a'), Err.OK],
  ['create "/nope/x"', create('/nope/x'), Err.NONODE],
  ['create "/seq/a\\x01"', create('/seq/a\u0001'), Err.BADARGUMENTS],
  ['create "/nope/a\\x01" (parent first)', create('/nope/a\u0001'), Err.NONODE],
  ['create "/a\\0"', create('/a\u0000'), Err.BADARGUMENTS],
  ['create "/seq/\\ud83d\\ude00" (non-BMP)', create('/seq/\u{1F600}'), Err.BADARGUMENTS],
  ['create flag 7', create('/f7', 7), Err.BADARGUMENTS],
  ['create flag -1', create('/fm1', -1), Err.BADARGUMENTS],
  ['create under /zookeeper is allowed', create('/zookeeper/foo'), Err.OK],
  ['delete it again', w(OpCode.delete, { path: '/zookeeper/foo', version: -1 }), Err.OK],
  ['delete "/"', w(OpCode.delete, { path: '/', version: -1 }), Err.BADARGUMENTS],
  ['delete "/zookeeper"', w(OpCode.delete, { path: '/zookeeper', version: -1 }), Err.BADARGUMENTS],
  ['delete "/zookeeper/quota"', w(OpCode.delete, { path: '/zookeeper/quota', version: -1 }), Err.BADARGUMENTS],
  ['delete "/zookeeper/config"', w(OpCode.delete, { path: '/zookeeper/config', version: -1 }), Err.BADARGUMENTS],
  ['delete ""', w(OpCode.delete, { path: '', version: -1 }), Err.BADARGUMENTS],
  ['delete "noslash"', w(OpCode.delete, { path: 'noslash', version: -1 }), Err.BADARGUMENTS],
  ['delete "/seq/" (no validation: no such node)', w(OpCode.delete, { path: '/seq/', version: -1 }), Err.NONODE],
  ['delete "/nope/"', w(OpCode.delete, { path: '/nope/', version: -1 }), Err.NONODE],
  ['delete "//"', w(OpCode.delete, { path: '//', version: -1 }), Err.NONODE],
  ['delete non-empty', w(OpCode.delete, { path: '/seq', version: -1 }), Err.NOTEMPTY],
  ['delete bad version (before NOTEMPTY)', w(OpCode.delete, { path: '/seq', version: 5 }), Err.BADVERSION],
  ['delete missing', w(OpCode.delete, { path: '/nope', version: -1 }), Err.NONODE],
  ['setData missing', w(OpCode.setData, { path: '/nope', data: null, version: -1 }), Err.NONODE],
  ['setData "/seq/"', w(OpCode.setData, { path: '/seq/', data: null, version: -1 }), Err.BADARGUMENTS],
  ['setData ""', w(OpCode.setData, { path: '', data: null, version: -1 }), Err.BADARGUMENTS],
  ['setData bad version', w(OpCode.setData, { path: '/seq', data: null, version: 7 }), Err.BADVERSION],
  ['setData /zookeeper/config (READ only ACL)', w(OpCode.setData, { path: '/zookeeper/config', data: null, version: -1 }), Err.NOAUTH],
  ['setACL missing', w(OpCode.setACL, { path: '/nope', acl: OPEN, version: -1 }), Err.NONODE],
  ['setACL "/seq/"', w(OpCode.setACL, { path: '/seq/', acl: OPEN, version: -1 }), Err.BADARGUMENTS],
  ['setACL empty list', w(OpCode.setACL, { path: '/seq', acl: [], version: -1 }), Err.INVALIDACL],
  ['setACL empty list on missing node (ACL first)', w(OpCode.setACL, { path: '/nope', acl: [], version: -1 }), Err.INVALIDACL],
  ['setACL bad aversion', w(OpCode.setACL, { path: '/seq', acl: OPEN, version: 3 }), Err.BADVERSION],
  ['check bad version', w(OpCode.check, { path: '/seq', version: 9 }), Err.BADVERSION],
  ['check missing', w(OpCode.check, { path: '/nope', version: -1 }), Err.NONODE],
  ['getData "/seq/"', r(OpCode.getData, { path: '/seq/', watch: false }), Err.NONODE],
  ['getData "" (root alias)', r(OpCode.getData, { path: '', watch: false }), Err.OK],
  ['getData "//"', r(OpCode.getData, { path: '//', watch: false }), Err.NONODE],
  ['getData "/a\\0"', r(OpCode.getData, { path: '/a\u0000', watch: false }), Err.NONODE],
  ['exists "/seq/"', r(OpCode.exists, { path: '/seq/', watch: false }), Err.NONODE],
  ['exists "" (root alias)', r(OpCode.exists, { path: '', watch: false }), Err.OK],
  ['exists "/a\\0"', r(OpCode.exists, { path: '/a\u0000', watch: false }), Err.BADARGUMENTS],
  ['getChildren ""', r(OpCode.getChildren2, { path: '', watch: false }), Err.OK],
  ['getACL ""', r(OpCode.getACL, { path: '' }), Err.OK],
  ['getAllChildrenNumber missing', r(OpCode.getAllChildrenNumber, { path: '/nope' }), Err.NONODE],
];

describe('error codes (observed on ZooKeeper 3.8.0)', () => {
  it.each(table)('%s', (_name, run, err) => {
    expect(run()).toBe(err);
  });

  it('consumed one zxid per write, failed or not', () => {
    expect(h.tree.lastZxid).toBe(h.zxid);
    h.tree.checkInvariants();
  });
});

describe('details', () => {
  it('a successful setACL bumps aversion; duplicates in the list collapse', () => {
    const t = new Harness();
    const u = t.session();
    t.create(u, '/n');
    const res = t.write(u, OpCode.setACL, { path: '/n', acl: [...OPEN, ...OPEN], version: 0 });
    expect(res.err).toBe(Err.OK);
    expect(pick((res.response as { stat: never }).stat, 'aversion')).toEqual({ aversion: 1 });
    expect((t.read(u, OpCode.getACL, { path: '/n' }).response as { acl: unknown[] }).acl).toEqual(OPEN);
  });

  it('check outside a multi answers the stat', () => {
    const t = new Harness();
    const u = t.session();
    t.create(u, '/n');
    const res = t.write(u, OpCode.check, { path: '/n', version: 0 });
    expect(res.err).toBe(Err.OK);
    expect(res.response).toMatchObject({ stat: { version: 0 } });
  });

  it('setData on /zookeeper/quota works and bumps only version/mzxid', () => {
    const t = new Harness();
    const u = t.session();
    t.create(u, '/zookeeper/quota/foo');
    t.delete(u, '/zookeeper/quota/foo');
    const res = t.setData(u, '/zookeeper/quota', Buffer.from('q'));
    // observed: {czxid 0, mzxid <zxid>, version 1, cversion 2, pzxid <delete zxid>, dataLength 1}
    expect(pick((res.response as { stat: never }).stat, 'czxid', 'version', 'cversion', 'dataLength', 'numChildren', 'pzxid', 'mzxid')).toEqual({
      czxid: 0,
      version: 1,
      cversion: 2,
      dataLength: 1,
      numChildren: 0,
      pzxid: 3,
      mzxid: 4,
    });
  });

  it('getAllChildrenNumber counts every descendant', () => {
    const t = new Harness();
    const u = t.session();
    for (const p of ['/a', '/a/b', '/a/b/c', '/a/d', '/e']) t.create(u, p);
    const n = (path: string) => (t.read(u, OpCode.getAllChildrenNumber, { path }).response as { totalNumber: number }).totalNumber;
    expect(n('/')).toBe(8); // includes /zookeeper, /zookeeper/quota, /zookeeper/config
    expect(n('/a')).toBe(3);
    expect(n('/a/b/c')).toBe(0);
    expect(n('/zookeeper')).toBe(2);
  });

  it('rejects data above maxDataBytes with BADARGUMENTS', () => {
    const t = new Harness({ maxDataBytes: 10 });
    const u = t.session();
    expect(t.create(u, '/big', { data: Buffer.alloc(11) }).err).toBe(Err.BADARGUMENTS);
    expect(t.create(u, '/ok', { data: Buffer.alloc(10) }).err).toBe(Err.OK);
    expect(t.setData(u, '/ok', Buffer.alloc(11)).err).toBe(Err.BADARGUMENTS);
  });

  it('keeps null data distinct from empty data', () => {
    const t = new Harness();
    const u = t.session();
    t.create(u, '/null', { data: null });
    t.create(u, '/empty', { data: Buffer.alloc(0) });
    expect(t.read(u, OpCode.getData, { path: '/null', watch: false }).response).toMatchObject({ data: null, stat: { dataLength: 0 } });
    expect(t.read(u, OpCode.getData, { path: '/empty', watch: false }).response).toMatchObject({ data: Buffer.alloc(0) });
  });

  it('answers SESSIONEXPIRED for writes of unknown or closing sessions', () => {
    const t = new Harness();
    const ghost = { sessionId: 0x99n, ids: [] };
    expect(t.create(ghost, '/x').err).toBe(Err.SESSIONEXPIRED);
    const u = t.session();
    const [close, create] = t.prepareBatch([
      [u, OpCode.closeSession, undefined],
      [u, OpCode.create, { path: '/late', data: null, acl: OPEN, flags: 1 }],
    ]);
    expect(create!.txn).toEqual({ type: 'error', err: Err.SESSIONEXPIRED });
    t.commit(close!);
    t.commit(create!);
  });

  it('refuses to apply a txn whose zxid does not move forward', () => {
    const t = new Harness();
    t.session();
    expect(() => t.tree.apply({ sessionId: 0n, cxid: 0, zxid: 1, time: 0, type: OpCode.error }, { type: 'error', err: 0 })).toThrow(/does not follow/);
  });
});
