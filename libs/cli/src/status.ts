/**
 * `zooid status`: who is in the cluster right now, from the presence
 * announcements every service publishes once a second. Listening is all it
 * does — it asks nobody — so it works the same against a healthy cluster, a
 * half-dead one and one still electing.
 */
import { resolve } from 'node:path';
import { presenceConfig, subjects, unpack, type Presence } from '@zooid/protocol';
import { closeBus, connectBus, createLogger, type BusConfig } from '@zooid/runtime';
import { intFlag, parseFlags, UsageError, type FlagSpec } from './args.js';
import { commonSpec } from './commands.js';
import { busRecordFile, readBusRecord, type RecordedServer } from './bus-file.js';
import { busConfig, busSpec } from './bus-flags.js';
import { busServerRow, type BusServerRow } from './bus-monitor.js';

export const statusSpec: FlagSpec = {
  ...busSpec,
  // A zoo.cfg's dataDir is a member's, not the `zooid up` directory this flag names.
  'data-dir': { type: 'string', config: false, describe: 'data directory of a `zooid up` or `standalone`, whose bus.json names the bus and its credentials (./data without --nats)' },
  cluster: commonSpec.cluster!,
  config: commonSpec.config!,
  json: { type: 'boolean', default: false, describe: 'print JSON instead of tables' },
  'wait-ms': { type: 'string', default: '2500', describe: 'how long to listen; services announce once a second' },
};

export interface MemberRow {
  id: string;
  role: string;
  epoch: number;
  /** Hex, as ZooKeeper prints zxids. */
  zxid: string;
  /** Transactions behind the leader; null when not comparable (no leader, another epoch). */
  lag: number | null;
  /** The committed configuration's version (hex zxid; 0x0 for the static --ensemble), null for an observer. */
  config: string | null;
  /** yes: a voter of that configuration; no: a member not (yet, or no longer) in it; null for an observer. */
  voting: 'yes' | 'no' | null;
  pid: number;
  host: string;
}

export interface GatewayRow {
  id: string;
  clientPort: number | null;
  sessions: number;
  pid: number;
  host: string;
}

export interface ClusterView {
  members: MemberRow[];
  gateways: GatewayRow[];
  /** The bus's servers, from their monitoring endpoints where known. */
  bus: BusServerRow[];
}

const EPOCH_UNIT = 2 ** 32;
/** A zxid is epoch << 32 | counter; msgpackr may hand 64-bit values back as bigint. */
const zxidEpoch = (zxid: number) => Math.floor(zxid / EPOCH_UNIT);
const zxidCounter = (zxid: number) => zxid % EPOCH_UNIT;

const isLeader = (p: Presence) => p.kind === 'member' && (p.role === 'leading' || p.role === 'standalone');

/** The leader, if any; of two that both claim it (one not yet deposed), the newer epoch's. */
export function findLeader(heard: Presence[]): Presence | undefined {
  return heard.filter(isLeader).sort((a, b) => b.epoch - a.epoch || b.zxid - a.zxid)[0];
}

/** Lag counts transactions only within one epoch: across epochs the counters do not line up. */
function lag(p: Presence, leader: Presence | undefined): number | null {
  if (!leader || p.epoch !== leader.epoch || zxidEpoch(p.zxid) !== zxidEpoch(leader.zxid)) return null;
  return zxidCounter(leader.zxid) - zxidCounter(p.zxid);
}

const byId = (a: { id: string }, b: { id: string }) => a.id.localeCompare(b.id, 'en', { numeric: true });

export function clusterView(heard: Presence[], bus: BusServerRow[] = []): ClusterView {
  const leader = findLeader(heard);
  const learners = heard.filter((p) => p.kind !== 'gateway');
  // Voting members first, then observers, each in id order.
  const members = [...learners.filter((p) => p.kind === 'member').sort(byId), ...learners.filter((p) => p.kind !== 'member').sort(byId)];
  return {
    members: members.map((p) => ({
      id: p.id,
      role: p.role,
      epoch: p.epoch,
      zxid: '0x' + p.zxid.toString(16),
      lag: lag(p, leader),
      config: p.config ? '0x' + Number(p.config.version).toString(16) : null,
      voting: p.config ? (p.config.voting ? 'yes' : 'no') : null,
      pid: p.pid,
      host: p.host,
    })),
    gateways: heard
      .filter((p) => p.kind === 'gateway')
      .sort(byId)
      .map((p) => ({ id: p.id, clientPort: p.clientPort ?? null, sessions: p.sessions, pid: p.pid, host: p.host })),
    bus,
  };
}

function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

