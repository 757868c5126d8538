/**
 * The gateway's admin HTTP port over real HTTP, against a real member and
 * gateway: ZooKeeper's AdminServer commands as JSON (the same numbers the
 * four-letter words print), Prometheus metrics with ZooKeeper's names and
 * Zooid's own, and the inspector's JSON endpoints.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startNatsServer, waitForPort, type ManagedNats } from '@zooid/cli';
import { fourLetter, killProc, startProc, waitFor, waitServing, type Proc } from './harness.js';
import { CreateMode, NzkClient, sessionHex } from './clients/nzk.js';

let nats: ManagedNats;
let dataDir: string;
let member: Proc;
let gateway: Proc;
let port: number;
let adminPort: number;
let client: NzkClient;
let sid: string;

const base = () => `http://127.0.0.1:${adminPort}`;

async function get(path: string, headers: Record<string, string> = {}): Promise<{ status: number; type: string; text: string }> {
  const r = await fetch(base() + path, { headers });
  return { status: r.status, type: r.headers.get('content-type') ?? '', text: await r.text() };
}

async function command(name: string): Promise<Record<string, any>> {
  const r = await get(`/commands/${name}`);
  expect(r.status, r.text).toBe(200);
  expect(r.type).toContain('application/json');
  return JSON.parse(r.text);
}

/** `name value` lines of the Prometheus text, by series. */
function series(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const i = line.lastIndexOf(' ');
    out.set(line.slice(0, i), Number(line.slice(i + 1)));
  }
  return out;
}

beforeAll(async () => {
  nats = await startNatsServer();
  dataDir = mkdtempSync(join(tmpdir(), 'zooid-admin-'));
  port = await freePort();
  adminPort = await freePort();
  member = startProc('member', ['member', '--nats', nats.url, '--data-dir', dataDir, '--tick-time', '500']);
  gateway = startProc('gateway', [
    'gateway', '--nats', nats.url, '--id', 'gwa', '--client-port', String(port), '--host', '127.0.0.1',
    '--admin-port', String(adminPort), '--tick-time', '500', '--4lw-whitelist', '*',
  ]);
  await waitForPort(port);
  await waitForPort(adminPort);
  await waitServing(port);
  client = await new NzkClient(`127.0.0.1:${port}`, { sessionTimeout: 6000 }).connect();
  sid = sessionHex(client.sessionId);
  await client.create('/app', Buffer.from('config v1'));
  await client.create('/app/eph', Buffer.from(''), undefined, CreateMode.EPHEMERAL);
  for (let i = 0; i < 20; i++) await client.setData('/app', Buffer.from(`config v${i + 2}`));
  await client.getData('/app', () => undefined);
  await client.exists('/app/missing', () => undefined);
});

