/**
 * Compatibility across a connection loss: real clients (node-zookeeper-client,
 * kazoo) connect through a proxy the test controls; the test cuts the
 * connection, changes what they watch while they are away, and lets them
 * reconnect — through the other gateway. Each client resumes its session and
 * re-registers its watches with SetWatches(relativeZxid); ZooKeeper then fires
 * every watch whose node changed after that zxid, once, and nothing else.
 */
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './harness.js';
import { compatTarget, type CompatTarget } from './clients/target.js';
import { runZkCliSession } from './clients/zkcli.js';
import { CutProxy } from './clients/proxy.js';
import { CLIENTS_DIR, PYTHON } from './clients/python.js';
import { CreateMode, Event, NzkClient, type ZkEvent } from './clients/nzk.js';

let zoo: CompatTarget;
/** Where clients connect first, and where they come back. */
let ports: [number, number];
let other: NzkClient;
const proxies: CutProxy[] = [];

beforeAll(async () => {
  // Two gateways: the clients come back through the one they were not on.
  zoo = await compatTarget({ gateways: 2 });
  ports = zoo.zooid ? [zoo.zooid.ports[0]!, zoo.zooid.ports[1]!] : [zoo.port, zoo.port];
  other = new NzkClient(`${zoo.host}:${ports[1]}`);
  await other.connect();
});

afterAll(async () => {
  await Promise.all(proxies.map((p) => p.stop()));
  await other?.close();
  await zoo?.stop();
});

async function proxyTo(gw: number): Promise<CutProxy> {
  const p = await new CutProxy({ host: zoo.host, port: ports[gw] }).start();
  proxies.push(p);
  return p;
}

/** The nodes both scenarios watch, made by the other client. */
async function setup(root: string): Promise<void> {
  await other.create(root);
  await other.create(`${root}/data`, Buffer.from('v0'));
  await other.create(`${root}/kids`);
  await other.create(`${root}/gone`);
  await other.create(`${root}/same`, Buffer.from('unchanged'));
  await other.create(`${root}/kids2`);
  await other.create(`${root}/data2`, Buffer.from('v0'));
}

/** What happens while the watcher is away. */
async function changeWhileAway(root: string): Promise<void> {
  await other.setData(`${root}/data`, Buffer.from('changed'));
  await other.create(`${root}/kids/k`);
  await other.create(`${root}/later`);
  await other.remove(`${root}/gone`);
  await other.create(`${root}/kids2/k`);
  await other.setData(`${root}/data2`, Buffer.from('changed'));
}