export function formatView(v: ClusterView): string {
  const members = table(
    ['MEMBER', 'ROLE', 'EPOCH', 'ZXID', 'LAG', 'CONFIG', 'VOTING', 'PID', 'HOST'],
    v.members.map((m) => [m.id, m.role, m.epoch, m.zxid, m.lag ?? '-', m.config ?? '-', m.voting ?? '-', m.pid, m.host]),
  );
  const gateways = table(
    ['GATEWAY', 'CLIENT PORT', 'SESSIONS', 'PID', 'HOST'],
    v.gateways.map((g) => [g.id, g.clientPort ?? '-', g.sessions, g.pid, g.host]),
  );
  const bus = table(
    ['BUS', 'URL', 'PID', 'CONNECTIONS', 'ROUTES', 'UPTIME'],
    v.bus.map((b) => [b.name ?? '-', b.url, b.pid ?? '-', b.connections ?? '-', b.routes ?? '-', b.uptime ?? (b.error ? 'unreachable' : '-')]),
  );
  return members + '\n' + gateways + (v.bus.length > 0 ? '\n' + bus : '');
}

/** Drops what is not a presence announcement rather than trusting the subject. */
function asPresence(raw: unknown): Presence | undefined {
  const p = raw as Partial<Presence> | null;
  if (!p || typeof p.id !== 'string' || (p.kind !== 'member' && p.kind !== 'observer' && p.kind !== 'gateway')) return undefined;
  const config = presenceConfig(p);
  return { ...p, epoch: Number(p.epoch ?? 0), zxid: Number(p.zxid ?? 0), pid: Number(p.pid ?? 0), sessions: Number(p.sessions ?? 0), config } as Presence;
}

/** The latest announcement of every service heard within `waitMs`. */
export async function hearPresence(bus: BusConfig, cluster: string, waitMs: number): Promise<Presence[]> {
  const nc = await connectBus(bus, { kind: 'tool', id: 'status' }, createLogger('status'));
  const heard = new Map<string, Presence>();
  const subj = subjects(cluster);
  nc.subscribe(subj.presenceAll, {
    callback: (err, msg) => {
      if (err) return;
      let p: Presence | undefined;
      try {
        p = asPresence(unpack(msg.data));
      } catch {
        return;
      }
      if (p && msg.subject === subj.presence(p.kind, p.id)) heard.set(`${p.kind}/${p.id}`, p);
    },
  });
  await nc.flush(); // the subscription is live before the clock starts
  await new Promise((r) => setTimeout(r, waitMs));
  await closeBus(nc);
  return [...heard.values()];
}

/** The bus and its servers: from the flags, or from what `up` or `standalone` recorded in the data directory. */
function findBus(f: Record<string, string | boolean | undefined>): { bus: BusConfig; servers: RecordedServer[] } | undefined {
  if (typeof f.nats === 'string' && typeof f['data-dir'] === 'string') throw new UsageError('give --nats or --data-dir, not both');
  if (typeof f.nats === 'string') {
    const bus = busConfig(f);
    return { bus, servers: bus.servers.split(',').map((url) => ({ url: url.trim() })) };
  }
  const dataDir = resolve(typeof f['data-dir'] === 'string' ? f['data-dir'] : './data');
  try {
    const record = readBusRecord(dataDir);
    return { bus: { servers: record.servers.map((s) => s.url).join(','), ...record.credentials }, servers: record.servers };
  } catch {
    process.stderr.write(`zooid status: no bus recorded in ${busRecordFile(dataDir)}: is \`zooid up\` running on that data directory?\n`);
    return undefined;
  }
}

/** Exit code 0 when a leader is present, 1 when not (or the bus is unreachable), 2 on usage errors. */
export async function status(argv: string[]): Promise<void> {
  const f = parseFlags(argv, statusSpec);
  const waitMs = intFlag(f, 'wait-ms');
  const cluster = String(f.cluster);
  const found = findBus(f);
  if (!found) {
    process.exitCode = 1;
    return;
  }
  // A bus that cannot be reached, or credentials refused, end here as one line (see main).
  const [heard, rows] = await Promise.all([hearPresence(found.bus, cluster, waitMs), Promise.all(found.servers.map(busServerRow))]);
  const view = clusterView(heard, rows);
  process.stdout.write(f.json ? JSON.stringify(view, null, 2) + '\n' : formatView(view));
  for (const r of rows.filter((r) => r.error)) process.stderr.write(`zooid status: bus server ${r.name ?? r.url} did not answer on its monitoring port: ${r.error}\n`);
  if (!findLeader(heard)) {
    const subject = subjects(cluster).presenceAll;
    process.stderr.write(`zooid status: no leader among ${view.members.length} member(s) heard on ${subject} in ${waitMs} ms\n`);
    process.exitCode = 1;
  }
}
