/**
 * The bus as Zooid provisions it: keys, certificates and nats-server
 * configurations written once and reused; real nats-servers refusing
 * whoever lacks a provisioned nkey or TLS, enforcing each identity's subject
 * permissions, and routing between servers over TLS; a frozen server left
 * within about two seconds; `zooid up` on a three-server bus surviving
 * kill -9 of one. Waits are conditions with deadlines, not sleeps.
 */
import { X509Certificate } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createUser } from '@nats-io/nkeys';
import { busPermissions, identityName, type BusIdentity } from '@zooid/protocol';
import { closeBus, connectBus, createLogger } from '@zooid/runtime';
import { freePort, natsEnv, provisionBus, type BusServer } from '@zooid/cli';
import { fourLetter, killProc, startProc, waitFor, type Proc } from './harness.js';
import { NzkClient } from './clients/nzk.js';
import { startSecureBus, type SecureBus } from './support/secure-bus.js';
import { statusJson, zooid } from './support/cli.js';

const log = createLogger('bus-test');
const member = (id: string): BusIdentity => ({ kind: 'member', id });
const gateway = (id: string): BusIdentity => ({ kind: 'gateway', id });
const tool = (id: string): BusIdentity => ({ kind: 'tool', id });

const mode = (file: string) => statSync(file).mode & 0o777;

/** Every file under dir (one level of subdirectories) with its content and modification time. */
function snapshot(dir: string): Map<string, { text: string; mtime: number }> {
  const out = new Map<string, { text: string; mtime: number }>();
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!e.isFile()) continue;
    const file = join(e.parentPath, e.name);
    out.set(file.slice(dir.length + 1), { text: readFileSync(file, 'utf8'), mtime: statSync(file).mtimeMs });
  }
  return out;
}

