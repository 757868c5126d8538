/**
 * The admin surfaces as they come out of the box (issue 11, items 4 and 5):
 * ZooKeeper's four-letter whitelist plus ruok; admin HTTP on 127.0.0.1 only,
 * behind a token and a Host check; the inspector's tree view reading as
 * world:anyone and never showing digest hashes; the super user from
 * --super-digest. A real member and gateway, node-zookeeper-client for data.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { request } from 'node:http';
import { connect } from 'node:net';
import { networkInterfaces, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startNatsServer, waitForPort, type ManagedNats } from '@zooid/cli';
import { fourLetter, killProc, startProc, waitServing, type Proc } from './harness.js';
import { ACL, Id, NzkClient, Permission } from './clients/nzk.js';

const TOKEN = 'open-sesame';
const digest = (up: string) => `${up.slice(0, up.indexOf(':'))}:${createHash('sha1').update(up).digest('base64')}`;
const ALICE = digest('alice:wonderland');

let nats: ManagedNats;
let dataDir: string;
let member: Proc;
let gateway: Proc;
let port: number;
let adminPort: number;
let client: NzkClient;

async function get(path: string, headers: Record<string, string> = {}) {
  const r = await fetch(`http://127.0.0.1:${adminPort}${path}`, { headers: { authorization: `Bearer ${TOKEN}`, ...headers } });
  return { status: r.status, text: await r.text(), cookie: r.headers.get('set-cookie') };
}

/** fetch will not send a Host of our choosing; node:http will. */
function statusWithHost(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: adminPort, path: '/commands/ruok', headers: { host, authorization: `Bearer ${TOKEN}` } }, (res) => {
      res.resume();
      resolve(res.statusCode!);
    });
    req.once('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  nats = await startNatsServer();
  dataDir = mkdtempSync(join(tmpdir(), 'zooid-admin-safe-'));
  [port, adminPort] = [await freePort(), await freePort()];
  member = startProc('member', ['member', '--nats', nats.url, '--data-dir', dataDir, '--tick-time', '500', '--super-digest', digest('super:hunter2')]);
  // No --4lw-whitelist, no --admin-host: the defaults are what is tested.
  gateway = startProc('gateway', ['gateway', '--nats', nats.url, '--client-port', String(port), '--host', '0.0.0.0', '--admin-port', String(adminPort), '--admin-token', TOKEN]);
  await waitForPort(adminPort);
  await waitServing(port);
  client = await new NzkClient(`127.0.0.1:${port}`, { sessionTimeout: 6000 }).connect();
  await client.create('/open', Buffer.from('public words'));
  await client.create('/secret', Buffer.from('the cake is a lie'), [new ACL(Permission.ALL, new Id('digest', ALICE))]);
});

afterAll(async () => {
  await client?.close().catch(() => undefined);
  await Promise.all([gateway && killProc(gateway, 'SIGTERM'), member && killProc(member, 'SIGTERM')]);
  await nats?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('four-letter words by default', () => {
  it('answers srvr and ruok, refuses the words that list sessions', async () => {
    expect(await fourLetter(port, 'ruok')).toBe('imok');
    expect(await fourLetter(port, 'srvr')).toContain('Mode: standalone');
    for (const w of ['cons', 'dump', 'wchp', 'mntr']) expect(await fourLetter(port, w)).toBe(`${w} is not executed because it is not in the whitelist.\n`);
  });
});

describe('admin HTTP', () => {
  it('listens on 127.0.0.1 only, though clients are served on every address', async () => {
    const other = Object.values(networkInterfaces()).flat().find((a) => a && a.family === 'IPv4' && !a.internal)?.address;
    if (other === undefined) return; // a machine with loopback only has nothing else to reach
    expect((await fourLetter(port, 'ruok', other))).toBe('imok');
    const refused = await new Promise<boolean>((resolve) => {
      const s = connect(adminPort, other);
      s.once('connect', () => (s.destroy(), resolve(false)));
      s.once('error', () => resolve(true));
    });
    expect(refused).toBe(true);
  });

  it('wants the token: as a bearer header, or once in the URL and then the cookie it sets', async () => {
    expect((await get('/commands/ruok', { authorization: '' })).status).toBe(401);
    expect((await get('/commands/ruok', { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await get('/commands/ruok')).status).toBe(200);
    const first = await get(`/?token=${TOKEN}`, { authorization: '' });
    expect(first.status).toBe(200);
    const cookie = first.cookie!.split(';')[0]!;
    expect(cookie).toBe(`zooid_admin=${TOKEN}`);
    expect((await get('/inspect/view', { authorization: '', cookie })).status).toBe(200);
  });

  it('refuses a Host that is not this server (DNS rebinding)', async () => {
    expect(await statusWithHost('evil.example')).toBe(403);
    expect(await statusWithHost(`evil.example:${adminPort}`)).toBe(403);
    expect(await statusWithHost(`localhost:${adminPort}`)).toBe(200);
    expect(await statusWithHost(`[::1]:${adminPort}`)).toBe(200);
  });

  it('tree view: data where world:anyone may read, no data and no digest hash elsewhere', async () => {
    const open = JSON.parse((await get('/inspect/tree?path=/open')).text);
    expect(open.text).toBe('public words');
    const secret = await get('/inspect/tree?path=/secret');
    const node = JSON.parse(secret.text);
    expect(node.error).toBe('not readable by world:anyone');
    expect(node.acl).toEqual([{ perms: 31, id: { scheme: 'digest', id: 'alice:x' } }]);
    expect(secret.text).not.toContain('the cake');
    expect(secret.text).not.toContain(ALICE.split(':')[1]);
    const root = JSON.parse((await get('/inspect/tree?path=/')).text);
    expect(root.children).toContain('secret');
  });
});

describe('--super-digest', () => {
  it('makes super:password the super user, and nobody else', async () => {
    const su = await new NzkClient(`127.0.0.1:${port}`, { sessionTimeout: 6000 }).connect();
    try {
      await expect(su.getData('/secret')).rejects.toThrow(/NO_AUTH/);
      su.raw.addAuthInfo('digest', Buffer.from('super:hunter2'));
      expect((await su.getData('/secret')).data?.toString()).toBe('the cake is a lie');
    } finally {
      await su.close();
    }
  });
});
