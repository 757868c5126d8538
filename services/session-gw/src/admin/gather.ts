/**
 * What the gateway knows about itself and the ensemble, gathered once for
 * both ways of asking: the four-letter words format it as ZooKeeper's text,
 * the AdminServer commands as ZooKeeper's JSON. Members answer over the bus
 * (`zooid.admin.<id>`); the gateway adds its own connections and latencies.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { arch, hostname, platform, release } from 'node:os';
import type { AdminAsk, Presence } from '@zooid/protocol';
import type { Conn, Gateway } from '../gateway.js';
import { fracMs, wholeMs } from './latency.js';

/** The version string clients see; ZooKeeper tooling parses the leading number. */
export const ZOOID_VERSION = '3.8.0-zooid-0.1.0';

export interface AdminContext {
  gateway: Gateway;
  /** Serving learners, as their presence announced them. */
  learners: Presence[];
  ask: (learner: string, command: AdminAsk['command']) => Promise<unknown>;
}

/** A member's answer to an admin ask (services/leader adminInfo). */
export type MemberInfo = Record<string, unknown> & {
  serverState: string;
  zxid: number;
  epoch?: number;
  nodeCount: number;
  watchCount: number;
  ephemeralsCount: number;
  approximateDataSize: number;
  outstandingRequests: number;
  sessions?: number;
};

export const hex = (n: number | bigint) => '0x' + n.toString(16);

/** The learner that speaks for the ensemble: the leader when it serves, else any. */
function spokesman(ctx: AdminContext): Presence | undefined {
  return ctx.learners.find((l) => l.role === 'leading') ?? ctx.learners[0];
}

export async function memberInfo(ctx: AdminContext, command: AdminAsk['command']): Promise<MemberInfo> {
  const learner = spokesman(ctx);
  if (!learner) throw new Error('no member reachable');
  return (await ctx.ask(learner.id, command)) as MemberInfo;
}

/** Every serving learner's answer (watches live on the learner a session is pinned to). */
async function everyMember(ctx: AdminContext, command: AdminAsk['command']): Promise<MemberInfo[]> {
  if (ctx.learners.length === 0) throw new Error('no member reachable');
  const answers = await Promise.allSettled(ctx.learners.map((l) => ctx.ask(l.id, command)));
  return answers.flatMap((a) => (a.status === 'fulfilled' ? [a.value as MemberInfo] : []));
}

export interface ConnectionInfo {
  remote_socket_address: string;
  interest_ops: number;
  outstanding_requests: number;
  packets_received: number;
  packets_sent: number;
  session_id?: string;
  established?: string;
  session_timeout?: number;
  last_zxid?: string;
  last_latency?: number;
  min_latency?: number;
  avg_latency?: number;
  max_latency?: number;
}

/** ZooKeeper's ServerCnxn.getConnectionInfo: brief for `stat`, full for `cons`. */
export function connectionInfo(c: Conn, brief: boolean): ConnectionInfo {
  const info: ConnectionInfo = {
    remote_socket_address: c.remote,
    interest_ops: c.socket.destroyed ? 0 : 1,
    outstanding_requests: c.pending.length,
    packets_received: c.received,
    packets_sent: c.sent,
  };
  if (brief) return info;
  if (c.established) {
    info.session_id = hex(c.sessionId);
    info.established = new Date(c.connectedAt).toISOString();
    info.session_timeout = c.timeout;
    info.last_zxid = hex(c.lastZxid);
  }
  info.last_latency = wholeMs(c.latency.last);
  info.min_latency = wholeMs(c.latency.min);
  info.avg_latency = fracMs(c.latency.avg);
  info.max_latency = wholeMs(c.latency.max);
  return info;
}

export function connections(gw: Gateway, brief: boolean): ConnectionInfo[] {
  return [...gw.connections].map((c) => connectionInfo(c, brief));
}

/** Requests sent to a learner and not answered yet, over every connection. */
export function outstanding(gw: Gateway): number {
  let n = 0;
  for (const c of gw.connections) n += c.pending.length;
  return n;
}

export interface ServerStats {
  version: string;
  read_only: boolean;
  server_stats: Record<string, unknown>;
  client_response: { last_buffer_size: number; min_buffer_size: number; max_buffer_size: number };
  node_count: number;
}

/** ZooKeeper's SrvrCommand (and the `srvr`/`stat` words). */
export async function serverStats(ctx: AdminContext): Promise<ServerStats> {
  const gw = ctx.gateway;
  const i = await memberInfo(ctx, 'stat');
  const lat = gw.stats.latency;
  return {
    version: ZOOID_VERSION,
    read_only: false,
    server_stats: {
      packets_sent: gw.stats.sent,
      packets_received: gw.stats.received,
      fsync_threshold_exceed_count: 0,
      client_response_stats: { last_buffer_size: -1, min_buffer_size: -1, max_buffer_size: -1 },
      data_dir_size: 0,
      log_dir_size: 0,
      last_processed_zxid: i.zxid,
      provider_null: false,
      server_state: i.serverState,
      outstanding_requests: outstanding(gw),
      min_latency: wholeMs(lat.min),
      avg_latency: fracMs(lat.avg),
      max_latency: wholeMs(lat.max),
      num_alive_client_connections: [...gw.connections].length,
      uptime: Date.now() - gw.stats.startedAt,
      auth_failed_count: 0,
      non_mtls_remote_conn_count: 0,
      non_mtls_local_conn_count: 0,
    },
    client_response: { last_buffer_size: -1, min_buffer_size: -1, max_buffer_size: -1 },
    node_count: i.nodeCount,
  };
}