describe('provisioning', () => {
  const dirs: string[] = [];
  const tempDir = () => {
    const d = mkdtempSync(join(tmpdir(), 'zooid-provision-'));
    dirs.push(d);
    return d;
  };
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  const servers: BusServer[] = [1, 2, 3].map((i) => ({ name: `nats-${i}`, host: `nats-${i}`, listen: '0.0.0.0', port: 4222, clusterPort: 6222, monitorPort: 8222 }));
  const identities = [member('1'), member('2'), member('3'), { kind: 'observer', id: 'o1' } as BusIdentity, gateway('gw1'), tool('status')];

  it('writes a seed per identity, a CA, a certificate and a configuration per server; secrets 0600', async () => {
    const dir = tempDir();
    const bus = await provisionBus({ cluster: 'zooid', identities, servers, dir, mount: '/bus' });
    expect(readdirSync(dir).sort()).toEqual(
      [
        'ca.pem',
        ...identities.map((w) => `${identityName(w)}.nk`),
        ...servers.flatMap((s) => [`${s.name}.conf`, `${s.name}.pem`, `${s.name}-key.pem`]),
        'private',
      ].sort(),
    );
    expect(mode(dir)).toBe(0o700);
    expect(mode(join(dir, 'private'))).toBe(0o700);
    expect(mode(join(dir, 'private', 'ca-key.pem'))).toBe(0o600);
    for (const w of identities) {
      expect(mode(join(dir, `${identityName(w)}.nk`))).toBe(0o600);
      expect(readFileSync(join(dir, `${identityName(w)}.nk`), 'utf8')).toMatch(/^SU[A-Z2-7]{56}\n$/);
    }
    for (const s of servers) expect(mode(join(dir, `${s.name}-key.pem`))).toBe(0o600);
    expect(bus.urls).toBe('tls://nats-1:4222,tls://nats-2:4222,tls://nats-3:4222');

    // The server's certificate is the CA's, for its host and loopback, for serving and for dialing routes.
    const ca = new X509Certificate(readFileSync(join(dir, 'ca.pem')));
    const cert = new X509Certificate(readFileSync(join(dir, 'nats-2.pem')));
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.subjectAltName).toBe('DNS:nats-2, IP Address:127.0.0.1, DNS:localhost');
    expect(cert.keyUsage).toEqual(expect.arrayContaining(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']));

    const conf = JSON.parse(readFileSync(join(dir, 'nats-2.conf'), 'utf8'));
    // Everyone is a provisioned nkey with busPermissions' lists, verbatim; nobody gets in without one.
    expect(conf.authorization.users).toEqual(identities.map((w) => ({ nkey: bus.keys.find((k) => k.who === w)!.publicKey, permissions: busPermissions('zooid', w) })));
    expect(conf.no_auth_user).toBeUndefined();
    expect(conf.tls).toEqual({ cert_file: '/bus/nats-2.pem', key_file: '/bus/nats-2-key.pem', timeout: 2 });
    expect(conf.http).toBe('127.0.0.1:8222');
    expect(conf.max_payload).toBe(8 * 1024 * 1024);
    expect(conf.cluster.routes).toEqual(['nats-route://nats-1:6222', 'nats-route://nats-3:6222']);
    expect(conf.cluster.tls).toMatchObject({ ca_file: '/bus/ca.pem', verify: true });
  });

  it('is idempotent: a second run changes no file', async () => {
    const dir = tempDir();
    await provisionBus({ cluster: 'zooid', identities, servers, dir });
    const before = snapshot(dir);
    await provisionBus({ cluster: 'zooid', identities, servers, dir });
    expect(snapshot(dir)).toEqual(before);
  });

  it('a grown topology keeps every key and adds the new identity; a new host gets a new certificate from the same CA', async () => {
    const dir = tempDir();
    await provisionBus({ cluster: 'zooid', identities, servers, dir });
    const before = snapshot(dir);
    const moved = servers.map((s) => (s.name === 'nats-3' ? { ...s, host: 'nats-3.example' } : s));
    await provisionBus({ cluster: 'zooid', identities: [...identities, gateway('gw2')], servers: moved, dir });
    const after = snapshot(dir);
    for (const [file, v] of before) {
      if (file.endsWith('.conf') || file.startsWith('nats-3')) continue;
      expect(after.get(file), file).toEqual(v);
    }
    expect(after.has('gateway-gw2.nk')).toBe(true);
    expect(new X509Certificate(after.get('nats-3.pem')!.text).subjectAltName).toContain('DNS:nats-3.example');
    const conf = JSON.parse(after.get('nats-1.conf')!.text);
    expect(conf.authorization.users).toHaveLength(identities.length + 1);
    expect(conf.cluster.routes).toContain('nats-route://nats-3.example:6222');
  });

  it('refuses an id that cannot be a subject token', async () => {
    await expect(provisionBus({ cluster: 'zooid', identities: [gateway('gw.1')], servers, dir: tempDir() })).rejects.toThrow(/gateway id "gw.1"/);
  });

  it('refuses an observer id that a member has: both would speak to the leader as that id', async () => {
    await expect(provisionBus({ cluster: 'zooid', identities: [member('3'), { kind: 'observer', id: '3' }], servers, dir: tempDir() })).rejects.toThrow(/observer id 3 is also a member id/);
  });
});

/** The errors a connection reports asynchronously (permission violations among them). */
function errorsOf(nc: NatsConnection): Error[] {
  const seen: Error[] = [];
  void (async () => {
    for await (const s of nc.status()) if (s.type === 'error') seen.push(s.error);
  })();
  return seen;
}

describe('a provisioned bus of three servers', () => {
  let bus: SecureBus;
  const open: NatsConnection[] = [];
  const temps: string[] = [];
  const track = (nc: NatsConnection) => (open.push(nc), nc);

  beforeAll(async () => {
    bus = await startSecureBus({ servers: 3, identities: [member('1'), member('2'), gateway('gw1'), tool('status')] });
  });
  afterAll(async () => {
    await Promise.all(open.map((nc) => closeBus(nc)));
    await bus?.stop();
    for (const d of temps) rmSync(d, { recursive: true, force: true });
  });

  it('refuses a connection without credentials', async () => {
    await expect(connect({ servers: bus.urls.split(','), tls: { caFile: bus.ca }, reconnect: false })).rejects.toThrow(/Authorization Violation/i);
  });

  it('refuses an nkey it was not given', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zooid-stranger-'));
    temps.push(dir);
    const seed = join(dir, 'member-1.nk');
    writeFileSync(seed, new TextDecoder().decode(createUser().getSeed()) + '\n', { mode: 0o600 });
    // It even claims a provisioned name: the key is the identity, not what a client says.
    await expect(connectBus({ servers: bus.urls, nkey: seed, tlsCa: bus.ca }, member('1'), log)).rejects.toThrow(/cannot reach the bus .*Authorization Violation/i);
  });

  it('refuses a connection without TLS', async () => {
    const { port } = bus.servers[0]!.info;
    const said = await new Promise<string>((resolve, reject) => {
      const s = tcpConnect({ port, host: '127.0.0.1' }, () => s.write('CONNECT {"verbose":false,"pedantic":false}\r\nPING\r\n'));
      let got = '';
      s.on('data', (d) => (got += d.toString()));
      s.on('close', () => resolve(got));
      s.on('error', reject);
    });
    // The server takes the plain CONNECT for a TLS hello that fails, and hangs up without a PONG.
    expect(JSON.parse(/^INFO (.*)\r\n/.exec(said)![1]!)).toMatchObject({ tls_required: true, auth_required: true });
    expect(said).not.toContain('PONG');
  });

  it('refuses a CA that did not sign the servers', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zooid-other-ca-'));
    temps.push(dir);
    const other = await provisionBus({ cluster: 'zooid', identities: [], servers: [{ name: 'x', host: '127.0.0.1', listen: '127.0.0.1', port: 1, clusterPort: 2, monitorPort: 3 }], dir });
    await expect(connectBus({ ...bus.config(member('1')), tlsCa: other.ca }, member('1'), log)).rejects.toThrow(/certificate/i);
  });

  it('refuses, in one line, a seed file that others can read, as ssh does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zooid-open-seed-'));
    temps.push(dir);
    const seed = join(dir, 'gateway-gw1.nk');
    copyFileSync(bus.seed(gateway('gw1')), seed);
    chmodSync(seed, 0o644);
    await expect(connectBus({ ...bus.config(gateway('gw1')), nkey: seed }, gateway('gw1'), log)).rejects.toThrow(`--nats-nkey ${seed}: permissions 0644 are too open`);
    const r = await zooid(['gateway', '--id', 'gw1', '--nats', bus.urls, '--nats-nkey', seed, '--nats-tls-ca', bus.ca, '--client-port', String(await freePort()), '--admin-port', '0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`zooid gateway: --nats-nkey ${seed}: permissions 0644 are too open; it must be accessible by its owner only (chmod 600 ${seed})\n`);
  });

  it('lets a gateway neither read nor forge the broadcast, and lets member 1 broadcast as 1', async () => {
    const gw = track(await bus.connect(gateway('gw1')));
    const m1 = track(await bus.connect(member('1')));
    const m2 = track(await bus.connect(member('2')));
    const gwErrors = errorsOf(gw);
    const heardByM2: string[] = [];
    m2.subscribe('zooid.zab.broadcast.*', { callback: (_err, msg) => heardByM2.push(`${msg.subject}:${msg.string()}`) });
    await m2.flush();

    const refused = new Promise<Error>((resolve) => gw.subscribe('zooid.zab.broadcast.*', { callback: (err) => err && resolve(err) }));
    gw.publish('zooid.zab.broadcast.1', 'forged');
    gw.publish('zooid.election.1', 'forged');
    await gw.flush();
    const subErr = await refused;
    expect(subErr.name).toBe('PermissionViolationError');
    expect(subErr).toMatchObject({ operation: 'subscription', subject: 'zooid.zab.broadcast.*' });
    await waitFor('both publish violations reported', () => gwErrors.filter((e) => e.name === 'PermissionViolationError' && (e as { operation?: string }).operation === 'publish').length >= 2, 5000);
    expect(gwErrors.map((e) => (e as { subject?: string }).subject)).toEqual(expect.arrayContaining(['zooid.zab.broadcast.1', 'zooid.election.1']));

    m1.publish('zooid.zab.broadcast.1', 'real');
    await waitFor('member 2 hearing member 1', () => heardByM2.length > 0, 5000);
    // Nothing of the gateway's got through: it was refused before the real one was sent.
    expect(heardByM2).toEqual(['zooid.zab.broadcast.1:real']);
  });

  it('lets a member speak only as itself', async () => {
    const m1 = track(await bus.connect(member('1')));
    const errors = errorsOf(m1);
    m1.publish('zooid.zab.broadcast.2', 'as someone else');
    await m1.flush();
    await waitFor('the violation reported', () => errors.some((e) => (e as { subject?: string }).subject === 'zooid.zab.broadcast.2'), 5000);
  });

  it('routes between servers, over TLS verified both ways', async () => {
    const [s1, , s3] = bus.servers;
    const sub = track(await bus.connect(member('2'), [s1!]));
    const pub = track(await bus.connect(member('1'), [s3!]));
    expect(sub.getServer()).toBe(s1!.info.url.replace('tls://', ''));
    expect(pub.getServer()).toBe(s3!.info.url.replace('tls://', ''));
    const got: string[] = [];
    sub.subscribe('zooid.election.*', { callback: (_e, m) => got.push(m.string()) });
    await sub.flush();
    // Interest crosses the route asynchronously: repeat until it arrives.
    await waitFor('a vote from server 3 on server 1', () => (pub.publish('zooid.election.1', 'across'), got.includes('across')), 5000, 50);
    for (const s of bus.servers) {
      const varz = (await (await fetch(`${s.info.monitor}/varz`)).json()) as { cluster: { tls_required: boolean; tls_verify: boolean }; routes: number };
      expect(varz.cluster).toMatchObject({ tls_required: true, tls_verify: true });
      expect(varz.routes).toBeGreaterThanOrEqual(2);
    }
  });

  it("rotates a member's key: new seed, provisioned again, servers reloaded; the running member reconnects with it", async () => {
    const m2 = track(await bus.connect(member('2')));
    const rotated = member('1');
    const m1 = track(await bus.connect(rotated));
    const got: string[] = [];
    m2.subscribe('zooid.election.1', { callback: (_e, m) => got.push(m.string()) });
    await m2.flush();
    const reconnected = new Promise<void>((resolve) => {
      void (async () => {
        for await (const s of m1.status()) if (s.type === 'reconnect') return resolve();
      })();
    });
    const oldSeed = readFileSync(bus.seed(rotated), 'utf8');
    rmSync(bus.seed(rotated));
    await bus.reprovision();
    expect(readFileSync(bus.seed(rotated), 'utf8')).not.toBe(oldSeed);
    // SIGHUP is nats-server's reload: it drops connections whose key it no longer knows.
    for (const s of bus.servers) s.signal('SIGHUP');
    await reconnected;
    await waitFor('a vote from member 1 under its new key', () => (m1.publish('zooid.election.1', 'new key'), got.includes('new key')), 5000, 50);
    // The old key is refused.
    const dir = mkdtempSync(join(tmpdir(), 'zooid-old-seed-'));
    temps.push(dir);
    writeFileSync(join(dir, 'old.nk'), oldSeed, { mode: 0o600 });
    await expect(connectBus({ ...bus.config(rotated), nkey: join(dir, 'old.nk') }, rotated, log)).rejects.toThrow(/Authorization Violation/i);
  });

  it('leaves a frozen (SIGSTOPped) server within about two seconds', async () => {
    const [, s2, s3] = bus.servers;
    const nc = track(await bus.connect(member('1'), [s2!, s3!]));
    const frozen = bus.servers.find((s) => s.info.url === `tls://${nc.getServer()}`)!;
    let movedAt: number | undefined;
    void (async () => {
      for await (const s of nc.status()) if (s.type === 'reconnect') movedAt ??= Date.now();
    })();
    const t0 = Date.now();
    frozen.signal('SIGSTOP');
    try {
      // Pings every 500 ms, three unanswered: about two seconds; the deadline leaves room for a loaded machine.
      await waitFor('the client to move off the frozen server', () => movedAt, 5000);
      // To any other server: the third one is known from the servers' gossip.
      expect(nc.getServer()).not.toBe(frozen.info.url.replace('tls://', ''));
      process.stdout.write(`left a frozen nats-server after ${movedAt! - t0} ms\n`);
    } finally {
      frozen.signal('SIGCONT');
    }
  });
});

