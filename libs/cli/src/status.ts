/**
 * `zooid status`: who is in the cluster right now, from the presence
 * announcements every service publishes once a second. Listening is all it
 * does — it asks nobody — so it works the same against a healthy cluster, a
 * half-dead one and one still electing.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { subjects, unpack, type Presence } from '@zooid/protocol';
import { closeBus, connectBus, createLogger } from '@zooid/runtime';
import { intFlag, parseFlags, UsageError, type FlagSpec } from './args.js';
import { commonSpec } from './commands.js';
import { natsUrlFile } from './bus-file.js';

export const statusSpec: FlagSpec = {
  nats: { type: 'string', describe: 'NATS server URL(s) of the cluster' },
  // A zoo.cfg's dataDir is a member's, not the `zooid up` directory this flag names.
  'data-dir': { type: 'string', config: false, describe: 'data directory of a `zooid up`, whose nats.url names the bus (./data without --nats)' },
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

export function clusterView(heard: Presence[]): ClusterView {
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
      pid: p.pid,
      host: p.host,
    })),
    gateways: heard
      .filter((p) => p.kind === 'gateway')
      .sort(byId)
      .map((p) => ({ id: p.id, clientPort: p.clientPort ?? null, sessions: p.sessions, pid: p.pid, host: p.host })),
  };
}

function table(header: string[], rows: (string | number)[][]): string {
  const cells = [header, ...rows.map((r) => r.map(String))];
  const widths = header.map((_, i) => Math.max(...cells.map((r) => r[i]!.length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n') + '\n';
}

export function formatView(v: ClusterView): string {
  const members = table(
    ['MEMBER', 'ROLE', 'EPOCH', 'ZXID', 'LAG', 'PID', 'HOST'],
    v.members.map((m) => [m.id, m.role, m.epoch, m.zxid, m.lag ?? '-', m.pid, m.host]),
  );
  const gateways = table(
    ['GATEWAY', 'CLIENT PORT', 'SESSIONS', 'PID', 'HOST'],
    v.gateways.map((g) => [g.id, g.clientPort ?? '-', g.sessions, g.pid, g.host]),
  );
  return members + '\n' + gateways;
}

/** Drops what is not a presence announcement rather than trusting the subject. */
function asPresence(raw: unknown): Presence | undefined {
  const p = raw as Partial<Presence> | null;
  if (!p || typeof p.id !== 'string' || (p.kind !== 'member' && p.kind !== 'observer' && p.kind !== 'gateway')) return undefined;
  return { ...p, epoch: Number(p.epoch ?? 0), zxid: Number(p.zxid ?? 0), pid: Number(p.pid ?? 0), sessions: Number(p.sessions ?? 0) } as Presence;
}

/** The latest announcement of every service heard within `waitMs`. */
async function listen(url: string, cluster: string, waitMs: number): Promise<Presence[]> {
  const nc = await connectBus(url, 'zooid-status', createLogger('status'));
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

function busUrl(f: Record<string, string | boolean | undefined>): string | undefined {
  if (typeof f.nats === 'string' && typeof f['data-dir'] === 'string') throw new UsageError('give --nats or --data-dir, not both');
  if (typeof f.nats === 'string') return f.nats;
  const file = natsUrlFile(resolve(typeof f['data-dir'] === 'string' ? f['data-dir'] : './data'));
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    process.stderr.write(`zooid status: no ${file}: is \`zooid up\` running on that data directory?\n`);
    return undefined;
  }
}

/** Exit code 0 when a leader is present, 1 when not (or the bus is unreachable), 2 on usage errors. */
export async function status(argv: string[]): Promise<void> {
  const f = parseFlags(argv, statusSpec);
  const waitMs = intFlag(f, 'wait-ms');
  const cluster = String(f.cluster);
  const url = busUrl(f);
  if (!url) {
    process.exitCode = 1;
    return;
  }
  let heard: Presence[];
  try {
    heard = await listen(url, cluster, waitMs);
  } catch (err) {
    process.stderr.write(`zooid status: cannot reach the bus at ${url}: ${(err as Error).message}\n`);
    process.exitCode = 1;
    return;
  }
  const view = clusterView(heard);
  process.stdout.write(f.json ? JSON.stringify(view, null, 2) + '\n' : formatView(view));
  if (!findLeader(heard)) {
    const subject = subjects(cluster).presenceAll;
    process.stderr.write(`zooid status: no leader among ${view.members.length} member(s) heard on ${subject} in ${waitMs} ms\n`);
    process.exitCode = 1;
  }
}
