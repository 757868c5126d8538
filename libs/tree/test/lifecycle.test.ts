/**
 * Ephemeral, container and TTL nodes and sessions, as observed on a real
 * ZooKeeper 3.8.0 server with extendedTypesEnabled, and the deterministic
 * clean-up that replaces ZooKeeper's ContainerManager sweep here: the leader
 * asks the tree for candidates and proposes deleteContainer txns.
 */
import { describe, expect, it } from 'vitest';
import { Err, EventType, OpCode } from '@zooid/protocol';
import { CONTAINER_OWNER, MAX_TTL } from '../src/index.js';
import { Harness, pick } from './harness.js';

describe('ephemeral nodes (observed)', () => {
  const h = new Harness();
  const s = h.session();
  const other = h.session();

  it('are owned by the session, which the stat reports', () => {
    const r = h.create(s, '/eph', { flags: 1 });
    expect(r.err).toBe(Err.OK);
    expect((r.response as { stat: { ephemeralOwner: bigint } }).stat.ephemeralOwner).toBe(s.sessionId);
    expect(h.create(s, '/es-', { flags: 3 }).response).toMatchObject({ path: '/es-0000000001' });
  });

  it('cannot have children', () => {
    expect(h.create(s, '/eph/c').err).toBe(Err.NOCHILDRENFOREPHEMERALS);
    expect(h.create(s, '/eph/c', { flags: 2 }).err).toBe(Err.NOCHILDRENFOREPHEMERALS);
  });

  it('are listed by getEphemerals, filtered by prefix', () => {
    const list = (auth: typeof s, prefixPath: string) => (h.read(auth, OpCode.getEphemerals, { prefixPath }).response as { ephemerals: string[] }).ephemerals.sort();
    expect(list(s, '/')).toEqual(['/eph', '/es-0000000001']);
    expect(list(s, '')).toEqual(['/eph', '/es-0000000001']);
    expect(list(s, '/e')).toEqual(['/eph', '/es-0000000001']);
    expect(list(s, '/eph/')).toEqual([]);
    expect(list(other, '/')).toEqual([]);
    expect(h.tree.ephemeralCount).toBe(2);
  });

  it('go with their session, in the same txn, firing watches', () => {
    h.read(other, OpCode.exists, { path: '/eph', watch: true });
    h.read(other, OpCode.getChildren, { path: '/', watch: true });
    const r = h.write(s, OpCode.closeSession, undefined);
    expect(r.err).toBe(Err.OK);
    expect(h.stat('/eph')).toBeUndefined();
    expect(h.stat('/es-0000000001')).toBeUndefined();
    expect(h.tree.sessions.has(s.sessionId)).toBe(false);
    expect(h.tree.ephemeralCount).toBe(0);
    // all deletions share the close's zxid
    expect(pick(h.stat('/'), 'pzxid')).toEqual({ pzxid: r.zxid });
    expect(r.notifications.map((n) => [n.event.type, n.event.path])).toEqual([
      [EventType.NodeDeleted, '/eph'],
      [EventType.NodeChildrenChanged, '/'],
    ]);
    h.tree.checkInvariants();
  });

  it('created earlier in the same batch as the close still go', () => {
    const t = new Harness();
    const u = t.session();
    const batch = t.prepareBatch([
      [u, OpCode.create, { path: '/e1', data: null, acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], flags: 1 }],
      [u, OpCode.closeSession, undefined],
      // the closing session can do nothing more
      [u, OpCode.create, { path: '/e2', data: null, acl: [], flags: 0 }],
    ]);
    expect(batch[2]!.txn).toEqual({ type: 'error', err: Err.SESSIONEXPIRED });
    for (const p of batch) t.commit(p);
    expect(t.stat('/e1')).toBeUndefined();
  });

  it('a close frees the name for another session in the same batch', () => {
    const t = new Harness();
    const u = t.session();
    const v = t.session();
    t.create(u, '/lock', { flags: 1 });
    const batch = t.prepareBatch([
      [u, OpCode.closeSession, undefined],
      [v, OpCode.create, { path: '/lock', data: null, acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], flags: 1 }],
    ]);
    expect(batch[1]!.txn).toMatchObject({ type: 'create', path: '/lock', ephemeralOwner: v.sessionId });
    for (const p of batch) t.commit(p);
    expect(t.stat('/lock')?.ephemeralOwner).toBe(v.sessionId);
  });

  it('an ephemeral create that lands after its session closed is refused at apply', () => {
    const t = new Harness();
    const u = t.session();
    // the leader expires the session (no prep) while a create is already prepared
    const expire = t.internal({ type: 'closeSession', sessionId: u.sessionId }, u.sessionId);
    const [create] = t.prepareBatch([[u, OpCode.create, { path: '/orphan', data: null, acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], flags: 1 }]]);
    t.commit(expire);
    expect(t.commit(create!).err).toBe(Err.SESSIONEXPIRED);
    expect(t.stat('/orphan')).toBeUndefined();
  });
});

