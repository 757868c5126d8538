/**
 * `zooid up` and `zooid status` as a person runs them: real processes, a
 * real nats-server, signals by pid. `up` runs one voter (the standalone
 * member) and two gateways; the test reads the cluster through `status`,
 * kills the member to watch it come back, and stops `up` to check that it
 * leaves nothing behind. Waits are conditions with deadlines, not sleeps.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BusIdentity, Presence } from '@zooid/protocol';
import { clusterPlan, clusterView, freePort, startNatsServer, topologyIdentities, type BusRecord, type ManagedNats } from '@zooid/cli';
import { fourLetter, killProc, startProc, waitFor, type Proc } from './harness.js';
import { pidAlive as alive, statusJson, zooid } from './support/cli.js';

/** Long enough to hear every service's once-a-second announcement at least once. */
const WAIT_MS = '1500';

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, () => s.close(() => resolve(true)));
  });
}

/** The first of `n` consecutive free ports: gateway i listens on base + i. */
async function freePortRun(n: number): Promise<number> {
  for (;;) {
    const base = await freePort();
    let ok = base + n <= 65536;
    for (let i = 1; ok && i < n; i++) ok = await portFree(base + i);
    if (ok) return base;
  }
}

function refuses(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1' }, () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });
}

/** The JSON log lines of a process (its children log to the same stream). */
function logLines(p: Proc): Record<string, unknown>[] {
  return p
    .output()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => {
      try {
        return JSON.parse(l) as Record<string, unknown>;
      } catch {
        return {};
      }
    });
}

describe('zooid up + zooid status', () => {
  let dataDir: string;
  let clientPort: number;
  let up: Proc;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'zooid-up-'));
    clientPort = await freePortRun(2);
    const adminPort = await freePortRun(2);
    up = startProc('up', [
      'up', '--followers', '1', '--observers', '0', '--gateways', '2',
      '--client-port', String(clientPort), '--admin-port', String(adminPort),
      '--data-dir', dataDir, '--tick-time', '500',
    ]);
    await waitFor('up to print its connect string', () => up.output().includes('connect string'), 30_000);
  });

  afterAll(async () => {
    // Children watch a pipe from `up`: killing it takes them down too.
    if (up) await killProc(up, 'SIGKILL');
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('records the bus in bus.json and prints the connect string', () => {
    const record = JSON.parse(readFileSync(join(dataDir, 'bus.json'), 'utf8')) as BusRecord;
    expect(record.servers.map((s) => s.name)).toEqual(['nats-1', 'nats-2', 'nats-3']);
    for (const s of record.servers) expect(s.url).toMatch(/^tls:\/\/127\.0\.0\.1:\d+$/);
    expect(record.credentials).toEqual({ nkey: join(dataDir, 'bus', 'tool-status.nk'), tlsCa: join(dataDir, 'bus', 'ca.pem') });
    expect(up.output()).toContain(`connect string  127.0.0.1:${clientPort},127.0.0.1:${clientPort + 1}`);
  });

  it('status --json shows the leading member and both gateways', async () => {
    const { code, view } = await waitFor(
      'a leader and two gateways in status',
      async () => {
        const s = await statusJson(dataDir);
        return s.view.members.length === 1 && s.view.gateways.length === 2 ? s : undefined;
      },
      20_000,
    );
    expect(code).toBe(0);
    const [m] = view.members;
    expect(Object.keys(m!)).toEqual(['id', 'role', 'epoch', 'zxid', 'lag', 'config', 'voting', 'pid', 'host']);
    expect(m).toMatchObject({ id: '1', role: 'leading', lag: 0, config: '0x0', voting: 'yes' });
    expect(m!.zxid).toMatch(/^0x[0-9a-f]+$/);
    for (const g of view.gateways) expect(Object.keys(g)).toEqual(['id', 'clientPort', 'sessions', 'pid', 'host']);
    expect(view.gateways.map((g) => [g.id, g.clientPort])).toEqual([
      ['gw1', clientPort],
      ['gw2', clientPort + 1],
    ]);
  });

  it('status without --json prints a table per kind', async () => {
    const r = await zooid(['status', '--data-dir', dataDir, '--wait-ms', WAIT_MS]);
    expect(r.code).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines[0]).toMatch(/^MEMBER\s+ROLE\s+EPOCH\s+ZXID\s+LAG\s+CONFIG\s+VOTING\s+PID\s+HOST$/);
    // The static configuration (version 0), in which member 1 votes.
    expect(lines[1]).toMatch(/^1\s+leading\s+\d+\s+0x[0-9a-f]+\s+0\s+0x0\s+yes\s+\d+\s+\S+$/);
    const gw = lines.indexOf(lines.find((l) => l.startsWith('GATEWAY'))!);
    expect(lines[gw]).toMatch(/^GATEWAY\s+CLIENT PORT\s+SESSIONS\s+PID\s+HOST$/);
    expect(lines[gw + 1]).toMatch(new RegExp(`^gw1\\s+${clientPort}\\s+\\d+\\s+\\d+\\s+\\S+$`));
    expect(lines[gw + 2]).toMatch(new RegExp(`^gw2\\s+${clientPort + 1}\\s+\\d+\\s+\\d+\\s+\\S+$`));
  });

  it('both gateways answer ruok', async () => {
    expect(await fourLetter(clientPort, 'ruok')).toBe('imok');
    expect(await fourLetter(clientPort + 1, 'ruok')).toBe('imok');
  });

  it('reports a member killed with SIGKILL and restarts it', async () => {
    const before = (await statusJson(dataDir)).view.members[0]!.pid;
    process.kill(before, 'SIGKILL');
    await waitFor('up to report the dead member', () =>
      logLines(up).some((l) => l.msg === 'child process exited unexpectedly' && l.child === 'member-1' && l.childPid === before && l.signal === 'SIGKILL'),
    );
    const after = await waitFor(
      'the member back, leading, under a new pid',
      async () => {
        const { code, view } = await statusJson(dataDir);
        const m = view.members[0];
        return code === 0 && m?.role === 'leading' && m.pid !== before ? m.pid : undefined;
      },
      20_000,
    );
    expect(alive(before)).toBe(false);
    expect(logLines(up).some((l) => l.msg === 'child restarted' && l.childPid === after)).toBe(true);
    expect(await fourLetter(clientPort, 'ruok')).toBe('imok');
  });

  it('SIGTERM stops every child, the bus last, and removes bus.json', async () => {
    const { view } = await statusJson(dataDir);
    const pids = [...view.members, ...view.gateways].map((p) => p.pid);
    expect(pids).toHaveLength(3);
    const natsGuards = logLines(up).filter((l) => l.msg === 'started nats-server').map((l) => l.natsPid as number);
    expect(natsGuards).toHaveLength(3);
    const natsPids = view.bus.map((b) => b.pid!);
    const natsPorts = view.bus.map((b) => Number(b.url.split(':').pop()));
    up.child.kill('SIGTERM');
    await up.exited;
    expect(up.child.exitCode).toBe(0);
    for (const pid of [...pids, ...natsGuards, ...natsPids]) expect(alive(pid), `pid ${pid}`).toBe(false);
    for (const port of natsPorts) expect(await refuses(port)).toBe(true);
    expect(existsSync(join(dataDir, 'bus.json'))).toBe(false);
    // Members closed their bus connections before the bus went: none saw it vanish.
    expect(logLines(up).filter((l) => l.bus === 'disconnect')).toEqual([]);
  });
});