describe('clients losing their connection', () => {
  it('node-zookeeper-client: missed changes fire once each, the session and its ephemeral survive', async () => {
    const root = '/rc-node';
    await setup(root);
    const proxy = await proxyTo(0);
    const a = new NzkClient(`127.0.0.1:${proxy.port}`, { sessionTimeout: 10_000 });
    await a.connect();
    try {
      const sid = a.sessionId.toString('hex');
      await a.create(`${root}/eph`, Buffer.from('mine'), undefined, CreateMode.EPHEMERAL);
      const events: ZkEvent[] = [];
      const rec = (e: ZkEvent) => events.push({ type: e.type, name: e.name, path: e.path });
      await a.getData(`${root}/data`, rec);
      await a.getChildren(`${root}/kids`, rec);
      expect(await a.exists(`${root}/later`, rec)).toBeNull();
      await a.exists(`${root}/gone`, rec);
      await a.getData(`${root}/same`, rec);

      proxy.hold();
      proxy.cut();
      await waitFor('client to notice the loss', () => a.states.includes('DISCONNECTED'), 10_000);
      await changeWhileAway(root);
      expect(events).toEqual([]);
      proxy.target = { host: zoo.host, port: ports[1] };
      proxy.release();

      await waitFor('the four missed events', () => events.length >= 4, 10_000);
      // A read after the reconnection: everything SetWatches had to say came before its reply.
      expect((await a.getData(`${root}/data`)).data?.toString()).toBe('changed');
      expect(events.map((e) => [e.type, e.path]).sort()).toEqual(
        [
          [Event.NODE_DATA_CHANGED, `${root}/data`],
          [Event.NODE_CHILDREN_CHANGED, `${root}/kids`],
          [Event.NODE_CREATED, `${root}/later`],
          [Event.NODE_DELETED, `${root}/gone`],
        ].sort(),
      );
      expect(a.sessionId.toString('hex')).toBe(sid);
      expect(a.states.filter((s) => s === 'EXPIRED')).toEqual([]);
      expect((await other.getData(`${root}/eph`)).data?.toString()).toBe('mine');

      // Watches set after the reconnection, on the new gateway, work as before.
      const again: ZkEvent[] = [];
      await a.getData(`${root}/same`, (e) => again.push(e));
      await other.setData(`${root}/same`, Buffer.from('now changed'));
      await waitFor('a watch set after reconnecting', () => again.length === 1, 10_000);
      expect(again[0]).toMatchObject({ type: Event.NODE_DATA_CHANGED, path: `${root}/same` });
      // The /same watch from before the loss was re-registered too; it fires with this change, once.
      expect(events.filter((e) => e.path === `${root}/same`)).toHaveLength(1);
    } finally {
      await a.close();
    }
  }, 60_000);

  it('kazoo: the session and its ephemeral survive, ChildrenWatch/DataWatch catch up after reconnecting', async () => {
    const root = '/rc-kazoo';
    await setup(root);
    const proxy = await proxyTo(0);
    const child = spawn(PYTHON, [join(CLIENTS_DIR, 'kz_reconnect.py'), `127.0.0.1:${proxy.port}`, root], {
      cwd: CLIENTS_DIR,
      env: { ...process.env, KZ_DEADLINE: '45', PYTHONDONTWRITEBYTECODE: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const lines: string[] = [];
    createInterface({ input: child.stdout }).on('line', (l) => lines.push(l));
    try {
      await waitFor(`kazoo watches set (${stderr})`, () => lines.includes('ready'), 20_000);
      proxy.hold();
      proxy.cut();
      await waitFor(`kazoo to notice the loss (${stderr})`, () => lines.includes('suspended'), 15_000);
      await changeWhileAway(root);
      proxy.target = { host: zoo.host, port: ports[1] };
      proxy.release();
      const code = await exited;
      expect(code, stderr).toBe(0);
      const r = JSON.parse(lines.at(-1)!);
      // kazoo's own behaviour (no SetWatches): each one-shot watch fired NONE at the loss, and nothing after.
      expect(r.events).toEqual([['NONE', null], ['NONE', null], ['NONE', null], ['NONE', null], ['NONE', null]]);
      expect(r.states).toEqual(['SUSPENDED', 'CONNECTED']);
      expect(r.sameSession).toBe(true);
      expect(r.ephemeral).toBe('mine');
      expect(r.childrenWatch).toEqual([[], ['k']]);
      expect(r.dataWatch).toEqual(['v0', 'changed']);
      expect(r.after).toEqual([['CHANGED', `${root}/data`]]);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  }, 90_000);

  it('zkCli.sh (the Java client): SetWatches2 replays missed one-shot events, persistent watches carry on', async () => {
    const root = '/rc-cli';
    await other.create(root);
    await other.create(`${root}/data`, Buffer.from('v0'));
    await other.create(`${root}/kids`);
    await other.create(`${root}/tree`);
    await other.create(`${root}/p`, Buffer.from('v0'));
    const proxy = await proxyTo(0);
    const cli = runZkCliSession(`127.0.0.1:${proxy.port}`);
    try {
      await cli.waitLine(/state:SyncConnected type:None/);
      cli.send(
        `get -w ${root}/data`,
        `ls -w ${root}/kids`,
        `stat -w ${root}/later`,
        `addWatch -m PERSISTENT_RECURSIVE ${root}/tree`,
        `addWatch ${root}/p`,
        'ls /mark-1',
      );
      await cli.waitLine(/^Node does not exist: \/mark-1$/);
      proxy.hold();
      proxy.cut();
      const lost = await cli.waitLine(/state:Disconnected type:None/, 30_000);
      // While it is away: every watch above would fire.
      await other.setData(`${root}/data`, Buffer.from('changed'));
      await other.create(`${root}/kids/k`);
      await other.create(`${root}/later`);
      await other.create(`${root}/tree/missed`);
      await other.setData(`${root}/p`, Buffer.from('missed'));
      proxy.target = { host: zoo.host, port: ports[1] };
      proxy.release();
      const back = await cli.waitLine(/state:SyncConnected type:None/, 30_000, lost);
      await cli.waitLine(/type:NodeCreated path:\/rc-cli\/later$/, 15_000, back);
      // After the reconnection the persistent watches are in place again.
      await other.create(`${root}/tree/after`);
      await other.setData(`${root}/p`, Buffer.from('after'));
      await cli.waitLine(/type:NodeDataChanged path:\/rc-cli\/p$/, 15_000, back);
      cli.send('ls /mark-2');
      await cli.waitLine(/^Node does not exist: \/mark-2$/);
      const run = await cli.end();
      const events = run.events;
      const i = events.indexOf('WatchedEvent state:Disconnected type:None path:null');
      expect(i).toBeGreaterThan(0);
      expect(events.slice(0, i)).toEqual(['WatchedEvent state:SyncConnected type:None path:null']);
      expect(events[i + 1]).toBe('WatchedEvent state:SyncConnected type:None path:null');
      const replay = events.slice(i + 2, i + 5);
      // SetWatches answers by zxid: data changed, children changed, node created — and
      // nothing for the persistent watches, whose missed events are gone (as in ZooKeeper).
      expect([...replay].sort()).toEqual(
        [
          `WatchedEvent state:SyncConnected type:NodeDataChanged path:${root}/data`,
          `WatchedEvent state:SyncConnected type:NodeChildrenChanged path:${root}/kids`,
          `WatchedEvent state:SyncConnected type:NodeCreated path:${root}/later`,
        ].sort(),
      );
      expect(events.slice(i + 5)).toEqual([
        `WatchedEvent state:SyncConnected type:NodeCreated path:${root}/tree/after`,
        `WatchedEvent state:SyncConnected type:NodeDataChanged path:${root}/p`,
        'WatchedEvent state:Closed type:None path:null',
      ]);
    } finally {
      cli.kill();
    }
  }, 120_000);

  it('a client kept away longer than its session timeout is told its session expired (node-zookeeper-client, zkCli.sh)', async () => {
    const root = '/rc-expire';
    await other.create(root);
    const proxy = await proxyTo(0);
    const a = new NzkClient(`127.0.0.1:${proxy.port}`, { sessionTimeout: 2000 });
    await a.connect();
    const cli = runZkCliSession(`127.0.0.1:${proxy.port}`);
    try {
      await a.create(`${root}/node-eph`, null, undefined, CreateMode.EPHEMERAL);
      await cli.waitLine(/state:SyncConnected type:None/);
      cli.send(`create -e ${root}/cli-eph`);
      await cli.waitLine(/^Created \/rc-expire\/cli-eph$/);
      // zkCli asks for a 30 s session: the server grants at most 20 ticks (10 s here).
      expect((await other.exists(`${root}/cli-eph`))!.ephemeralOwner.readBigUInt64BE(0)).not.toBe(0n);

      proxy.hold();
      proxy.cut();
      await waitFor('the node client session to expire', async () => (await other.exists(`${root}/node-eph`)) === null, 15_000, 100);
      await waitFor('the zkCli session to expire', async () => (await other.exists(`${root}/cli-eph`)) === null, 30_000, 200);
      expect(a.states).not.toContain('EXPIRED');
      proxy.target = { host: zoo.host, port: ports[1] };
      proxy.release();

      await waitFor('node-zookeeper-client to learn of the expiry', () => a.states.includes('EXPIRED'), 15_000);
      await cli.waitLine(/state:Expired type:None path:null/, 30_000);
      expect((await other.getChildren(root)).children).toEqual([]);
    } finally {
      cli.kill();
      a.raw.close();
    }
  }, 120_000);
});