function fileDescriptors(): { open: number; max: number } {
  try {
    const open = readdirSync('/proc/self/fd').length;
    const limits = readFileSync('/proc/self/limits', 'utf8').match(/^Max open files\s+(\d+)/m);
    return { open, max: limits ? Number(limits[1]) : 0 };
  } catch {
    return { open: 0, max: 0 };
  }
}

/**
 * ZooKeeper's `mntr` keys in its order (the word prefixes each with `zk_`,
 * the `monitor` command uses them bare), with the leader-only ones when the
 * ensemble has a leader.
 */
export async function monitor(ctx: AdminContext): Promise<[string, string | number][]> {
  const gw = ctx.gateway;
  const i = await memberInfo(ctx, 'mntr');
  const lat = gw.stats.latency;
  const fds = fileDescriptors();
  const rows: [string, string | number][] = [
    ['version', ZOOID_VERSION],
    ['server_state', i.serverState],
    ['avg_latency', fracMs(lat.avg)],
    ['max_latency', wholeMs(lat.max)],
    ['min_latency', wholeMs(lat.min)],
    ['packets_received', gw.stats.received],
    ['packets_sent', gw.stats.sent],
    ['num_alive_connections', [...gw.connections].length],
    ['outstanding_requests', outstanding(gw)],
    ['znode_count', i.nodeCount],
    ['watch_count', i.watchCount],
    ['ephemerals_count', i.ephemeralsCount],
    ['approximate_data_size', i.approximateDataSize],
    ['open_file_descriptor_count', fds.open],
    ['max_file_descriptor_count', fds.max],
    ['global_sessions', Number(i.sessions ?? 0)],
    ['uptime', Date.now() - gw.stats.startedAt],
    ['last_zxid', hex(i.zxid)],
  ];
  if (ctx.learners.some((l) => l.role === 'leading')) {
    const followers = ctx.learners.filter((l) => l.role === 'following');
    rows.push(['followers', followers.length], ['synced_followers', followers.filter((l) => l.serving).length]);
    rows.push(['synced_observers', ctx.learners.filter((l) => l.kind === 'observer' && l.serving).length]);
  }
  return rows;
}

/** Configuration as `conf` prints it (camelCase keys, ZooKeeper's where it has one). */
export async function configuration(ctx: AdminContext): Promise<Record<string, unknown>> {
  const gw = ctx.gateway;
  const i = await memberInfo(ctx, 'conf');
  return {
    clientPort: gw.port,
    ...(gw.adminPort ? { adminPort: gw.adminPort } : {}),
    maxClientCnxns: gw.opts.maxClientCnxns,
    ...(i.conf as Record<string, unknown>),
  };
}

/** camelCase → snake_case, as the AdminServer's configuration map spells keys. */
export const snake = (k: string) => k.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase());

export interface Dump {
  sessions: number;
  ephemerals: { session: string; paths: string[] }[];
}

export async function dump(ctx: AdminContext): Promise<Dump> {
  const i = await memberInfo(ctx, 'dump');
  return { sessions: Number(i.sessions ?? 0), ephemerals: (i.sessionEphemerals as Dump['ephemerals']).filter((s) => s.paths.length > 0) };
}

export async function watchSummary(ctx: AdminContext): Promise<{ connections: number; paths: number; watches: number }> {
  const all = await everyMember(ctx, 'wchs');
  const sum = { connections: 0, paths: 0, watches: 0 };
  for (const i of all) {
    const w = i.watchSummary as typeof sum;
    sum.connections += w.connections;
    sum.paths += w.paths;
    sum.watches += w.watches;
  }
  return sum;
}

export async function watchesBySession(ctx: AdminContext): Promise<{ session: string; paths: string[] }[]> {
  const all = await everyMember(ctx, 'wchc');
  return all.flatMap((i) => i.bySession as { session: string; paths: string[] }[]);
}

export async function watchesByPath(ctx: AdminContext): Promise<{ path: string; sessions: string[] }[]> {
  const all = await everyMember(ctx, 'wchp');
  const merged = new Map<string, Set<string>>();
  for (const i of all) {
    for (const w of i.byPath as { path: string; sessions: string[] }[]) {
      let s = merged.get(w.path);
      if (!s) merged.set(w.path, (s = new Set()));
      for (const id of w.sessions) s.add(id);
    }
  }
  return [...merged].map(([path, s]) => ({ path, sessions: [...s] }));
}

export async function dirs(ctx: AdminContext): Promise<{ datadir_size: number; logdir_size: number }> {
  const i = await memberInfo(ctx, 'dirs');
  return { datadir_size: Number(i.dataDirSize ?? 0), logdir_size: Number(i.logDirSize ?? 0) };
}

export function environment(): [string, string][] {
  return [
    ['zookeeper.version', ZOOID_VERSION],
    ['host.name', hostname()],
    ['node.version', process.version],
    ['os.name', platform()],
    ['os.arch', arch()],
    ['os.version', release()],
    ['user.dir', process.cwd()],
  ];
}

/** Who leads, from this gateway's view (a gateway itself never leads). */
export function leader(ctx: AdminContext): { is_leader: boolean; leader_id: string | null; leader_ip: string } {
  const l = ctx.learners.find((p) => p.role === 'leading');
  return { is_leader: false, leader_id: l?.id ?? null, leader_ip: l?.host ?? '' };
}

export function resetServerStats(gw: Gateway): void {
  gw.stats.received = 0;
  gw.stats.sent = 0;
  gw.stats.latency.reset();
}

export function resetConnectionStats(gw: Gateway): void {
  for (const c of gw.connections) {
    c.received = 0;
    c.sent = 0;
    c.latency.reset();
  }
}