describe('zooid up --admin-port 0', () => {
  it('runs its gateways without an admin port, and says no inspector address', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'zooid-up-noadmin-'));
    const clientPort = await freePort();
    const up = startProc('up', ['up', '--followers', '1', '--observers', '0', '--gateways', '1', '--client-port', String(clientPort), '--admin-port', '0', '--data-dir', dataDir, '--tick-time', '500']);
    try {
      await waitFor('up to print its connect string', () => up.output().includes('connect string'), 30_000);
      expect(up.output()).not.toContain('inspector');
      await waitFor('the gateway to answer ruok', async () => (await fourLetter(clientPort, 'ruok')) === 'imok', 20_000);
      up.child.kill('SIGTERM');
      await up.exited;
      expect(up.child.exitCode).toBe(0);
    } finally {
      await killProc(up, 'SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 40_000);
});

describe('zooid standalone + zooid status', () => {
  it('status finds the standalone member and gateway through the data directory; the record goes with it', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'zooid-standalone-'));
    const clientPort = await freePort();
    const sa = startProc('standalone', ['standalone', '--client-port', String(clientPort), '--admin-port', '0', '--data-dir', dataDir, '--tick-time', '500']);
    try {
      const { code, view } = await waitFor(
        'the standalone member and its gateway in status',
        async () => {
          const s = await statusJson(dataDir);
          return s.view.members.length === 1 && s.view.gateways.length === 1 ? s : undefined;
        },
        20_000,
      );
      expect(code).toBe(0);
      expect(view.members[0]).toMatchObject({ id: '1', role: 'leading' });
      expect(view.gateways[0]).toMatchObject({ clientPort });
      sa.child.kill('SIGTERM');
      await sa.exited;
      expect(existsSync(join(dataDir, 'bus.json'))).toBe(false);
    } finally {
      await killProc(sa, 'SIGKILL');
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 40_000);
});

