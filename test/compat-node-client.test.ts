/**
 * Compatibility: node-zookeeper-client (npm, 1.1.x), a client nobody here
 * wrote, against a real standalone Zooid (nats-server + member + gateway as
 * child processes). Every operation the library offers is exercised, with the
 * results ZooKeeper 3.8 gives.
 *
 * Not covered because the library does not offer them: container and TTL
 * create modes (its CreateMode has only the four classic modes), getChildren
 * without stat (it always sends getChildren2), sync, multiRead, addWatch.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './harness.js';
import { compatTarget, type CompatTarget } from './clients/target.js';
import { startMember } from './clients/members.js';
import { ACL, CreateMode, Event, Exception, Id, NzkClient, Permission, State, errCode, long, sessionHex, type ZkEvent } from './clients/nzk.js';

const OP = { create: 1, delete: 2, exists: 3, getData: 4, setData: 5, getACL: 6, setACL: 7, getChildren2: 12, check: 13, multi: 14, error: -1 };

let zoo: CompatTarget;
const clients: NzkClient[] = [];

async function client(options: Record<string, unknown> = {}): Promise<NzkClient> {
  const c = new NzkClient(zoo.connectString, options);
  clients.push(c);
  return c.connect();
}

function digest(user: string, password: string): string {
  return `${user}:${createHash('sha1').update(`${user}:${password}`).digest('base64')}`;
}

/** A watcher that records its events; `next()` waits for the next one. */
function recorder() {
  const events: ZkEvent[] = [];
  const fn = (e: ZkEvent) => events.push({ type: e.type, name: e.name, path: e.path });
  return { fn, events, next: (n = 1) => waitFor(`${n} watch event(s)`, () => events.length >= n, 10_000) };
}

beforeAll(async () => {
  zoo = await compatTarget();
});

afterAll(async () => {
  await Promise.all(clients.map((c) => c.close(3000).catch(() => undefined)));
  await zoo?.stop();
});

