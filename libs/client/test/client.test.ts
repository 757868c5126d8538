/**
 * @zooid/client against real servers: the same table of cases runs against
 * a Zooid standalone and against Apache ZooKeeper 3.8 (Debian's package),
 * so the client is shown right about ZooKeeper, not merely consistent with
 * our own server. Waits are on conditions with deadlines.
 */
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '@zooid/cli';
import {
  CREATOR_ALL_ACL,
  OPEN_ACL_UNSAFE,
  Perms,
  ZooKeeperClient,
  ZooKeeperError,
  digestId,
  op,
  type ClientOptions,
  type KeeperStateName,
  type WatchedEvent,
} from '@zooid/client';
import { waitFor } from '../../../test/harness.js';
import { startProxy, type Proxy } from './proxy.js';
import { startZooKeeper, startZooid, type TestServer } from './servers.js';

/** A watcher that records what it is told. */
function recorder() {
  const events: WatchedEvent[] = [];
  const fn = (e: WatchedEvent) => void events.push(e);
  return {
    fn,
    events,
    next: (n = 1) => waitFor(`${n} event(s)`, () => events.length >= n, 10_000),
    kinds: () => events.map((e) => `${e.type} ${e.path}`),
  };
}

async function rejection(p: Promise<unknown>): Promise<ZooKeeperError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ZooKeeperError);
    return err as ZooKeeperError;
  }
  throw new Error('expected the call to fail');
}