afterAll(async () => {
  await client?.close().catch(() => undefined);
  await Promise.all([gateway && killProc(gateway, 'SIGTERM'), member && killProc(member, 'SIGTERM')]);
  await nats?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

describe('AdminServer commands', () => {
  it('/commands lists them, as JSON or as links for a browser', async () => {
    const list = JSON.parse((await get('/commands')).text);
    expect(list.error).toBeNull();
    const names = list.commands.map((c: { command: string }) => c.command);
    for (const n of ['ruok', 'monitor', 'stats', 'server_stats', 'configuration', 'connections', 'leader', 'watches', 'watch_summary', 'dump']) expect(names).toContain(n);
    expect(list.commands.find((c: { command: string }) => c.command === 'monitor').aliases).toContain('mntr');
    const html = await get('/commands', { accept: 'text/html' });
    expect(html.type).toContain('text/html');
    expect(html.text).toContain('<a href="/commands/ruok">ruok</a>');
  });

  it('ruok, and unknown commands answered in `error`', async () => {
    expect(await command('ruok')).toEqual({ command: 'ruok', error: null });
    expect(await command('nonsense')).toEqual({ command: 'nonsense', error: 'Unknown command: nonsense' });
  });

  it('monitor (mntr) has the numbers the four-letter word prints', async () => {
    const m = await command('mntr');
    expect(m.command).toBe('monitor');
    expect(m.error).toBeNull();
    expect(m.server_state).toBe('standalone');
    expect(m.version).toMatch(/^3\.8\./);
    expect(m.num_alive_connections).toBeGreaterThanOrEqual(1);
    expect(m.ephemerals_count).toBe(1);
    expect(m.watch_count).toBeGreaterThanOrEqual(2);
    expect(m.global_sessions).toBeGreaterThanOrEqual(1);
    expect(m.packets_received).toBeGreaterThanOrEqual(24);
    // Latency is measured: 24 requests went through this gateway.
    expect(m.max_latency).toBeGreaterThanOrEqual(m.min_latency);
    expect(m.avg_latency).toBeGreaterThan(0);
    const text = Object.fromEntries((await fourLetter(port, 'mntr')).trim().split('\n').map((l) => l.split('\t')));
    expect(Number(text.zk_znode_count)).toBe(m.znode_count);
    expect(Number(text.zk_ephemerals_count)).toBe(m.ephemerals_count);
    expect(text.zk_server_state).toBe(m.server_state);
    expect(Object.keys(text)).toEqual(Object.keys(m).filter((k) => k !== 'command' && k !== 'error').map((k) => `zk_${k}`));
  });

  it('stats, server_stats and connections', async () => {
    const srvr = await command('srvr');
    expect(srvr.command).toBe('server_stats');
    expect(srvr.server_stats.server_state).toBe('standalone');
    expect(srvr.server_stats.num_alive_client_connections).toBeGreaterThanOrEqual(1);
    expect(srvr.node_count).toBe((await command('mntr')).znode_count);
    expect(srvr.connections).toBeUndefined();

    const stat = await command('stat');
    expect(stat.command).toBe('stats');
    expect(stat.connections.length).toBeGreaterThanOrEqual(1);
    expect(Object.keys(stat.connections[0]).sort()).toEqual(['interest_ops', 'outstanding_requests', 'packets_received', 'packets_sent', 'remote_socket_address']);

    const cons = await command('cons');
    expect(cons.command).toBe('connections');
    const mine = cons.connections.find((c: { session_id?: string }) => c.session_id === sid);
    expect(mine, JSON.stringify(cons)).toBeDefined();
    expect(mine.session_timeout).toBe(6000);
    expect(mine.packets_received).toBeGreaterThanOrEqual(24);
    expect(mine.last_zxid).toMatch(/^0x[0-9a-f]+$/);
    expect(mine.max_latency).toBeGreaterThanOrEqual(mine.min_latency);
    expect(cons.secure_connections).toEqual([]);
  });

  it('configuration and leader', async () => {
    const conf = await command('conf');
    expect(conf.command).toBe('configuration');
    expect(conf.client_port).toBe(port);
    expect(conf.admin_port).toBe(adminPort);
    expect(conf.tick_time).toBe(500);
    expect(conf.data_dir).toBe(dataDir);
    const leader = await command('leader');
    expect(leader).toMatchObject({ command: 'leader', error: null, is_leader: false, leader_id: '1' });
  });

  it('watches, watches_by_path, watch_summary and dump', async () => {
    const w = await command('wchc');
    expect(w.command).toBe('watches');
    expect(w.session_id_to_watched_paths[sid]).toEqual(expect.arrayContaining(['/app', '/app/missing']));
    const byPath = await command('watches_by_path');
    expect(byPath.path_to_session_ids['/app']).toContain(sid);
    const summary = await command('wchs');
    expect(summary).toMatchObject({ command: 'watch_summary', error: null });
    expect(summary.num_total_watches).toBeGreaterThanOrEqual(2);
    expect(summary.num_paths).toBeGreaterThanOrEqual(2);
    const dump = await command('dump');
    expect(dump.session_id_to_ephemeral_paths[sid]).toEqual(['/app/eph']);
  });

  it('refuses other methods and unknown pages', async () => {
    expect((await fetch(`${base()}/commands/ruok`, { method: 'POST' })).status).toBe(405);
    expect((await get('/nope')).status).toBe(404);
    expect((await get('/assets/../../package.json')).status).toBe(404);
  });
});

describe('/metrics', () => {
  it("serves ZooKeeper's names and Zooid's own in Prometheus text", async () => {
    const r = await get('/metrics');
    expect(r.status).toBe(200);
    expect(r.type).toContain('text/plain');
    const s = series(r.text);
    // ZooKeeper's names: the gateway's own…
    expect(s.get('num_alive_connections')).toBeGreaterThanOrEqual(1);
    expect(s.has('outstanding_requests')).toBe(true);
    for (const k of ['avg_latency', 'min_latency', 'max_latency']) expect(s.has(k), k).toBe(true);
    expect(s.get('packets_received')).toBeGreaterThanOrEqual(24);
    // …and the member's, labelled with its id.
    expect(s.get('znode_count{member="1"}')).toBe((await command('mntr')).znode_count);
    expect(s.get('ephemerals_count{member="1"}')).toBe(1);
    expect(s.get('watch_count{member="1"}')).toBeGreaterThanOrEqual(2);
    expect(s.get('quorum_size{member="1"}')).toBe(1);
    expect(s.get('proposal_count{member="1"}')).toBeGreaterThanOrEqual(22);
    expect(s.get('commit_count{member="1"}')).toBeGreaterThanOrEqual(22);
    expect(s.get('zooid_member_state{state="leading",member="1"}')).toBe(1);
    // Zooid's own: batches, commit and fsync latency, bus round trips, lag, sessions per gateway.
    expect(s.get('zooid_proposal_batch_size_count{member="1"}')).toBeGreaterThanOrEqual(1);
    expect(s.get('zooid_proposal_batch_size_sum{member="1"}')).toBeGreaterThanOrEqual(22);
    expect(s.get('zooid_commit_latency_seconds_count{member="1"}')).toBeGreaterThanOrEqual(1);
    expect(s.get('zooid_fsync_latency_seconds_count{member="1"}')).toBeGreaterThanOrEqual(1);
    expect(s.get('zooid_commit_latency_seconds_bucket{le="+Inf",member="1"}')).toBe(s.get('zooid_commit_latency_seconds_count{member="1"}'));
    expect(s.get('zooid_bus_round_trip_seconds_count{target="1"}')).toBeGreaterThanOrEqual(1);
    expect(s.get('zooid_learner_lag{learner="1"}')).toBe(0);
    expect(s.get('zooid_gateway_sessions{gateway="gwa"}')).toBeGreaterThanOrEqual(1);
    expect(r.text).toContain('# TYPE zooid_fsync_latency_seconds histogram');
  });
});

describe('inspector endpoints', () => {
  it('/inspect/view: the member leading, the gateway, the machines', async () => {
    const v = await waitFor('the view to have the member and the gateway', async () => {
      const view = JSON.parse((await get('/inspect/view')).text);
      return view.members.length === 1 && view.gateways.length === 1 && view.members[0].actors.length === 2 ? view : undefined;
    });
    expect(v.leader).toBe('1');
    expect(v.members[0]).toMatchObject({ id: '1', kind: 'member', role: 'leading', serving: true, gone: false, phase: 'broadcast' });
    expect(v.members[0].actors.map((a: { key: string; machine: string; value: unknown }) => [a.key, a.machine, a.value])).toEqual([
      ['member', 'member', 'leading'],
      ['member/role', 'leader', 'broadcast'],
    ]);
    expect(v.gateways[0]).toMatchObject({ id: 'gwa', clientPort: port, adminPort });
    const sessions = v.gateways[0].actors.find((a: { key: string }) => a.key === 'sessions');
    expect(sessions.counts.connected).toBeGreaterThanOrEqual(1);
    const defs = JSON.parse((await get('/inspect/defs')).text);
    expect(Object.keys(defs)).toEqual(expect.arrayContaining(['member', 'leader', 'session']));
    // The client's session, as the gateway's session machine logged it.
    const log = JSON.parse((await get('/inspect/log')).text) as { kind: string; type: string; from?: string; to?: string }[];
    expect(log.some((e) => e.kind === 'gateway' && e.type === 'ESTABLISHED' && e.from === 'connecting' && e.to === 'connected')).toBe(true);
  });

  it('/inspect/tree: a znode with its data and Stat, read from a member', async () => {
    const node = JSON.parse((await get('/inspect/tree?path=/app')).text);
    expect(node).toMatchObject({ path: '/app', text: 'config v21', kind: 'persistent', children: ['eph'], childCounts: [0], numChildren: 1, from: '1' });
    expect(node.stat.version).toBe(20);
    expect(node.stat.mzxid).toMatch(/^0x[0-9a-f]+$/);
    const eph = JSON.parse((await get('/inspect/tree?path=/app/eph')).text);
    expect(eph.stat.ephemeralOwner).toBe(sid);
    expect(JSON.parse((await get('/inspect/tree?path=/none')).text).error).toBe('no node');
  });

  it('serves the page and its assets from this machine', async () => {
    const page = await get('/');
    expect(page.type).toContain('text/html');
    const refs = [...page.text.matchAll(/(?:src|href)="(\/[^"]+)"/g)].map((m) => m[1]!);
    expect(refs).toEqual(expect.arrayContaining(['/assets/style.css', '/assets/elk.js', '/assets/web/app.js']));
    for (const ref of refs) expect((await get(ref)).status, ref).toBe(200);
    expect(page.text).not.toMatch(/https?:\/\//);
    for (const mod of ['/assets/chart.js', '/assets/values.js']) expect((await get(mod)).type).toContain('javascript');
  });
});