describe('node-zookeeper-client against Zooid', () => {
  it('connects, negotiates the session timeout and exposes id and password', async () => {
    const c = await client({ sessionTimeout: 6000 });
    expect(c.raw.getState()).toBe(State.SYNC_CONNECTED);
    expect(c.sessionId.length).toBe(8);
    expect(c.sessionId.readBigUInt64BE(0)).not.toBe(0n);
    expect(c.sessionPassword.length).toBe(16);
    expect(c.sessionPassword.equals(Buffer.alloc(16))).toBe(false);
    expect(c.sessionTimeout).toBe(6000);
    // tickTime 500: timeouts are clamped to [2, 20] ticks like ZooKeeper.
    const low = await client({ sessionTimeout: 100 });
    expect(low.sessionTimeout).toBe(1000);
    const high = await client({ sessionTimeout: 60_000 });
    expect(high.sessionTimeout).toBe(10_000);
    expect(sessionHex(low.sessionId)).not.toBe(sessionHex(high.sessionId));
  });

  it('creates in every mode the library offers, with ZooKeeper names and stats', async () => {
    const c = await client();
    expect(await c.create('/modes', Buffer.from('root'))).toBe('/modes');

    // PERSISTENT
    expect(await c.create('/modes/p', Buffer.from('hello'), undefined, CreateMode.PERSISTENT)).toBe('/modes/p');
    const p = await c.getData('/modes/p');
    expect(p.data?.toString()).toBe('hello');
    expect(p.stat.version).toBe(0);
    expect(p.stat.dataLength).toBe(5);
    expect(long(p.stat.ephemeralOwner)).toBe(0n);
    expect(long(p.stat.czxid)).toBe(long(p.stat.mzxid));
    expect(long(p.stat.ctime)).toBeGreaterThan(BigInt(Date.now() - 60_000));

    // PERSISTENT_SEQUENTIAL: 10-digit counter from the parent's cversion.
    const s1 = await c.create('/modes/s-', null, undefined, CreateMode.PERSISTENT_SEQUENTIAL);
    const s2 = await c.create('/modes/s-', null, undefined, CreateMode.PERSISTENT_SEQUENTIAL);
    expect(s1).toBe('/modes/s-0000000001');
    expect(s2).toBe('/modes/s-0000000002');

    // EPHEMERAL: owned by this session.
    expect(await c.create('/modes/e', null, undefined, CreateMode.EPHEMERAL)).toBe('/modes/e');
    const e = await c.exists('/modes/e');
    expect(long(e!.ephemeralOwner)).toBe(c.sessionId.readBigInt64BE(0));
    // Ephemerals cannot have children.
    expect(await errCode(c.create('/modes/e/child'))).toBe(Exception.NO_CHILDREN_FOR_EPHEMERALS);

    // EPHEMERAL_SEQUENTIAL
    const es = await c.create('/modes/es-', Buffer.from('x'), undefined, CreateMode.EPHEMERAL_SEQUENTIAL);
    expect(es).toBe('/modes/es-0000000004');
    expect(long((await c.exists(es))!.ephemeralOwner)).toBe(c.sessionId.readBigInt64BE(0));

    const { children, stat } = await c.getChildren('/modes');
    expect(children.sort()).toEqual(['e', 'es-0000000004', 'p', 's-0000000001', 's-0000000002']);
    expect(stat.numChildren).toBe(5);
    expect(stat.cversion).toBe(5);

    expect(await errCode(c.create('/modes/p'))).toBe(Exception.NODE_EXISTS);
    expect(await errCode(c.create('/missing/child'))).toBe(Exception.NO_NODE);
  });

  it('exists with and without a watcher, on present and missing nodes', async () => {
    const a = await client();
    const b = await client();
    expect(await a.exists('/ex')).toBeNull();
    const created = recorder();
    expect(await a.exists('/ex', created.fn)).toBeNull();
    await b.create('/ex', Buffer.from('1'));
    await created.next();
    expect(created.events).toEqual([{ type: Event.NODE_CREATED, name: 'NODE_CREATED', path: '/ex' }]);

    const stat = await a.exists('/ex');
    expect(stat).not.toBeNull();
    expect(stat!.dataLength).toBe(1);

    const deleted = recorder();
    expect(await a.exists('/ex', deleted.fn)).not.toBeNull();
    await b.remove('/ex');
    await deleted.next();
    expect(deleted.events).toEqual([{ type: Event.NODE_DELETED, name: 'NODE_DELETED', path: '/ex' }]);
  });

  it('getData/setData with versions, BADVERSION leaves the data alone, and data watches fire once', async () => {
    const a = await client();
    const b = await client();
    await a.create('/data', Buffer.from('v0'));
    const w = recorder();
    const first = await a.getData('/data', w.fn);
    expect(first.data?.toString()).toBe('v0');
    const s1 = await b.setData('/data', Buffer.from('v1'), 0);
    expect(s1.version).toBe(1);
    expect(long(s1.mzxid)).toBeGreaterThan(long(s1.czxid));
    await w.next();
    expect(w.events).toEqual([{ type: Event.NODE_DATA_CHANGED, name: 'NODE_DATA_CHANGED', path: '/data' }]);

    expect(await errCode(b.setData('/data', Buffer.from('stale'), 0))).toBe(Exception.BAD_VERSION);
    const now = await a.getData('/data');
    expect(now.data?.toString()).toBe('v1');
    expect(now.stat.version).toBe(1);

    // The watch was one-shot: another change brings no second event.
    const marker = recorder();
    await a.getData('/data', marker.fn);
    await b.setData('/data', Buffer.from('v2'), -1);
    await marker.next();
    expect(w.events).toHaveLength(1);

    // Data watch on a node that is then deleted fires NodeDeleted.
    const gone = recorder();
    await a.getData('/data', gone.fn);
    await b.remove('/data', 2);
    await gone.next();
    expect(gone.events[0]).toMatchObject({ type: Event.NODE_DELETED, path: '/data' });

    expect(await errCode(a.getData('/data'))).toBe(Exception.NO_NODE);
    expect(await errCode(a.setData('/data', Buffer.from('x')))).toBe(Exception.NO_NODE);
    // Empty data is a value like any other.
    await a.create('/data-empty', Buffer.from('something'));
    expect((await a.setData('/data-empty', Buffer.alloc(0))).dataLength).toBe(0);
    expect((await a.getData('/data-empty')).stat.dataLength).toBe(0);
  });

  it('getChildren (getChildren2) with watchers for child creation, deletion and the parent going away', async () => {
    const a = await client();
    const b = await client();
    await a.create('/kids');
    const w1 = recorder();
    const r = await a.getChildren('/kids', w1.fn);
    expect(r.children).toEqual([]);
    expect(r.stat.numChildren).toBe(0);
    await b.create('/kids/one');
    await w1.next();
    expect(w1.events).toEqual([{ type: Event.NODE_CHILDREN_CHANGED, name: 'NODE_CHILDREN_CHANGED', path: '/kids' }]);

    const w2 = recorder();
    expect((await a.getChildren('/kids', w2.fn)).children).toEqual(['one']);
    await b.remove('/kids/one');
    await w2.next();
    expect(w2.events[0]).toMatchObject({ type: Event.NODE_CHILDREN_CHANGED, path: '/kids' });

    // A data change on the parent does not fire a child watch; deleting the parent does.
    const w3 = recorder();
    await a.getChildren('/kids', w3.fn);
    await b.setData('/kids', Buffer.from('ignored by child watches'));
    await b.remove('/kids');
    await w3.next();
    expect(w3.events).toEqual([{ type: Event.NODE_DELETED, name: 'NODE_DELETED', path: '/kids' }]);
    expect(await errCode(a.getChildren('/kids'))).toBe(Exception.NO_NODE);
  });

  it('getACL/setACL with digest ACLs, addAuthInfo and NOAUTH', async () => {
    const owner = await client();
    const stranger = await client();
    await owner.create('/acl', Buffer.from('secret'));
    const open = await owner.getACL('/acl');
    expect(open.acls).toHaveLength(1);
    expect(open.acls[0].permission).toBe(Permission.ALL);
    expect(open.acls[0].id).toMatchObject({ scheme: 'world', id: 'anyone' });
    expect(open.stat.aversion).toBe(0);

    const alice = new Id('digest', digest('alice', 'secret'));
    const acls = [new ACL(Permission.ALL, alice), new ACL(Permission.READ, Id.ANYONE_ID_UNSAFE)];
    expect(await errCode(owner.setACL('/acl', acls, 5))).toBe(Exception.BAD_VERSION);
    const st = await owner.setACL('/acl', acls, 0);
    expect(st.aversion).toBe(1);
    // Without ADMIN, ZooKeeper 3.8 shows digest ids as user:x (the hash could be brute-forced).
    const masked = await stranger.getACL('/acl');
    expect(masked.acls.map((a: any) => [a.permission, a.id.scheme, a.id.id])).toEqual([
      [Permission.ALL, 'digest', 'alice:x'],
      [Permission.READ, 'world', 'anyone'],
    ]);
    expect(masked.stat.aversion).toBe(1);

    // world may read but not write; alice may write once authenticated.
    expect((await stranger.getData('/acl')).data?.toString()).toBe('secret');
    expect(await errCode(stranger.setData('/acl', Buffer.from('x')))).toBe(Exception.NO_AUTH);
    expect(await errCode(stranger.setACL('/acl', ACL.OPEN_ACL_UNSAFE))).toBe(Exception.NO_AUTH);
    expect(await errCode(stranger.create('/acl/x'))).toBe(Exception.NO_AUTH);
    stranger.addAuthInfo('digest', 'alice:wrong');
    expect(await errCode(stranger.setData('/acl', Buffer.from('x')))).toBe(Exception.NO_AUTH);
    const alicec = await client();
    alicec.addAuthInfo('digest', 'alice:secret');
    expect((await alicec.setData('/acl', Buffer.from('by alice'))).version).toBe(1);
    const full = await alicec.getACL('/acl');
    expect(full.acls[0].id.id).toBe(digest('alice', 'secret'));

    // A node only alice can touch at all.
    await alicec.create('/acl/private', Buffer.from('p'), [new ACL(Permission.ALL, alice)]);
    expect(await errCode(stranger.getData('/acl/private'))).toBe(Exception.NO_AUTH);
    expect(await errCode(stranger.getChildren('/acl/private'))).toBe(Exception.NO_AUTH);
    expect(await errCode(stranger.getACL('/acl/private'))).toBe(Exception.NO_AUTH);
    expect(await errCode(stranger.remove('/acl/private'))).toBe(Exception.NO_AUTH); // no DELETE on /acl for world
    expect((await alicec.getData('/acl/private')).data?.toString()).toBe('p');
    // ZooKeeper 3.8.4+ (ZOOKEEPER-2590, a security fix Zooid follows): exists
    // needs READ on a node that exists; 3.8.0 answered it without a check.
    expect(await errCode(stranger.exists('/acl/private'))).toBe(Exception.NO_AUTH);
    await alicec.remove('/acl/private');
    expect(await stranger.exists('/acl/private')).toBeNull();

    // CREATOR_ALL_ACL (auth scheme) becomes the creator's digest identity;
    // without any authenticated identity it is an invalid ACL.
    await alicec.create('/acl-creator', null, ACL.CREATOR_ALL_ACL);
    const creator = await alicec.getACL('/acl-creator');
    expect(creator.acls.map((a: any) => [a.permission, a.id.scheme, a.id.id])).toEqual([[Permission.ALL, 'digest', digest('alice', 'secret')]]);
    const anon = await client();
    expect(await errCode(anon.create('/acl-creator2', null, ACL.CREATOR_ALL_ACL))).toBe(Exception.INVALID_ACL);
    expect(await anon.exists('/acl-creator2')).toBeNull();
  });

  it('remove with versions, NOTEMPTY and NONODE; removeRecursive and listSubTreeBFS', async () => {
    const c = await client();
    await c.create('/rm', Buffer.from('a'));
    await c.setData('/rm', Buffer.from('b'));
    expect(await errCode(c.remove('/rm', 0))).toBe(Exception.BAD_VERSION);
    expect(await c.exists('/rm')).not.toBeNull();
    await c.create('/rm/child');
    expect(await errCode(c.remove('/rm', 1))).toBe(Exception.NOT_EMPTY);
    await c.remove('/rm/child', 0);
    await c.remove('/rm', 1);
    expect(await c.exists('/rm')).toBeNull();
    expect(await errCode(c.remove('/rm'))).toBe(Exception.NO_NODE);

    // The library's BFS walks one level only with the async@3 it depends on
    // (async.reduce fixes the list length up front), so the trees here are flat.
    await c.create('/tree');
    for (const k of ['a', 'b', 'c']) await c.create(`/tree/${k}`);
    const listed = await c.listSubTreeBFS('/tree');
    expect(listed[0]).toBe('/tree');
    expect([...listed].sort()).toEqual(['/tree', '/tree/a', '/tree/b', '/tree/c']);
    await c.removeRecursive('/tree');
    expect(await c.exists('/tree')).toBeNull();
    expect(await c.exists('/tree/a')).toBeNull();
  });

  it('mkdirp creates every missing level and tolerates existing ones', async () => {
    const c = await client();
    expect(await c.mkdirp('/deep/er/still', Buffer.from('d'))).toBe('/deep/er/still');
    for (const p of ['/deep', '/deep/er', '/deep/er/still']) expect((await c.getData(p)).data?.toString()).toBe('d');
    expect(await c.mkdirp('/deep/er/still/more')).toBe('/deep/er/still/more');
    expect((await c.getChildren('/deep/er/still')).children).toEqual(['more']);
  });

  it('transaction (multi): all ops applied together with per-op results', async () => {
    const c = await client();
    await c.create('/tx', Buffer.from('0'));
    const results = await c.commit((t) =>
      t
        .create('/tx/a', Buffer.from('a'))
        .create('/tx/seq-', Buffer.from('s'), CreateMode.PERSISTENT_SEQUENTIAL)
        .setData('/tx', Buffer.from('1'), 0)
        .check('/tx', 1)
        .create('/tx/gone')
        .remove('/tx/gone'),
    );
    expect(results.map((r) => r.type)).toEqual([OP.create, OP.create, OP.setData, OP.check, OP.create, OP.delete]);
    expect(results[0].path).toBe('/tx/a');
    expect(results[1].path).toBe('/tx/seq-0000000001');
    expect(results[2].stat.version).toBe(1);
    expect((await c.getChildren('/tx')).children.sort()).toEqual(['a', 'seq-0000000001']);
    const tx = await c.getData('/tx');
    expect(tx.data?.toString()).toBe('1');
    // One transaction: every node it created carries the same czxid.
    const a = await c.exists('/tx/a');
    const s = await c.exists('/tx/seq-0000000001');
    expect(long(a!.czxid)).toBe(long(s!.czxid));
    expect(long(tx.stat.mzxid)).toBe(long(a!.czxid));
  });

  it('transaction (multi) failure is all-or-nothing and reports OK / error / RUNTIMEINCONSISTENCY', async () => {
    const c = await client();
    const w = recorder();
    await c.create('/txf', Buffer.from('0'));
    await c.getChildren('/txf', w.fn);
    const before = await c.getData('/txf');
    let failure: any;
    try {
      await c.commit((t) =>
        t
          .create('/txf/x', Buffer.from('x'))
          .setData('/txf', Buffer.from('changed'))
          .check('/txf', 7)
          .create('/txf/y'),
      );
    } catch (err) {
      failure = err;
    }
    expect(failure?.getCode?.()).toBe(Exception.BAD_VERSION);
    expect(failure.results.map((r: any) => [r.type, r.err])).toEqual([
      [OP.error, 0],
      [OP.error, 0],
      [OP.error, Exception.BAD_VERSION],
      [OP.error, Exception.RUNTIME_INCONSISTENCY],
    ]);
    // Nothing was applied.
    expect(await c.exists('/txf/x')).toBeNull();
    expect(await c.exists('/txf/y')).toBeNull();
    const after = await c.getData('/txf');
    expect(after.data?.toString()).toBe('0');
    expect(after.stat.version).toBe(before.stat.version);
    expect(after.stat.cversion).toBe(before.stat.cversion);
    // A later successful write shows the child watch never fired for the failed multi.
    await c.create('/txf/z');
    await w.next();
    expect(w.events).toEqual([{ type: Event.NODE_CHILDREN_CHANGED, name: 'NODE_CHILDREN_CHANGED', path: '/txf' }]);
    expect((await c.getChildren('/txf')).children).toEqual(['z']);

    // A failing op first: nothing after it runs either.
    expect(await errCode(c.commit((t) => t.remove('/txf/nope').create('/txf/w')))).toBe(Exception.NO_NODE);
    expect(await c.exists('/txf/w')).toBeNull();
  });

  it('a watch event arrives before the reply of any later read that reflects the change (promise 4)', async () => {
    const a = await client();
    const b = await client();
    await a.create('/order', Buffer.from('v0'));
    await a.create('/order-kids');

    // Another session's write, then a read by the watcher's session.
    let checked = 0;
    for (let i = 1; i <= 20; i++) {
      const w = recorder();
      await a.getData('/order', w.fn);
      await a.getChildren('/order-kids', w.fn);
      a.wire.length = 0;
      await b.setData('/order', Buffer.from(`v${i}`));
      await b.create(`/order-kids/k${i}`);
      const seen = await a.getData('/order');
      const kids = await a.getChildren('/order-kids');
      if (seen.data?.toString() === `v${i}`) {
        const ev = a.wire.findIndex((e) => e.kind === 'event' && e.path === '/order' && e.type === Event.NODE_DATA_CHANGED);
        const rd = a.wire.findIndex((e) => e.kind === 'reply' && e.type === OP.getData && e.path === '/order');
        expect(ev, JSON.stringify(a.wire)).toBeGreaterThanOrEqual(0);
        expect(ev, JSON.stringify(a.wire)).toBeLessThan(rd);
        checked++;
      }
      if (kids.children.includes(`k${i}`)) {
        const ev = a.wire.findIndex((e) => e.kind === 'event' && e.path === '/order-kids' && e.type === Event.NODE_CHILDREN_CHANGED);
        const rd = a.wire.findIndex((e) => e.kind === 'reply' && e.type === OP.getChildren2 && e.path === '/order-kids');
        expect(ev, JSON.stringify(a.wire)).toBeGreaterThanOrEqual(0);
        expect(ev, JSON.stringify(a.wire)).toBeLessThan(rd);
        checked++;
      }
    }
    // One server: every read after the other session's acknowledged write reflects it.
    expect(checked).toBe(40);

    // The session's own write: the event comes before the write's reply.
    const w = recorder();
    await a.exists('/order', w.fn);
    a.wire.length = 0;
    await a.setData('/order', Buffer.from('mine'));
    const ev = a.wire.findIndex((e) => e.kind === 'event' && e.path === '/order');
    const rep = a.wire.findIndex((e) => e.kind === 'reply' && e.type === OP.setData);
    expect(ev).toBeGreaterThanOrEqual(0);
    expect(ev).toBeLessThan(rep);
  });

  it('a second client resumes a session by id and password and keeps its ephemeral', async () => {
    const watcher = await client();
    await watcher.create('/resume');
    // The first client lives in its own process and is killed outright: no closeSession.
    const holder = await startMember(zoo.connectString, '/resume/eph', 'ephemeral', 8000);
    const eph = await watcher.exists('/resume/eph');
    expect(eph).not.toBeNull();
    expect(long(eph!.ephemeralOwner).toString(16)).toBe(BigInt('0x' + holder.info.sessionId).toString(16));
    await holder.kill();

    const resumed = await client({
      sessionId: Buffer.from(holder.info.sessionId, 'hex'),
      sessionPassword: Buffer.from(holder.info.password, 'hex'),
      sessionTimeout: 8000,
    });
    expect(resumed.sessionId.toString('hex')).toBe(holder.info.sessionId);
    expect(resumed.sessionTimeout).toBe(8000);
    // Well past the session timeout: the resumed session keeps the node alive.
    const until = Date.now() + 9000;
    await waitFor('session timeout to pass', () => Date.now() > until, 12_000, 200);
    const still = await watcher.exists('/resume/eph');
    expect(still).not.toBeNull();
    expect(long(still!.czxid)).toBe(long(eph!.czxid));
    // The resumed session owns it: it may delete it, and closing would too.
    expect(long((await resumed.exists('/resume/eph'))!.ephemeralOwner)).toBe(resumed.sessionId.readBigInt64BE(0));

    // A wrong password is refused as an expired session.
    const bad = new NzkClient(zoo.connectString, {
      sessionId: Buffer.from(holder.info.sessionId, 'hex'),
      sessionPassword: Buffer.alloc(16, 7),
      sessionTimeout: 8000,
    });
    clients.push(bad);
    await expect(bad.connect()).rejects.toMatchObject({ expired: true });
    expect(await watcher.exists('/resume/eph')).not.toBeNull();
  }, 60_000);

  it('closing a session deletes its ephemerals and a watcher on the parent sees NodeChildrenChanged', async () => {
    const watcher = await client();
    await watcher.create('/closing');
    const member = await client();
    await member.create('/closing/m', null, undefined, CreateMode.EPHEMERAL);
    const seq = await member.create('/closing/s-', null, undefined, CreateMode.EPHEMERAL_SEQUENTIAL);
    await member.create('/closing/keep', null, undefined, CreateMode.PERSISTENT);
    const w = recorder();
    const dataW = recorder();
    expect((await watcher.getChildren('/closing', w.fn)).children.sort()).toEqual(['keep', 'm', seq.slice('/closing/'.length)].sort());
    await watcher.exists('/closing/m', dataW.fn);
    await member.close();
    await w.next();
    await dataW.next();
    expect(w.events).toEqual([{ type: Event.NODE_CHILDREN_CHANGED, name: 'NODE_CHILDREN_CHANGED', path: '/closing' }]);
    expect(dataW.events).toEqual([{ type: Event.NODE_DELETED, name: 'NODE_DELETED', path: '/closing/m' }]);
    expect((await watcher.getChildren('/closing')).children).toEqual(['keep']);
    // The closed session cannot be resumed.
    const again = new NzkClient(zoo.connectString, { sessionId: member.sessionId, sessionPassword: member.sessionPassword });
    clients.push(again);
    await expect(again.connect()).rejects.toMatchObject({ expired: true });
  });
});