describe('containers (observed)', () => {
  const h = new Harness();
  const s = h.session();

  it('report ephemeralOwner 0 and store the container marker', () => {
    const r = h.create(s, '/cont', { op: OpCode.createContainer, flags: 4 });
    expect((r.response as { stat: { ephemeralOwner: bigint } }).stat.ephemeralOwner).toBe(0n);
    expect(h.tree.getNode('/cont')!.owner).toBe(CONTAINER_OWNER);
  });

  it('createContainer makes a container whatever the flags; create with the container flag does not', () => {
    h.create(s, '/cont0', { op: OpCode.createContainer, flags: 0 });
    h.create(s, '/c4', { op: OpCode.create2, flags: 4 });
    expect(h.tree.getNode('/cont0')!.kind).toBe('container');
    expect(h.tree.getNode('/c4')!.kind).toBe('persistent');
  });

  it('may hold ephemerals; is a clean-up candidate once its last child is gone', () => {
    expect(h.create(s, '/cont/e', { flags: 1 }).err).toBe(Err.OK);
    expect(pick(h.stat('/cont'), 'cversion', 'numChildren')).toEqual({ cversion: 1, numChildren: 1 });
    expect(h.tree.emptyContainers()).toEqual([]);
    h.delete(s, '/cont/e');
    // a container that never had a child is kept (cont0)
    expect(h.tree.emptyContainers()).toEqual(['/cont']);
    expect(h.tree.cleanupTxns(h.time)).toEqual([{ type: 'deleteContainer', path: '/cont' }]);
    const r = h.commit(h.internal(h.tree.cleanupTxns(h.time)[0]!));
    expect(r.err).toBe(Err.OK);
    expect(h.stat('/cont')).toBeUndefined();
    expect(h.stat('/cont0')).toBeDefined();
  });

  it('never-used containers go after maxNeverUsedIntervalMs when asked', () => {
    expect(h.tree.emptyContainers(h.time + 10_000, 5_000)).toEqual(['/cont0']);
  });

  it('a candidate that gained a child before its deletion applied is kept', () => {
    h.create(s, '/box', { op: OpCode.createContainer, flags: 4 });
    h.create(s, '/box/a');
    h.delete(s, '/box/a');
    const reap = h.internal({ type: 'deleteContainer', path: '/box' });
    const [create] = h.prepareBatch([[s, OpCode.create, { path: '/box/b', data: null, acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], flags: 0 }]]);
    // reap applies first: the box is gone, the prepared create finds no parent
    h.commit(reap);
    expect(h.commit(create!).err).toBe(Err.NONODE);
    // the other order: the child lands first, the reap is refused
    h.create(s, '/box2', { op: OpCode.createContainer, flags: 4 });
    h.create(s, '/box2/a');
    h.delete(s, '/box2/a');
    h.create(s, '/box2/b');
    expect(h.commit(h.internal({ type: 'deleteContainer', path: '/box2' })).err).toBe(Err.NOTEMPTY);
    expect(h.stat('/box2')).toBeDefined();
  });

  it('the Preparer offers each candidate once, until its removal applies', () => {
    const t = new Harness();
    const u = t.session();
    t.create(u, '/c', { op: OpCode.createContainer, flags: 4 });
    t.create(u, '/c/x');
    t.delete(u, '/c/x');
    expect(t.prep.cleanupCandidates(t.time)).toEqual(['/c']);
    const [reap] = t.prepareBatch([[{ sessionId: 0n, ids: [] }, OpCode.deleteContainer, { path: '/c' }]]);
    expect(reap!.txn).toEqual({ type: 'deleteContainer', path: '/c' });
    // still in the committed tree, but already being removed
    expect(t.tree.emptyContainers()).toEqual(['/c']);
    expect(t.prep.cleanupCandidates(t.time)).toEqual([]);
    t.commit(reap!);
    expect(t.tree.emptyContainers()).toEqual([]);
  });

  it('sweeps a budget at a time, going on where it stopped, a round at most per call', () => {
    const t = new Harness({ extendedTypesEnabled: true });
    const u = t.session();
    for (let i = 0; i < 5; i++) {
      t.create(u, `/c${i}`, { op: OpCode.createContainer, flags: 4 });
      t.create(u, `/c${i}/x`);
      t.delete(u, `/c${i}/x`);
    }
    t.create(u, '/full', { op: OpCode.createContainer, flags: 4 });
    t.create(u, '/full/x');
    t.create(u, '/ttl', { op: OpCode.createTTL, flags: 5, ttl: 1000 });
    const due = [0, 1, 2, 3, 4].map((i) => `/c${i}`).concat('/ttl');
    const later = t.time + 2000;
    // Seven to look at (six containers, then the TTL node): 3 + 3 + 1, the round ending with the third call.
    const calls = [t.tree.sweepDue(later, 3), t.tree.sweepDue(later, 3), t.tree.sweepDue(later, 3)];
    expect(calls[2]).toEqual(['/ttl']);
    expect(calls.flat().sort()).toEqual(due);
    expect(calls[0]!.length + calls[1]!.length).toBe(5);
    expect(t.tree.sweepDue(later, 100).sort()).toEqual(due); // a whole round, once
    // What is removed before the sweep reaches it is not offered.
    const seen = t.tree.sweepDue(later, 1);
    for (const path of due.filter((p) => p !== '/ttl' && !seen.includes(p))) t.delete(u, path);
    expect(t.tree.sweepDue(later, 100)).toEqual(['/ttl']);
  });

  it('prep of deleteContainer sees pending children and refuses non-candidates', () => {
    const t = new Harness();
    const u = t.session();
    t.create(u, '/c', { op: OpCode.createContainer, flags: 4 });
    t.create(u, '/p');
    const [child, reapC, reapP, reapMissing] = t.prepareBatch([
      [u, OpCode.create, { path: '/c/x', data: null, acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], flags: 0 }],
      [{ sessionId: 0n, ids: [] }, OpCode.deleteContainer, { path: '/c' }],
      [{ sessionId: 0n, ids: [] }, OpCode.deleteContainer, { path: '/p' }],
      [{ sessionId: 0n, ids: [] }, OpCode.deleteContainer, { path: '/nope' }],
    ]);
    expect(child!.txn.type).toBe('create');
    expect(reapC!.txn).toEqual({ type: 'error', err: Err.NOTEMPTY });
    expect(reapP!.txn).toEqual({ type: 'error', err: Err.BADVERSION });
    expect(reapMissing!.txn).toEqual({ type: 'error', err: Err.NONODE });
  });
});

