/**
 * Sequential names and parent Stat bookkeeping, step by step as observed on
 * a real ZooKeeper 3.8.0 server (Debian package, standalone) driven over the
 * wire by a raw client: one createSession (zxid 1), then these requests. Every
 * request, failed ones included, consumed one zxid there as here.
 */
import { describe, expect, it } from 'vitest';
import { Err, OpCode } from '@zooid/protocol';
import { Harness, pick } from './harness.js';

describe('initial tree', () => {
  it('matches a fresh ZooKeeper', () => {
    const h = new Harness();
    const zero = { czxid: 0, mzxid: 0, ctime: 0, mtime: 0, version: 0, aversion: 0, ephemeralOwner: 0n, dataLength: 0, pzxid: 0 };
    expect(h.stat('/')).toEqual({ ...zero, cversion: -1, numChildren: 1 });
    expect(h.stat('/zookeeper')).toEqual({ ...zero, cversion: -2, numChildren: 2 });
    expect(h.stat('/zookeeper/quota')).toEqual({ ...zero, cversion: 0, numChildren: 0 });
    expect(h.stat('/zookeeper/config')).toEqual({ ...zero, cversion: 0, numChildren: 0, aversion: -1 });
    const s = h.session();
    expect(h.read(s, OpCode.getACL, { path: '/zookeeper/config' }).response).toMatchObject({
      acl: [{ perms: 1, id: { scheme: 'world', id: 'anyone' } }],
    });
    expect(h.read(s, OpCode.getACL, { path: '/' }).response).toMatchObject({ acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }] });
    expect(h.read(s, OpCode.getData, { path: '/zookeeper/config', watch: false }).response).toMatchObject({ data: Buffer.alloc(0) });
    // zk_znode_count counts the root's "" alias; zk_approximate_data_size sums path and data lengths.
    expect(h.tree.nodeCount).toBe(5);
    expect(h.tree.approximateDataSize).toBe(44);
  });
});

describe('sequential children (observed on ZooKeeper 3.8.0)', () => {
  const h = new Harness();
  const s = h.session(); // zxid 1
  const parent = () => pick(h.stat('/seq'), 'cversion', 'pzxid', 'numChildren');

  // [request, expected err, expected created path, parent {cversion, pzxid, numChildren} after]
  const steps: Array<[string, () => ReturnType<Harness['write']>, number, string | undefined, [number, number, number]]> = [
    ['create /seq', () => h.create(s, '/seq'), Err.OK, '/seq', [0, 2, 0]],
    ['seq n-', () => h.create(s, '/seq/n-', { flags: 2 }), Err.OK, '/seq/n-0000000000', [1, 3, 1]],
    ['seq n-', () => h.create(s, '/seq/n-', { flags: 2 }), Err.OK, '/seq/n-0000000001', [2, 4, 2]],
    ['seq n-', () => h.create(s, '/seq/n-', { flags: 2 }), Err.OK, '/seq/n-0000000002', [3, 5, 3]],
    ['delete n-1', () => h.delete(s, '/seq/n-0000000001'), Err.OK, undefined, [4, 6, 2]],
    // deletions do not move the counter: it counts creations
    ['seq n-', () => h.create(s, '/seq/n-', { flags: 2 }), Err.OK, '/seq/n-0000000003', [5, 7, 3]],
    ['plain child', () => h.create(s, '/seq/plain'), Err.OK, '/seq/plain', [6, 8, 4]],
    // a plain child counts too; a bare trailing slash is a valid sequential prefix
    ['seq "/seq/"', () => h.create(s, '/seq/', { flags: 2 }), Err.OK, '/seq/0000000005', [7, 9, 5]],
    ['delete n-0', () => h.delete(s, '/seq/n-0000000000'), Err.OK, undefined, [8, 10, 4]],
    ['delete plain', () => h.delete(s, '/seq/plain'), Err.OK, undefined, [9, 11, 3]],
    ['ephemeral seq x', () => h.create(s, '/seq/x', { flags: 3 }), Err.OK, '/seq/x0000000006', [10, 12, 4]],
    ['plain named like the next one', () => h.create(s, '/seq/0000000007'), Err.OK, '/seq/0000000007', [11, 13, 5]],
    ['seq "/seq/"', () => h.create(s, '/seq/', { flags: 2 }), Err.OK, '/seq/0000000008', [12, 14, 6]],
    ['setData parent', () => h.setData(s, '/seq', Buffer.from('x')), Err.OK, undefined, [12, 14, 6]],
    ['delete missing', () => h.delete(s, '/seq/nothing'), Err.NONODE, undefined, [12, 14, 6]],
    ['plain2', () => h.create(s, '/seq/plain2'), Err.OK, '/seq/plain2', [13, 17, 7]],
    ['plain2 again', () => h.create(s, '/seq/plain2'), Err.NODEEXISTS, undefined, [13, 17, 7]],
  ];

  it.each(steps.map((step, i) => [i, ...step] as const))('step %i: %s', (_i, _name, run, err, path, [cversion, pzxid, numChildren]) => {
    const r = run();
    expect(r.err).toBe(err);
    if (path !== undefined) expect((r.response as { path: string }).path).toBe(path);
    expect(parent()).toEqual({ cversion, pzxid, numChildren });
  });

  it('leaves the parent with these stats and children', () => {
    expect(pick(h.stat('/seq'), 'czxid', 'mzxid', 'version', 'dataLength')).toEqual({ czxid: 2, mzxid: 15, version: 1, dataLength: 1 });
    const children = (h.read(s, OpCode.getChildren, { path: '/seq', watch: false }).response as { children: string[] }).children;
    expect(children.sort()).toEqual(['0000000005', '0000000007', '0000000008', 'n-0000000002', 'n-0000000003', 'plain2', 'x0000000006']);
    // the root: one create (/seq) stored, two children → cversion 0
    expect(pick(h.stat('/'), 'cversion', 'numChildren', 'pzxid')).toEqual({ cversion: 0, numChildren: 2, pzxid: 2 });
    h.tree.checkInvariants();
  });
});

describe('sequential names across a batch', () => {
  it('counts creations prepared but not yet applied', () => {
    const h = new Harness();
    const s = h.session();
    const batch = h.prepareBatch([
      [s, OpCode.create, { path: '/a', data: null, acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], flags: 0 }],
      [s, OpCode.create, { path: '/a/q-', data: null, acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], flags: 2 }],
      [s, OpCode.create, { path: '/a/q-', data: null, acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], flags: 2 }],
      [s, OpCode.delete, { path: '/a/q-0000000000', version: -1 }],
      [s, OpCode.create, { path: '/a/q-', data: null, acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], flags: 2 }],
    ]);
    const results = batch.map((p) => h.commit(p));
    expect(results.map((r) => r.err)).toEqual([0, 0, 0, 0, 0]);
    expect(results.map((r) => (r.response as { path?: string } | undefined)?.path)).toEqual([
      '/a',
      '/a/q-0000000000',
      '/a/q-0000000001',
      undefined,
      '/a/q-0000000002',
    ]);
    expect(pick(h.stat('/a'), 'cversion', 'numChildren')).toEqual({ cversion: 4, numChildren: 2 });
  });

  it('formats negative counters as Java does', async () => {
    const { sequenceSuffix } = await import('../src/index.js');
    expect(sequenceSuffix(0)).toBe('0000000000');
    expect(sequenceSuffix(42)).toBe('0000000042');
    expect(sequenceSuffix(2147483647)).toBe('2147483647');
    expect(sequenceSuffix(-5)).toBe('-000000005');
    expect(sequenceSuffix(-2147483648)).toBe('-2147483648');
  });
});