function table(name: string, start: () => Promise<TestServer>): void {
  describe(`client against ${name}`, () => {
    let server: TestServer;
    const clients: ZooKeeperClient[] = [];
    const proxies: Proxy[] = [];
    let root = '';

    async function client(opts: ClientOptions & { connectString?: string } = {}): Promise<ZooKeeperClient> {
      const c = new ZooKeeperClient(opts.connectString ?? server.connectString, { sessionTimeout: 10_000, ...opts });
      clients.push(c);
      await c.connect(15_000);
      return c;
    }

    async function proxy(): Promise<Proxy> {
      const p = await startProxy(server.port);
      proxies.push(p);
      return p;
    }

    beforeAll(async () => {
      server = await start();
      const c = await client();
      root = await c.create('/t', 'table');
    });

    afterAll(async () => {
      await Promise.all(clients.map((c) => c.close(1000)));
      await Promise.all(proxies.map((p) => p.stop()));
      await server?.stop();
    });

    it('connects: session id and password, timeouts clamped to [2, 20] ticks', async () => {
      const c = await client({ sessionTimeout: 6000 });
      expect(c.state).toBe('connected');
      expect(c.sessionId).not.toBe(0n);
      expect(c.sessionPassword.length).toBe(16);
      expect(c.sessionTimeout).toBe(6000);
      expect((await client({ sessionTimeout: 100 })).sessionTimeout).toBe(2 * server.tickTime);
      expect((await client({ sessionTimeout: 600_000 })).sessionTimeout).toBe(20 * server.tickTime);
      expect(c.server?.port).toBeGreaterThan(0);
    });

    it('create, getData, exists, setData, delete with versions and the Stat they report', async () => {
      const c = await client();
      const p = `${root}/crud`;
      const before = Date.now();
      const created = await c.create2(p, 'one');
      expect(created.path).toBe(p);
      expect(created.stat).toMatchObject({ version: 0, cversion: 0, aversion: 0, dataLength: 3, numChildren: 0, ephemeralOwner: 0n });
      expect(created.stat.czxid).toBe(created.stat.mzxid);
      expect(created.stat.pzxid).toBe(created.stat.czxid);
      expect(created.stat.ctime).toBeGreaterThanOrEqual(before - 1000);
      expect(c.lastZxid).toBe(created.stat.czxid);

      const got = await c.getData(p);
      expect(got.data?.toString()).toBe('one');
      expect(got.stat).toEqual(created.stat);
      expect(await c.exists(p)).toEqual(created.stat);
      expect(await c.exists(`${p}-missing`)).toBeNull();

      const s1 = await c.setData(p, 'two', 0);
      expect(s1).toMatchObject({ version: 1, dataLength: 3, czxid: created.stat.czxid });
      expect(s1.mzxid).toBeGreaterThan(created.stat.mzxid);
      expect((await rejection(c.setData(p, 'x', 0))).code).toBe('BadVersion');
      expect((await rejection(c.delete(p, 0))).code).toBe('BadVersion');
      await c.delete(p, 1);
      expect(await c.exists(p)).toBeNull();

      const noNode = await rejection(c.getData(p));
      expect(noNode.code).toBe('NoNode');
      expect(noNode.rc).toBe(-101);
      expect(noNode.path).toBe(p);
      expect(noNode.message).toBe(`KeeperErrorCode = NoNode for ${p}`);
      expect((await rejection(c.setData(p, 'x'))).code).toBe('NoNode');
      expect((await rejection(c.delete(p))).code).toBe('NoNode');
      expect((await rejection(c.create(`${p}/child`))).code).toBe('NoNode');
      await c.create(p);
      expect((await rejection(c.create(p))).code).toBe('NodeExists');
      await c.create(`${p}/child`);
      expect((await rejection(c.delete(p))).code).toBe('NotEmpty');
    });

    it('null data and empty data stay distinct', async () => {
      const c = await client();
      await c.create(`${root}/null`, null);
      await c.create(`${root}/empty`, new Uint8Array(0));
      expect((await c.getData(`${root}/null`)).data).toBeNull();
      expect((await c.getData(`${root}/empty`)).data).toEqual(Buffer.alloc(0));
      const bin = Buffer.from([0, 1, 2, 255]);
      await c.setData(`${root}/empty`, bin);
      expect((await c.getData(`${root}/empty`)).data).toEqual(bin);
    });

    it('refuses bad paths before sending them', async () => {
      const c = await client();
      for (const bad of ['', 'x', '/x/', '//x', '/x/./y', '/x/../y', '/a\u0000b']) {
        const err = await rejection(c.getData(bad));
        expect(err.code).toBe('BadArguments');
      }
      // A sequential create may end in a slash.
      const seq = await c.create(`${root}/`, null, { mode: 'PERSISTENT_SEQUENTIAL' });
      expect(seq).toMatch(new RegExp(`^${root}/\\d{10}$`));
    });

    it('sequential nodes count by the parent cversion, ten digits', async () => {
      const c = await client();
      const dir = await c.create(`${root}/seq`);
      await c.create(`${dir}/plain`);
      const a = await c.create(`${dir}/n-`, null, { mode: 'PERSISTENT_SEQUENTIAL' });
      const b = await c.create(`${dir}/n-`, null, { mode: 'EPHEMERAL_SEQUENTIAL' });
      expect(a).toBe(`${dir}/n-0000000001`);
      expect(b).toBe(`${dir}/n-0000000002`);
      expect((await c.getChildren(dir)).sort()).toEqual(['n-0000000001', 'n-0000000002', 'plain']);
      const { children, stat } = await c.getChildren2(dir);
      expect(children.sort()).toEqual(['n-0000000001', 'n-0000000002', 'plain']);
      expect(stat).toMatchObject({ numChildren: 3, cversion: 3 });
    });

    it('ephemerals belong to the session and go with it', async () => {
      const a = await client();
      const b = await client();
      const p = `${root}/eph`;
      const { stat } = await a.create2(p, 'x', { mode: 'EPHEMERAL' });
      expect(stat.ephemeralOwner).toBe(a.sessionId);
      expect((await rejection(a.create(`${p}/child`))).code).toBe('NoChildrenForEphemerals');
      expect(await a.getEphemerals(root)).toEqual([p]);
      expect(await a.getEphemerals()).toContain(p);
      expect(await b.getEphemerals(root)).toEqual([]);
      const w = recorder();
      await b.exists(p, w.fn);
      await a.close();
      expect(a.state).toBe('closed');
      await w.next();
      expect(w.kinds()).toEqual([`NodeDeleted ${p}`]);
      expect(await b.exists(p)).toBeNull();
      expect((await rejection(a.getData(root))).code).toBe('ConnectionLoss');
    });

    it('container nodes: removed once their last child goes', async () => {
      const c = await client();
      const p = `${root}/container`;
      const { stat } = await c.create2(p, null, { mode: 'CONTAINER' });
      // The server keeps the container mark in the owner field but shows clients 0.
      expect(stat.ephemeralOwner).toBe(0n);
      expect(await c.create(`${p}/x`, null, { mode: 'CONTAINER' })).toBe(`${p}/x`);
      await c.delete(`${p}/x`);
      await waitFor('container removal', async () => (await c.exists(p)) === null, 15_000, 100);
    });

    it('TTL nodes: removed after the ttl once childless', async () => {
      const c = await client();
      const p = `${root}/ttl`;
      const { stat } = await c.create2(p, 'x', { mode: 'PERSISTENT_WITH_TTL', ttl: 300 });
      expect(stat.ephemeralOwner).toBe(0n);
      const seq = await c.create(`${p}-`, null, { mode: 'PERSISTENT_SEQUENTIAL_WITH_TTL', ttl: 60_000 });
      expect(seq).toMatch(/-\d{10}$/);
      expect((await c.exists(seq))?.ephemeralOwner).toBe(0n);
      await waitFor('TTL removal', async () => (await c.exists(p)) === null, 15_000, 100);
      expect(await c.exists(seq)).not.toBeNull();
      expect((await rejection(c.create(`${root}/ttl-none`, null, { mode: 'PERSISTENT_WITH_TTL' }))).code).toBe('BadArguments');
      expect((await rejection(c.create(`${root}/ttl-plain`, null, { ttl: 10 }))).code).toBe('BadArguments');
    });

    it('ACLs: digest identities, NoAuth, CREATOR_ALL, setACL versions, whoAmI', async () => {
      const owner = await client();
      const stranger = await client();
      const p = `${root}/acl`;
      const acl = [{ perms: Perms.READ | Perms.ADMIN, id: { scheme: 'digest', id: digestId('alice', 'secret') } }];
      await owner.create(p, 'x', { acl });
      expect((await rejection(stranger.getData(p))).code).toBe('NoAuth');
      expect((await rejection(stranger.setData(p, 'y'))).code).toBe('NoAuth');
      await stranger.addAuth('digest', 'alice:secret');
      expect((await stranger.getData(p)).data?.toString()).toBe('x');
      expect((await rejection(stranger.setData(p, 'y'))).code).toBe('NoAuth');
      const got = await stranger.getACL(p);
      expect(got.acl).toEqual(acl);
      expect(got.stat.aversion).toBe(0);
      expect((await rejection(stranger.setACL(p, OPEN_ACL_UNSAFE, 5))).code).toBe('BadVersion');
      const s = await stranger.setACL(p, OPEN_ACL_UNSAFE, 0);
      expect(s.aversion).toBe(1);
      await owner.setData(p, 'open now');

      expect((await rejection(owner.create(`${root}/creator`, null, { acl: CREATOR_ALL_ACL }))).code).toBe('InvalidACL');
      await stranger.create(`${root}/creator`, null, { acl: CREATOR_ALL_ACL });
      expect((await stranger.getACL(`${root}/creator`)).acl).toEqual([{ perms: Perms.ALL, id: { scheme: 'digest', id: digestId('alice', 'secret') } }]);
      expect((await rejection(owner.getData(`${root}/creator`))).code).toBe('NoAuth');

      expect(await owner.whoAmI()).toEqual([{ authProvider: 'ip', user: '127.0.0.1' }]);
      // ZooKeeper 3.8 lists the digest identity before the ip one; the order is the server's.
      const ids = (await stranger.whoAmI()).map((i) => `${i.authProvider}:${i.user}`).sort();
      expect(ids).toEqual(['digest:alice', 'ip:127.0.0.1']);
    });

    it('one-shot watches: data, exist and child; the default watcher with `true`', async () => {
      const defaults: WatchedEvent[] = [];
      const c = await client({ watcher: (e) => void defaults.push(e) });
      const writer = await client();
      const p = `${root}/watch`;
      const exist = recorder();
      expect(await c.exists(p, exist.fn)).toBeNull();
      await writer.create(p, 'a');
      await exist.next();
      expect(exist.kinds()).toEqual([`NodeCreated ${p}`]);

      const data = recorder();
      const child = recorder();
      await c.getData(p, data.fn);
      await c.getChildren(p, child.fn);
      await c.getData(p, true);
      await writer.setData(p, 'b');
      await data.next();
      await waitFor('default watcher event', () => defaults.some((e) => e.type === 'NodeDataChanged'));
      await writer.setData(p, 'c'); // one-shot: nobody is told
      await writer.create(`${p}/kid`);
      await child.next();
      await writer.delete(`${p}/kid`);
      expect(await c.sync(p)).toBe(p);
      expect(data.kinds()).toEqual([`NodeDataChanged ${p}`]);
      expect(child.kinds()).toEqual([`NodeChildrenChanged ${p}`]);
      expect(defaults.map((e) => `${e.type} ${e.state} ${e.path}`)).toEqual(['None SyncConnected null', `NodeDataChanged SyncConnected ${p}`]);

      const gone = recorder();
      await c.getData(p, gone.fn);
      await c.getChildren2(p, gone.fn);
      await writer.delete(p);
      await gone.next();
      await c.sync(p);
      // One watcher object on two watches of a path hears the deletion once, as in Java.
      expect(gone.kinds()).toEqual([`NodeDeleted ${p}`]);
    });

    it('persistent and recursive watches; removeWatches tells the watcher and stops events', async () => {
      const c = await client();
      const writer = await client();
      // One path per mode: ZooKeeper keeps one watch mode per connection and path, the last one set.
      const p = `${root}/pw`;
      const top = `${root}/pw-top`;
      await writer.create(top);
      await writer.create(p);
      const pers = recorder();
      const rec = recorder();
      await c.addWatch(p, pers.fn, 'PERSISTENT');
      await c.addWatch(top, rec.fn, 'PERSISTENT_RECURSIVE');
      for (const w of [p, top]) {
        await writer.setData(w, '1');
        await writer.setData(w, '2');
        await writer.create(`${w}/a`);
        await writer.create(`${w}/a/b`);
        await writer.setData(`${w}/a/b`, 'x');
        await writer.delete(`${w}/a/b`);
      }
      await rec.next(6);
      await pers.next(3);
      await c.sync(p);
      expect(pers.kinds()).toEqual([`NodeDataChanged ${p}`, `NodeDataChanged ${p}`, `NodeChildrenChanged ${p}`]);
      expect(rec.kinds()).toEqual([
        `NodeDataChanged ${top}`,
        `NodeDataChanged ${top}`,
        `NodeCreated ${top}/a`,
        `NodeCreated ${top}/a/b`,
        `NodeDataChanged ${top}/a/b`,
        `NodeDeleted ${top}/a/b`,
      ]);
      expect(c.watchedPaths()).toMatchObject({ persistent: [p], persistentRecursive: [top] });

      if (server.name === 'zookeeper') {
        // 3.8.0 refuses the persistent watcher types in check/removeWatches; 3.9 takes them, as Zooid does (docs/compat.md).
        expect((await rejection(c.removeWatches(p, pers.fn, 'Persistent'))).code).toBe('MarshallingError');
        expect(c.watchedPaths().persistent).toEqual([p]);
        await c.removeWatches(p, pers.fn, 'Any');
      } else {
        await c.removeWatches(p, pers.fn, 'Persistent');
      }
      expect(pers.kinds().at(-1)).toBe(`PersistentWatchRemoved ${p}`);
      await c.removeAllWatches(top, server.name === 'zookeeper' ? 'Any' : 'PersistentRecursive');
      expect(rec.kinds().at(-1)).toBe(`PersistentWatchRemoved ${top}`);
      const [np, nr] = [pers.events.length, rec.events.length];
      await writer.setData(p, '3');
      await writer.setData(`${top}/a`, '3');
      await c.sync(p);
      await c.getData(p); // a round trip after the changes: an event would be in by now
      expect([pers.events.length, rec.events.length]).toEqual([np, nr]);
      expect((await rejection(c.removeWatches(p, null, 'Any'))).code).toBe('NoWatcher');

      const d = recorder();
      await c.getData(p, d.fn);
      await c.removeWatches(p, d.fn, 'Data');
      expect(d.kinds()).toEqual([`DataWatchRemoved ${p}`]);
      const ch = recorder();
      await c.getChildren(p, ch.fn);
      await c.removeAllWatches(p, 'Children');
      expect(ch.kinds()).toEqual([`ChildWatchRemoved ${p}`]);
      await writer.setData(p, '4');
      await writer.create(`${p}/late`);
      await c.sync(p);
      await c.getData(p);
      expect(d.events.length).toBe(1);
      expect(ch.events.length).toBe(1);
      expect(c.watchedPaths()).toEqual({ data: [], exist: [], child: [], persistent: [], persistentRecursive: [] });
    });

    it('multi: all or nothing, with every op’s result either way', async () => {
      const c = await client();
      const p = `${root}/multi`;
      await c.create(p, 'v0');
      const ok = await c.multi([
        op.create(`${p}/a`, 'a'),
        op.create(`${p}/s-`, null, { mode: 'PERSISTENT_SEQUENTIAL' }),
        op.create(`${p}/c`, null, { mode: 'CONTAINER' }),
        op.setData(p, 'v1', 0),
        op.check(p, 1),
        op.delete(`${p}/a`),
      ]);
      expect(ok.map((r) => r.type)).toEqual(['create', 'create', 'create', 'setData', 'check', 'delete']);
      expect(ok[0]).toEqual({ type: 'create', path: `${p}/a` });
      expect(ok[1]).toEqual({ type: 'create', path: `${p}/s-0000000001` });
      expect(ok[2]).toMatchObject({ type: 'create', path: `${p}/c`, stat: { ephemeralOwner: 0n, numChildren: 0 } });
      expect(ok[3]).toMatchObject({ type: 'setData', stat: { version: 1 } });

      const err = await rejection(c.multi([op.create(`${p}/b`), op.check(p, 0), op.setData(p, 'never')]));
      expect(err.code).toBe('BadVersion');
      expect(err.results).toEqual([
        { type: 'error', code: 'Ok', rc: 0 },
        { type: 'error', code: 'BadVersion', rc: -103 },
        { type: 'error', code: 'RuntimeInconsistency', rc: -2 },
      ]);
      expect(await c.exists(`${p}/b`)).toBeNull();
      expect((await c.getData(p)).data?.toString()).toBe('v1');
      expect(await c.multi([])).toEqual([]);

      const reads = await c.multiRead([op.getData(p), op.getChildren(p), op.getData(`${p}/missing`)]);
      expect(reads[0]).toMatchObject({ type: 'getData', stat: { version: 1 } });
      expect((reads[0] as { data: Buffer }).data.toString()).toBe('v1');
      expect(reads[1]).toMatchObject({ type: 'getChildren' });
      expect((reads[1] as { children: string[] }).children.sort()).toEqual(['c', 's-0000000001']);
      expect(reads[2]).toEqual({ type: 'error', code: 'NoNode', rc: -101 });
    });

    it('counts descendants, syncs', async () => {
      const c = await client();
      const p = `${root}/count`;
      await c.create(p);
      await c.create(`${p}/a`);
      await c.create(`${p}/a/b`);
      await c.create(`${p}/c`);
      expect(await c.getAllChildrenNumber(p)).toBe(3);
      expect(await c.getAllChildrenNumber(`${p}/c`)).toBe(0);
      expect((await rejection(c.getAllChildrenNumber(`${p}/none`))).code).toBe('NoNode');
      expect(await c.sync('/')).toBe('/');
    });

    it('pipelines thousands of requests, answered in the order sent', async () => {
      const c = await client();
      const p = `${root}/pipe`;
      await c.create(p);
      const order: number[] = [];
      const calls: Promise<unknown>[] = [];
      for (let i = 0; i < 3000; i++) {
        const call = i % 3 === 0 ? c.create(`${p}/n${i}`, String(i)) : i % 3 === 1 ? c.setData(`${p}/n${i - 1}`, `v${i}`) : c.getData(`${p}/n${i - 2}`);
        calls.push(call.then(() => void order.push(i)));
      }
      await Promise.all(calls);
      expect(order).toEqual([...Array(3000).keys()]);
      // FIFO: each getData saw the setData sent before it.
      const last = await c.getData(`${p}/n2997`);
      expect(last.data?.toString()).toBe('v2998');
      expect(await c.getAllChildrenNumber(p)).toBe(1000);
      const children = await c.getChildren(p);
      expect(children.length).toBe(1000);
    });

    it('keeps an idle session alive with pings', async () => {
      const states: KeeperStateName[] = [];
      const c = await client({ sessionTimeout: 2000, watcher: (e) => void states.push(e.state) });
      expect(c.sessionTimeout).toBe(2000);
      const p = await c.create(`${root}/idle`, null, { mode: 'EPHEMERAL' });
      await new Promise((r) => setTimeout(r, 5000)); // idle for 2.5 session timeouts: the point of the test
      expect(states).toEqual(['SyncConnected']);
      expect((await c.exists(p))?.ephemeralOwner).toBe(c.sessionId);
    });

    it('reconnects within the session: re-sends auth, re-registers watches, fails what was in flight', async () => {
      const px = await proxy();
      const states: KeeperStateName[] = [];
      const c = await client({ connectString: `127.0.0.1:${px.port}`, watcher: (e) => void states.push(e.state) });
      const writer = await client();
      await c.addAuth('digest', 'bob:pw');
      await writer.addAuth('digest', 'bob:pw');
      const p = `${root}/reconnect`;
      await c.create(p, 'x', { acl: CREATOR_ALL_ACL });
      const data = recorder();
      const pers = recorder();
      const exist = recorder();
      const child = recorder();
      await c.getData(p, data.fn);
      await c.addWatch(p, pers.fn, 'PERSISTENT');
      await c.exists(`${p}/later`, exist.fn);
      await c.getChildren(p, child.fn);
      const sid = c.sessionId;

      px.refuse(true);
      const inFlight = c.getData(p);
      px.cut();
      expect((await rejection(inFlight)).code).toBe('ConnectionLoss');
      await waitFor('Disconnected', () => states.includes('Disconnected'));
      // Queued while disconnected: sent after the reconnect.
      const queued = c.getData(p);
      await writer.setData(p, 'changed while away');
      await writer.create(`${p}/later`);
      px.refuse(false);
      await waitFor('reconnected', () => c.state === 'connected', 15_000);
      expect(c.sessionId).toBe(sid);
      expect((await queued).data?.toString()).toBe('changed while away');
      await data.next();
      await exist.next();
      await child.next();
      await pers.next(2);
      expect(data.kinds()).toEqual([`NodeDataChanged ${p}`]);
      expect(exist.kinds()).toEqual([`NodeCreated ${p}/later`]);
      expect(child.kinds()).toEqual([`NodeChildrenChanged ${p}`]);
      expect(pers.kinds()).toEqual([`NodeDataChanged ${p}`, `NodeChildrenChanged ${p}`]);
      // The persistent watch stays registered on the new connection.
      await writer.setData(p, 'again');
      await pers.next(3);
      // The digest identity came back with the session: the CREATOR_ALL node is readable.
      expect((await c.getData(p)).data?.toString()).toBe('again');
      expect(states).toEqual(['SyncConnected', 'Disconnected', 'SyncConnected']);
    });

    it('re-registers 1.2 MB of one-shot watch paths with setWatches, split in 128 KiB requests', async () => {
      const px = await proxy();
      const states: KeeperStateName[] = [];
      const c = await client({ connectString: `127.0.0.1:${px.port}`, watcher: (e) => void states.push(e.state) });
      const writer = await client();
      const dir = await writer.create(`${root}/many`);
      // 6000 exist watches on 200-byte paths: 1.2 MB of paths, more than a server takes in one
      // request (jute.maxbuffer, 1 MiB), so only a client that splits them gets them back.
      const names = Array.from({ length: 6000 }, (_, i) => `${'w'.repeat(195)}${String(i).padStart(5, '0')}`);
      const fired = new Set<string>();
      const watcher = (e: WatchedEvent) => void fired.add(e.path!);
      expect(await Promise.all(names.map((n) => c.exists(`${dir}/${n}`, watcher)))).toEqual(names.map(() => null));
      const data = recorder();
      await c.getData(dir, data.fn);
      expect(c.watchedPaths().exist.length).toBe(6000);
      px.refuse(true);
      px.cut();
      await waitFor('Disconnected', () => states.includes('Disconnected'));
      await writer.setData(dir, 'while away');
      px.refuse(false);
      await waitFor('reconnected', () => c.state === 'connected', 15_000);
      await data.next();
      const picks = [0, 700, 1400, 2999, 4321, 5999].map((i) => `${dir}/${names[i]}`);
      await Promise.all(picks.map((p) => writer.create(p)));
      await waitFor('exist watches from every setWatches request', () => picks.every((p) => fired.has(p)));
      expect(fired.size).toBe(picks.length);
      expect(c.watchedPaths().exist.length).toBe(6000 - picks.length);
      expect(states).toEqual(['SyncConnected', 'Disconnected', 'SyncConnected']);
    });

    it('moves to the next server of the connect string', async () => {
      const a = await proxy();
      const b = await proxy();
      const dead = await freePort();
      const c = await client({ connectString: `127.0.0.1:${dead},127.0.0.1:${a.port},127.0.0.1:${b.port}`, noShuffle: true });
      expect(c.server?.port).toBe(a.port);
      const sid = c.sessionId;
      const eph = await c.create(`${root}/moving`, null, { mode: 'EPHEMERAL' });
      a.refuse(true);
      a.cut();
      await waitFor('reconnected through b', () => c.state === 'connected' && c.server?.port === b.port, 15_000);
      expect(c.sessionId).toBe(sid);
      expect((await c.exists(eph))?.ephemeralOwner).toBe(sid);
    });

    it('learns of its expiry from the server on reconnect', async () => {
      const px = await proxy();
      const states: KeeperStateName[] = [];
      const c = await client({ connectString: `127.0.0.1:${px.port}`, sessionTimeout: 1000, watcher: (e) => void states.push(e.state) });
      const watcher = await client();
      const eph = await c.create(`${root}/expiring`, null, { mode: 'EPHEMERAL' });
      const gone = recorder();
      await watcher.exists(eph, gone.fn);
      px.refuse(true);
      px.cut();
      await gone.next(); // the server expired the session and deleted its ephemeral
      expect(c.state).toBe('connecting');
      px.refuse(false);
      await waitFor('expired', () => c.state === 'expired', 15_000);
      expect(states).toEqual(['SyncConnected', 'Disconnected', 'Expired']);
      expect((await rejection(c.getData('/'))).code).toBe('SessionExpired');
      await c.close();
      expect(c.state).toBe('expired');
    });

    it('with renewOnExpiry, an expired session is followed by a new one with the same auth', async () => {
      const px = await proxy();
      const states: KeeperStateName[] = [];
      const c = await client({ connectString: `127.0.0.1:${px.port}`, sessionTimeout: 1000, renewOnExpiry: true, watcher: (e) => void states.push(e.state) });
      const iterated: KeeperStateName[] = [];
      const ac = new AbortController();
      const iterating = (async () => {
        for await (const s of c.states(ac.signal)) iterated.push(s);
      })();
      await c.addAuth('digest', 'carol:pw');
      const watcher = await client();
      const eph = await c.create(`${root}/renewing`, null, { mode: 'EPHEMERAL' });
      await c.getData(eph, () => undefined);
      const gone = recorder();
      await watcher.exists(eph, gone.fn);
      const first = c.sessionId;
      px.refuse(true);
      px.cut();
      // Disconnected for the whole session timeout, the client fails what waits (the probe); what comes after waits for a server.
      await waitFor('the client to see the disconnection', () => states.includes('Disconnected'), 5000);
      const probe = rejection(c.exists('/'));
      await gone.next(); // the server expired the session and deleted its ephemeral
      expect((await probe).code).toBe('ConnectionLoss');
      const queued = rejection(c.getData('/'));
      px.refuse(false);
      await waitFor('a new session', () => c.state === 'connected' && c.sessionId !== first, 15_000);
      // Made in the old session and waiting for a connection: it fails rather than run in the new one.
      expect((await queued).code).toBe('SessionExpired');
      expect(states).toEqual(['SyncConnected', 'Disconnected', 'Expired', 'SyncConnected']);
      ac.abort();
      await iterating;
      expect(iterated).toEqual(['Disconnected', 'Expired', 'SyncConnected']);
      expect(c.watchedPaths().data).toEqual([]);
      const ids = (await c.whoAmI()).map((i) => `${i.authProvider}:${i.user}`).sort();
      expect(ids).toEqual(['digest:carol', 'ip:127.0.0.1']);
      expect(await c.exists(eph)).toBeNull();
    });

    it('an auth the server refuses ends the session with AuthFailed', async () => {
      const states: KeeperStateName[] = [];
      const c = await client({ watcher: (e) => void states.push(e.state) });
      const err = await rejection(c.addAuth('no-such-scheme', 'whatever'));
      expect(err.code).toBe('AuthFailed');
      expect(c.state).toBe('authFailed');
      expect(states).toEqual(['SyncConnected', 'AuthFailed']);
      expect((await rejection(c.exists('/'))).code).toBe('AuthFailed');
    });

    it('gives up connecting after the deadline when no server answers', async () => {
      const dead = await freePort();
      const c = new ZooKeeperClient(`127.0.0.1:${dead}`, { sessionTimeout: 2000 });
      const err = await rejection(c.connect(1500));
      expect(err.code).toBe('ConnectionLoss');
      expect(err.message).toContain('could not connect');
      expect(c.state).toBe('closed');
    });

    it('says so when a server accepts the connection but no session follows', async () => {
      const mute = createServer(() => undefined); // accepts, never answers: a gateway with no member serving
      await new Promise<void>((r) => mute.listen(0, '127.0.0.1', r));
      try {
        const port = (mute.address() as AddressInfo).port;
        const c = new ZooKeeperClient(`127.0.0.1:${port}`, { sessionTimeout: 2000 });
        const err = await rejection(c.connect(1500));
        expect(err.code).toBe('ConnectionLoss');
        expect(err.message).toContain(`reached 127.0.0.1:${port} but no session was established`);
      } finally {
        mute.close();
      }
    });
  });
}

table('Zooid (standalone)', startZooid);
// The suite needs Debian's `zookeeper` package, as .ci/run installs it: the
// same table against the real server is what proves the client right.
table('Apache ZooKeeper 3.8', startZooKeeper);