describe('TTL nodes (observed)', () => {
  const h = new Harness();
  const s = h.session();
  const ttl = (path: string, value: number, flags = 5) => h.write(s, OpCode.createTTL, { path, data: null, acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], flags, ttl: value });

  const invalid: Array<[string, () => number, number]> = [
    ['ttl 0', () => ttl('/t0', 0).err, Err.BADARGUMENTS],
    ['ttl -1', () => ttl('/tm', -1).err, Err.BADARGUMENTS],
    ['ttl above max', () => ttl('/tx', MAX_TTL + 1).err, Err.BADARGUMENTS],
    ['createTTL with persistent flags', () => ttl('/tf', 5, 0).err, Err.BADARGUMENTS],
    // ZooKeeper crashes its SyncThread on this one (ttl < 0 with a non-TTL mode); we refuse it
    ['createTTL with persistent flags and ttl -1', () => ttl('/tfm', -1, 0).err, Err.BADARGUMENTS],
    ['create2 with TTL flags', () => h.create(s, '/t5', { op: OpCode.create2, flags: 5 }).err, Err.BADARGUMENTS],
    ['ttl max', () => ttl('/tmax', MAX_TTL).err, Err.OK],
  ];
  it.each(invalid)('%s', (_name, run, err) => {
    expect(run()).toBe(err);
  });

  it('report ephemeralOwner 0 and encode the TTL as EphemeralType does', () => {
    const r = ttl('/ttl', 1500);
    expect((r.response as { stat: { ephemeralOwner: bigint } }).stat.ephemeralOwner).toBe(0n);
    expect(h.tree.getNode('/ttl')!.owner).toBe(BigInt.asIntN(64, 0xff000000000005dcn));
    expect(ttl('/ttls-', 1500, 6).response).toMatchObject({ path: '/ttls-0000000002' });
  });

  it('expire only childless, after ttl ms without modification', () => {
    h.create(s, '/ttl/ch');
    const created = h.tree.getNode('/ttl')!.mtime;
    expect(h.tree.expiredTtlNodes(created + 3000)).toEqual(['/ttls-0000000002']);
    h.delete(s, '/ttl/ch');
    expect(h.tree.expiredTtlNodes(created + 1500)).toEqual([]);
    expect(h.tree.expiredTtlNodes(created + 1502).sort()).toEqual(['/ttl', '/ttls-0000000002']);
    h.setData(s, '/ttl', Buffer.from('touch'));
    expect(h.tree.expiredTtlNodes(created + 1502)).toEqual(['/ttls-0000000002']);
  });

  it('prep re-checks expiry against pending writes', () => {
    const touched = h.tree.getNode('/ttl')!.mtime;
    h.time = touched + 2000;
    const [touch, reap] = h.prepareBatch([
      [s, OpCode.setData, { path: '/ttl', data: null, version: -1 }],
      [{ sessionId: 0n, ids: [] }, OpCode.deleteContainer, { path: '/ttl' }],
    ]);
    expect(reap!.txn).toEqual({ type: 'error', err: Err.BADVERSION });
    h.commit(touch!);
    h.commit(reap!);
    expect(h.stat('/ttl')).toBeDefined();
  });

  it('are UNIMPLEMENTED when extended types are off', () => {
    const t = new Harness({ extendedTypesEnabled: false });
    const u = t.session();
    expect(t.write(u, OpCode.createTTL, { path: '/x', data: null, acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], flags: 5, ttl: 10 }).err).toBe(Err.UNIMPLEMENTED);
  });
});

describe('sessions', () => {
  it('are created and closed by txns, with timeout and password', () => {
    const h = new Harness();
    const s = h.session([], 12_000);
    expect(h.tree.sessions.get(s.sessionId)).toEqual({ timeout: 12_000, verifier: Buffer.alloc(16, 1) });
    const d = h.tree.digest();
    h.write(s, OpCode.closeSession, undefined);
    expect(h.tree.sessions.size).toBe(0);
    expect(h.tree.digest()).not.toBe(d);
  });
});
