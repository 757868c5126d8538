/**
 * multi and multiRead, as observed on a real ZooKeeper 3.8.0 server, with
 * the 3.8.2+ rule that create2 inside a multi answers with a Stat.
 */
import { describe, expect, it } from 'vitest';
import { Err, OpCode, type MultiOp } from '@zooid/protocol';
import { Harness, OPEN, pick } from './harness.js';

const create = (path: string, flags = 0, type: 1 | 15 | 19 = OpCode.create): MultiOp => ({ type, req: { path, data: null, acl: OPEN, flags } });
const del = (path: string, version = -1): MultiOp => ({ type: OpCode.delete, req: { path, version } });
const set = (path: string, data: string, version = -1): MultiOp => ({ type: OpCode.setData, req: { path, data: Buffer.from(data), version } });
const check = (path: string, version: number): MultiOp => ({ type: OpCode.check, req: { path, version } });
const err = (code: number) => ({ type: OpCode.error, err: code });

describe('multi (observed)', () => {
  const h = new Harness();
  const s = h.session();
  h.create(s, '/m');
  const multi = (ops: MultiOp[]) => h.write(s, OpCode.multi, ops);

  it('applies every op at one zxid, later ops seeing earlier ones', () => {
    const r = multi([create('/m/a'), create('/m/a/b'), create('/m/s-', 2), create('/m/s-', 2, OpCode.create2), set('/m/a', 'x'), check('/m/a', 1), del('/m/a/b')]);
    expect(r.err).toBe(Err.OK);
    const results = r.response as Array<Record<string, unknown>>;
    expect(results.map((x) => x.type)).toEqual([1, 1, 1, 15, 5, 13, 2]);
    expect(results.slice(0, 4).map((x) => x.path)).toEqual(['/m/a', '/m/a/b', '/m/s-0000000001', '/m/s-0000000002']);
    expect(pick(results[4]!.stat as never, 'version', 'czxid', 'mzxid', 'cversion', 'numChildren', 'pzxid')).toEqual({
      version: 1,
      czxid: r.zxid,
      mzxid: r.zxid,
      cversion: 1,
      numChildren: 1,
      pzxid: r.zxid,
    });
    expect(pick(h.stat('/m/a'), 'cversion', 'numChildren')).toEqual({ cversion: 2, numChildren: 0 });
    expect(pick(h.stat('/m'), 'cversion', 'numChildren', 'pzxid')).toEqual({ cversion: 3, numChildren: 3, pzxid: r.zxid });
  });

  const failures: Array<[string, MultiOp[], object[]]> = [
    ['failure in the middle', [create('/m/b'), create('/m/a'), set('/m/a', 'y'), del('/m/nope')], [err(0), err(Err.NODEEXISTS), err(-2), err(-2)]],
    ['failure first', [del('/m/nope'), create('/m/c')], [err(Err.NONODE), err(-2)]],
    ['failure last', [create('/m/c'), check('/m/a', 0)], [err(0), err(Err.BADVERSION)]],
    ['bad path in a create', [create('/m/x/')], [err(Err.NONODE)]],
    ['ephemeral parent', [create('/m/e', 1), create('/m/e/x')], [err(0), err(Err.NOCHILDRENFOREPHEMERALS)]],
  ];
  it.each(failures)('%s: all or nothing, reply err OK', (_name, ops, results) => {
    const before = h.tree.digest();
    const r = multi(ops);
    expect(r.err).toBe(Err.OK);
    expect(r.response).toEqual(results);
    expect(r.triggers).toEqual([]);
    expect(h.tree.digest()).toBe(before);
    expect(h.stat('/m/b')).toBeUndefined();
    expect(h.stat('/m/c')).toBeUndefined();
  });

  it('rolls back pending changes: a failed multi does not advance sequence numbers', () => {
    const r = h.create(s, '/m/s-', { flags: 2 });
    expect((r.response as { path: string }).path).toBe('/m/s-0000000003');
  });

  it('an empty multi succeeds and consumes a zxid', () => {
    const z = h.tree.lastZxid;
    expect(multi([])).toMatchObject({ err: Err.OK, response: [] });
    expect(h.tree.lastZxid).toBe(z + 1);
  });

  it('a read inside a multi is a MARSHALLINGERROR for the whole request', () => {
    expect(multi([{ type: OpCode.getData, req: { path: '/m/a', watch: false } }]).err).toBe(Err.MARSHALLINGERROR);
  });

  it('delete then create of the same path', () => {
    const r = multi([del('/m/a'), { type: OpCode.create, req: { path: '/m/a', data: Buffer.from('new'), acl: OPEN, flags: 0 } }]);
    expect(r.response).toEqual([{ type: 2 }, { type: 1, path: '/m/a' }]);
    expect(pick(h.stat('/m/a'), 'czxid', 'dataLength')).toEqual({ czxid: r.zxid, dataLength: 3 });
  });

  it('container and TTL creates answer with a Stat', () => {
    const r = multi([create('/m/cont', 4, OpCode.createContainer), { type: OpCode.createTTL, req: { path: '/m/ttl', data: null, acl: OPEN, flags: 5, ttl: 100000 } }]);
    const results = r.response as Array<{ type: number; path: string; stat: { ephemeralOwner: bigint } }>;
    expect(results.map((x) => [x.type, x.path, x.stat.ephemeralOwner])).toEqual([
      [19, '/m/cont', 0n],
      [21, '/m/ttl', 0n],
    ]);
    expect(h.tree.getNode('/m/cont')!.kind).toBe('container');
    expect(h.tree.getNode('/m/ttl')!.kind).toBe('ttl');
  });

  it('flags pick the create type inside a multi', () => {
    // a TTL flag on a plain create has no TTL: BADARGUMENTS; a container flag makes a container
    expect(multi([create('/m/t2', 5)]).response).toEqual([err(Err.BADARGUMENTS)]);
    multi([create('/m/c2', 4)]);
    expect(h.tree.getNode('/m/c2')!.kind).toBe('container');
    // invalid flags fail the whole request while decoding
    expect(multi([create('/m/bad', 9)]).err).toBe(Err.MARSHALLINGERROR);
  });

  it('is atomic at apply time too: a prepared multi that no longer fits fails whole', () => {
    h.create(s, '/m/box', { op: OpCode.createContainer, flags: 4 });
    h.create(s, '/m/box/x');
    h.delete(s, '/m/box/x');
    // the leader proposes the container's removal without prep, then prepares a multi that still sees it
    const reap = h.internal({ type: 'deleteContainer', path: '/m/box' });
    const [p] = h.prepareBatch([[s, OpCode.multi, [set('/m/box', 'v'), create('/m/box/y')]]]);
    h.commit(reap);
    const before = h.tree.digest();
    const r = h.commit(p!);
    expect(r.response).toEqual([err(Err.NONODE), err(-2)]);
    expect(h.tree.digest()).toBe(before);
    h.tree.checkInvariants();
  });
});