describe('zooid status without a cluster', () => {
  let nats: ManagedNats;
  beforeAll(async () => {
    nats = await startNatsServer();
  });
  afterAll(async () => {
    await nats?.stop();
  });

  it('exits 1 and says so when no leader announces itself', async () => {
    const r = await zooid(['status', '--nats', nats.url, '--wait-ms', WAIT_MS, '--json']);
    expect(r.code).toBe(1);
    // Given by --nats, the server has no known monitoring address: only its URL is shown.
    expect(JSON.parse(r.stdout)).toEqual({
      members: [],
      gateways: [],
      bus: [{ url: nats.url, name: null, pid: null, connections: null, routes: null, version: null, uptime: null, slowConsumers: null }],
    });
    expect(r.stderr).toMatch(/no leader/);
  });

  it('a role whose bus cannot be reached exits 1 with one line naming it, not a stack', async () => {
    const url = `nats://127.0.0.1:${await freePort()}`;
    const r = await zooid(['gateway', '--nats', url, '--client-port', String(await freePort()), '--admin-port', '0']);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`zooid gateway: cannot reach the bus at ${url}: connection refused\n`);
  });

  it('exits 1 when the data directory records no bus', async () => {
    const r = await zooid(['status', '--data-dir', join(tmpdir(), 'zooid-no-such-dir')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bus\.json/);
  });

  it('exits 2 on usage errors', async () => {
    expect((await zooid(['status', '--nats', nats.url, '--data-dir', '/tmp'])).code).toBe(2);
    expect((await zooid(['status', '--wait-ms', 'soon'])).code).toBe(2);
    expect((await zooid(['status', '--bogus'])).code).toBe(2);
  });
});

describe('status view and up plan (pure)', () => {
  const p = (over: Partial<Presence>): Presence => ({ kind: 'member', id: '1', role: 'following', pid: 1, host: 'h', epoch: 2, zxid: 0, sessions: 0, ...over });
  const E2 = 2 * 2 ** 32;

  it('lag is the leader counter minus the member counter, "-" across epochs', () => {
    const view = clusterView([
      p({ id: '3', role: 'following', zxid: E2 + 10 }),
      p({ id: '1', role: 'leading', zxid: E2 + 14 }),
      p({ id: '2', role: 'following', epoch: 1, zxid: 2 ** 32 + 99 }),
      p({ id: '10', role: 'following', zxid: 2 ** 32 + 5 }),
      p({ kind: 'observer', id: 'o1', role: 'observing', zxid: E2 + 14 }),
      p({ kind: 'gateway', id: 'gw1', role: 'gateway', epoch: 0, clientPort: 2181, sessions: 4 }),
    ]);
    expect(view.members.map((m) => [m.id, m.zxid, m.lag])).toEqual([
      ['1', '0x20000000e', 0],
      ['2', '0x100000063', null],
      ['3', '0x20000000a', 4],
      ['10', '0x100000005', null],
      ['o1', '0x20000000e', 0],
    ]);
    expect(view.gateways).toEqual([{ id: 'gw1', clientPort: 2181, sessions: 4, pid: 1, host: 'h' }]);
  });

  it('prefers the newer epoch when two members claim to lead', () => {
    const view = clusterView([p({ id: '1', role: 'leading', epoch: 1, zxid: 2 ** 32 + 7 }), p({ id: '2', role: 'leading', zxid: E2 + 3 }), p({ id: '3', zxid: E2 + 1 })]);
    expect(view.members.map((m) => m.lag)).toEqual([null, 0, 2]);
  });

  it('runs one voter as the standalone member, more as followers of one ensemble', () => {
    const t = { followers: 1, observers: 1, gateways: 2, clientPort: 2181, adminPort: 8080, dataDir: '/d' };
    const bus = (who: BusIdentity) => ['--nats', 'nats://x:1', '--nats-nkey', `/k/${who.kind}-${who.id}.nk`];
    const one = clusterPlan(t, bus, ['--cluster', 'c']);
    expect(one.map((c) => c.name)).toEqual(['member-1', 'observer-1', 'gateway-1', 'gateway-2']);
    expect(one[0]!.args.slice(0, 5)).toEqual(['member', '--id', '1', '--data-dir', '/d/member-1']);
    expect(one[1]!.args.slice(0, 5)).toEqual(['observer', '--id', 'o1', '--data-dir', '/d/observer-1']);
    expect(one[3]!.args.slice(0, 5)).toEqual(['gateway', '--id', 'gw2', '--client-port', '2182']);
    // Each child on the bus as itself.
    expect(one.map((c) => c.args.join(' ').match(/--nats nats:\/\/x:1 --nats-nkey (\S+) --cluster c/)?.[1])).toEqual([
      '/k/member-1.nk',
      '/k/observer-o1.nk',
      '/k/gateway-gw1.nk',
      '/k/gateway-gw2.nk',
    ]);
    expect(topologyIdentities(t)).toEqual([
      { kind: 'member', id: '1' },
      { kind: 'observer', id: 'o1' },
      { kind: 'gateway', id: 'gw1' },
      { kind: 'gateway', id: 'gw2' },
    ]);
    const three = clusterPlan({ ...t, followers: 3 }, bus, []);
    expect(three[2]!.args.slice(0, 7)).toEqual(['follower', '--id', '3', '--ensemble', '1,2,3', '--data-dir', '/d/member-3']);
  });
});