describe('zooid up on its own three-server bus', () => {
  let dataDir: string;
  let clientPort: number;
  let up: Proc;

  const status = () => statusJson(dataDir);
  const writeRead = async (path: string) => {
    const c = await new NzkClient(`127.0.0.1:${clientPort}`).connect();
    try {
      await c.create(path, Buffer.from(path));
      return (await c.getData(path)).data?.toString();
    } finally {
      await c.close();
    }
  };

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'zooid-up-bus-'));
    clientPort = await freePort();
    up = startProc('up', ['up', '--followers', '1', '--observers', '0', '--gateways', '1', '--client-port', String(clientPort), '--admin-port', '0', '--data-dir', dataDir, '--tick-time', '500']);
    await waitFor('up to print its connect string', () => up.output().includes('connect string'), 30_000);
  });
  afterAll(async () => {
    if (up) await killProc(up, 'SIGKILL');
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('answers ruok, a create and a get through a real client', async () => {
    expect(await fourLetter(clientPort, 'ruok')).toBe('imok');
    expect(await writeRead('/up-bus')).toBe('/up-bus');
  });

  it('shows its three bus servers in `zooid status --json`, each routed to the other two', async () => {
    const { code, view } = await waitFor('status with a leader and three routed servers', async () => {
      const s = await status();
      return s.code === 0 && s.view.bus.every((b) => b.routes === 2) ? s : undefined;
    });
    expect(code).toBe(0);
    expect(view.bus.map((b) => b.name)).toEqual(['nats-1', 'nats-2', 'nats-3']);
    for (const b of view.bus) {
      expect(b.url).toMatch(/^tls:\/\/127\.0\.0\.1:\d+$/);
      expect(b.pid).toEqual(expect.any(Number));
      expect(b.connections).toEqual(expect.any(Number));
    }
    // The member, the gateway and this status itself: three connections on the bus.
    expect(view.bus.reduce((n, b) => n + b.connections!, 0)).toBeGreaterThanOrEqual(2);
    expect(readFileSync(join(dataDir, 'bus', 'nats-1.conf'), 'utf8')).toContain('"authorization"');
  });

  it('runs each nats-server with one Go processor, unless the user set GOMAXPROCS', async () => {
    const { view } = await status();
    const wanted = process.env.GOMAXPROCS || '1';
    for (const b of view.bus) {
      const env = readFileSync(`/proc/${b.pid}/environ`, 'utf8').split('\0');
      expect(env.filter((e) => e.startsWith('GOMAXPROCS=')), b.name).toEqual([`GOMAXPROCS=${wanted}`]);
    }
    expect(natsEnv({ GOMAXPROCS: '3', PATH: '/bin' })).toEqual({ GOMAXPROCS: '3', PATH: '/bin' });
    expect(natsEnv({ PATH: '/bin' })).toEqual({ GOMAXPROCS: '1', PATH: '/bin' });
  });

  it('puts its member and gateway on the first server, the others for failover', async () => {
    // The member and the gateway on nats-1; elsewhere at most this status's own connection.
    const { view } = await waitFor('the member and the gateway on nats-1', async () => {
      const s = await status();
      return s.code === 0 && s.view.bus[0]!.connections! >= 2 ? s : undefined;
    });
    expect(view.bus[0]!.name).toBe('nats-1');
    expect(view.bus.slice(1).reduce((n, b) => n + b.connections!, 0)).toBeLessThanOrEqual(1);
  });

  it('restarts a nats-server killed with SIGKILL, and keeps answering meanwhile', async () => {
    const { view } = await status();
    const victim = view.bus.find((b) => b.connections! > 0) ?? view.bus[0]!;
    process.kill(victim.pid!, 'SIGKILL');
    const back = await waitFor(
      `${victim.name} back under a new pid, routed again`,
      async () => {
        const s = await status();
        const b = s.view.bus.find((x) => x.name === victim.name);
        return s.code === 0 && b?.pid && b.pid !== victim.pid && s.view.bus.every((x) => x.routes === 2) ? b : undefined;
      },
      20_000,
      200,
    );
    expect(back.url).toBe(victim.url);
    expect(await writeRead('/after-kill')).toBe('/after-kill');
  });

  it('stops every nats-server with itself and removes bus.json', async () => {
    const pids = (await status()).view.bus.map((b) => b.pid!);
    up.child.kill('SIGTERM');
    await up.exited;
    expect(up.child.exitCode).toBe(0);
    for (const pid of pids) expect(() => process.kill(pid, 0), `nats-server ${pid}`).toThrow();
    expect(existsSync(join(dataDir, 'bus.json'))).toBe(false);
    expect(existsSync(join(dataDir, 'bus', 'member-1.nk'))).toBe(true);
  });
});