describe('multiRead (observed)', () => {
  const h = new Harness();
  const s = h.session();
  h.create(s, '/m');
  h.create(s, '/m/a', { data: Buffer.from('new') });
  h.create(s, '/mx', { acl: [{ perms: 1, id: { scheme: 'digest', id: 'u:x' } }] });
  const read = (ops: MultiOp[]) => h.read(s, OpCode.multiRead, ops);

  it('answers each op independently', () => {
    const r = read([
      { type: OpCode.getData, req: { path: '/m/a', watch: true } },
      { type: OpCode.getChildren, req: { path: '/m', watch: true } },
      { type: OpCode.getData, req: { path: '/nope', watch: false } },
      { type: OpCode.getChildren, req: { path: '/nope', watch: false } },
      { type: OpCode.getData, req: { path: '/mx', watch: false } },
    ]);
    expect(r.err).toBe(Err.OK);
    expect(r.response).toMatchObject([
      { type: 4, data: Buffer.from('new'), stat: { dataLength: 3 } },
      { type: 8, children: ['a'] },
      err(Err.NONODE),
      err(Err.NONODE),
      err(Err.NOAUTH),
    ]);
    // reads inside multiRead set no watches
    expect(h.watches.count).toBe(0);
  });

  it('a write inside multiRead is a MARSHALLINGERROR', () => {
    expect(read([create('/m/z')]).err).toBe(Err.MARSHALLINGERROR);
  });
});
