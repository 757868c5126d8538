/**
 * `zooid up`: a whole local cluster as real processes under supervision — a
 * managed NATS cluster (unless --nats), voting members, observers and
 * gateways, each on the bus with an identity of its own. Unlike standalone, a child that dies is reported and restarted:
 * members and observers recover from their data directories, and the rest of
 * the cluster carries on meanwhile, which is the point of having one.
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { BusIdentity } from '@zooid/protocol';
import { createLogger, type Logger } from '@zooid/runtime';
import { intFlag, parseFlags, passFlags, UsageError, type FlagSpec } from './args.js';
import { authFlags, authSpec, commonSpec, gatewayLimitFlags, gatewayLimitsSpec, gatewaySpec, learnerLimitFlags, memberSpec, learnerLimitsSpec, reconfigEnabled } from './commands.js';
import { portInUse, waitForPort } from './ports.js';
import { clientTlsSpec, ensureClientTls } from './client-tls.js';
import { busRecordFile, recordBus, type BusRecord } from './bus-file.js';
import { givenBusArgs, givenBusRecord } from './bus-flags.js';
import { localBusArgs, localBusDir, localBusRecord, reprovisionLocalBus, startLocalBus } from './local-bus.js';
import { serveScale } from './scale-channel.js';
import { Scaler } from './scaler.js';
import { ensureSuperCredentials, readScaledShape, scaledShapeFile, type ScaledShape } from './up-state.js';
import { ProcessGroup } from './supervise.js';

export const upSpec: FlagSpec = {
  ...commonSpec,
  followers: { type: 'string', default: '3', describe: 'voting members (1 runs a standalone ensemble)' },
  observers: { type: 'string', default: '1', describe: 'non-voting members' },
  gateways: { type: 'string', default: '1', describe: 'session gateways' },
  'client-port': { type: 'string', default: '2181', describe: 'client port of the first gateway; the next ones count up' },
  'admin-port': { type: 'string', default: '8080', describe: 'admin HTTP port of the first gateway; the next ones count up' },
  'data-dir': { type: 'string', default: './data', describe: "one directory per member and observer, the bus's keys in bus/, and bus.json" },
  'nats-servers': { type: 'string', default: '3', describe: 'nats-servers of the managed bus, clustered (without --nats)' },
  '4lw-whitelist': gatewaySpec['4lw-whitelist']!,
  'reconfig-enabled': memberSpec['reconfig-enabled']!,
  'admin-host': gatewaySpec['admin-host']!,
  'admin-token': gatewaySpec['admin-token']!,
  ...authSpec,
  ...learnerLimitsSpec,
  ...gatewayLimitsSpec,
  ...clientTlsSpec,
  'secure-client-port': { type: 'string', describe: 'TLS client port of the first gateway; the next ones count up' },
};

export interface Topology {
  followers: number;
  observers: number;
  gateways: number;
  clientPort: number;
  adminPort: number;
  /** First gateway's TLS client port; none when absent. */
  securePort?: number;
  dataDir: string;
}

export interface ChildPlan {
  name: string;
  args: string[];
}

/** The bus identity of every child of a topology, in plan order. */
export function topologyIdentities(t: Topology): BusIdentity[] {
  return [
    ...Array.from({ length: t.followers }, (_, i): BusIdentity => ({ kind: 'member', id: String(i + 1) })),
    ...Array.from({ length: t.observers }, (_, i): BusIdentity => ({ kind: 'observer', id: `o${i + 1}` })),
    ...Array.from({ length: t.gateways }, (_, i): BusIdentity => ({ kind: 'gateway', id: `gw${i + 1}` })),
  ];
}

/** How a topology's children are put on the bus and what flags they share. */
export interface PlanArgs {
  /** The flags that put a child on the bus as itself. */
  busArgs: (who: BusIdentity) => string[];
  /** Flags every role takes (cluster, tick time, …). */
  shared: string[];
  gatewayOnly?: string[];
  memberOnly?: string[];
}

/**
 * Voting member `id` of a topology. `joining`: `zooid scale` adds it to the
 * running ensemble, whose configuration it learns from the members (not
 * from the record, which may lag it by a step); it starts as a non-voter.
 */
export function memberChild(t: Topology, id: number, a: PlanArgs, joining = false): ChildPlan {
  const ensemble = Array.from({ length: t.followers }, (_, i) => i + 1).join(',');
  // One voter is a standalone ensemble: the member command needs no election.
  const role = joining ? ['follower', '--id', String(id), '--join'] : t.followers === 1 ? ['member', '--id', '1'] : ['follower', '--id', String(id), '--ensemble', ensemble];
  const dataDir = join(t.dataDir, `member-${id}`);
  return { name: `member-${id}`, args: [...role, '--data-dir', dataDir, ...a.busArgs({ kind: 'member', id: String(id) }), ...a.shared, ...(a.memberOnly ?? [])] };
}

/** Observer `o<n>` of a topology. */
export function observerChild(t: Topology, n: number, a: PlanArgs): ChildPlan {
  const bus = a.busArgs({ kind: 'observer', id: `o${n}` });
  return { name: `observer-${n}`, args: ['observer', '--id', `o${n}`, '--data-dir', join(t.dataDir, `observer-${n}`), ...bus, ...a.shared, ...(a.memberOnly ?? [])] };
}

/**
 * The `zooid` command line of every child of a topology. `busArgs` are the
 * flags that put a child on the bus as itself; `shared` are flags every
 * role takes (cluster, tick time, …); `gatewayOnly` go to gateways.
 */
export function clusterPlan(t: Topology, busArgs: (who: BusIdentity) => string[], shared: string[], gatewayOnly: string[] = [], memberOnly: string[] = []): ChildPlan[] {
  const a: PlanArgs = { busArgs, shared, gatewayOnly, memberOnly };
  const plan: ChildPlan[] = [];
  for (let i = 1; i <= t.followers; i++) plan.push(memberChild(t, i, a));
  for (let i = 1; i <= t.observers; i++) plan.push(observerChild(t, i, a));
  for (let i = 0; i < t.gateways; i++) {
    // Admin ports count up like client ports; --admin-port 0 turns them all off.
    const admin = ['--admin-port', t.adminPort ? String(t.adminPort + i) : '0'];
    const secure = t.securePort ? ['--secure-client-port', String(t.securePort + i)] : [];
    const bus = busArgs({ kind: 'gateway', id: `gw${i + 1}` });
    plan.push({ name: `gateway-${i + 1}`, args: ['gateway', '--id', `gw${i + 1}`, '--client-port', String(t.clientPort + i), ...secure, ...admin, ...bus, ...shared, ...gatewayOnly] });
  }
  return plan;
}

function topology(f: Record<string, string | boolean | undefined>): Topology {
  const t: Topology = {
    followers: intFlag(f, 'followers'),
    observers: intFlag(f, 'observers'),
    gateways: intFlag(f, 'gateways'),
    clientPort: intFlag(f, 'client-port'),
    adminPort: intFlag(f, 'admin-port'),
    securePort: f['secure-client-port'] === undefined ? undefined : intFlag(f, 'secure-client-port'),
    dataDir: resolve(String(f['data-dir'])),
  };
  for (const flag of ['client-port', 'admin-port'] as const) {
    const first = flag === 'client-port' ? t.clientPort : t.adminPort;
    // --admin-port 0: gateways without an admin port, as for `zooid gateway`.
    if (flag === 'admin-port' && first === 0) continue;
    if (t.gateways > 0 && (first < 1 || first + t.gateways - 1 > 65535)) {
      throw new UsageError(`--${flag} ${first} leaves no room for ${t.gateways} gateway ports`);
    }
  }
  return t;
}

/** Refuses to start when a gateway's port is taken: its gateway would only die and be restarted, over and over. */
async function checkPorts(t: Topology): Promise<void> {
  for (let i = 0; i < t.gateways; i++) {
    for (const [flag, first] of [['client-port', t.clientPort], ['admin-port', t.adminPort]] as const) {
      if (first === 0) continue;
      const port = first + i;
      if (await portInUse(port)) throw new UsageError(`port ${port} (--${flag} of gateway-${i + 1}) is already in use; choose another with --${flag}`);
    }
  }
}

function warnAboutShape(t: Topology, log: Logger): void {
  if (t.followers === 0) log.warn('no voting members: gateways have nothing to serve until members join this bus');
  if (t.followers > 0 && t.followers % 2 === 0) {
    log.warn(
      { followers: t.followers },
      `an ensemble of ${t.followers} tolerates ${t.followers / 2 - 1} failed member(s), no more than ${t.followers - 1} would`,
    );
  }
}

export async function up(argv: string[]): Promise<void> {
  const f = parseFlags(argv, upSpec);
  const t = topology(f);
  const log = createLogger('up');
  applyScaledShape(t, log);
  await checkPorts(t);
  // Many children on one health port cannot all listen: the variable is for role processes.
  delete process.env.ZOOID_HEALTH_PORT;
  warnAboutShape(t, log);
  mkdirSync(t.dataDir, { recursive: true });
  // Listening first: a second `up` on this directory is refused before it starts a bus of its own.
  let scaler: Scaler | undefined;
  const channel = await serveScale(t.dataDir, (req, note) => (scaler ? scaler.handle(req, note) : Promise.reject(new Error('`zooid up` is still starting; try again')))).catch((err: unknown) => {
    if (err instanceof UsageError) throw err;
    // A socket path too long for the system, say: the cluster runs all the same, only `zooid scale` cannot reach it.
    log.warn({ err }, '`zooid scale` cannot reach this up: its socket did not listen');
    return undefined;
  });

  const group = new ProcessGroup(log, { onDeath: 'restart' });
  group.stopOnSignals();
  void group.done.then(() => channel?.close());
  let busArgs: (who: BusIdentity) => string[];
  let record: BusRecord;
  let provision: (shape: ScaledShape) => Promise<void>;
  const cluster = String(f.cluster);
  if (typeof f.nats === 'string') {
    // The operator's bus: every child connects to it as the flags say, so a new one needs nothing provisioned.
    busArgs = () => givenBusArgs(f);
    record = givenBusRecord(f);
    provision = async () => undefined;
  } else {
    const servers = intFlag(f, 'nats-servers');
    if (servers < 1) throw new UsageError('--nats-servers must be at least 1');
    const taken = Array.from({ length: t.gateways }, (_, i) => [t.clientPort + i, t.adminPort ? t.adminPort + i : 0]).flat();
    const bus = await startLocalBus(group, { dataDir: t.dataDir, cluster, servers, identities: topologyIdentities(t), taken }).catch(async (err: unknown) => {
      await group.stop(1);
      throw err;
    });
    busArgs = (who) => localBusArgs(bus, who);
    record = localBusRecord(bus);
    provision = (shape) => reprovisionLocalBus(group, bus, cluster, topologyIdentities({ ...t, ...shape }));
  }
  await ensureClientTls(f, t.dataDir);
  const forgetBus = recordBus(t.dataDir, record);

  // From the flag or the zoo.cfg alike: members read both, so up's scale must too.
  const reconfigOn = reconfigEnabled(f);
  // scale drives reconfig as the super user: up keeps a password of its own unless the operator chose the digest.
  const superUser = reconfigOn && f['super-digest'] === undefined ? ensureSuperCredentials(t.dataDir) : undefined;
  const plan: PlanArgs = {
    busArgs,
    shared: passFlags(f, ['cluster', 'tick-time', 'max-buffer', 'config']),
    gatewayOnly: passFlags(f, ['4lw-whitelist', 'admin-host', 'admin-token', 'ssl-cert', 'ssl-key', 'ssl-ca', 'ssl-client-auth', ...gatewayLimitFlags]),
    memberOnly: [...passFlags(f, [...authFlags, ...learnerLimitFlags]), ...reconfigFlag(f), ...(superUser ? ['--super-digest', superUser.digest] : [])],
  };
  for (const child of clusterPlan(t, plan.busArgs, plan.shared, plan.gatewayOnly, plan.memberOnly)) group.spawn(child.name, child.args);
  const ports = Array.from({ length: t.gateways }, (_, i) => t.clientPort + i);
  scaler = new Scaler({
    group,
    log,
    dataDir: t.dataDir,
    cluster,
    shape: { followers: t.followers, observers: t.observers },
    reconfigEnabled: reconfigOn,
    superPassword: superUser?.password,
    // Every gateway: reconfig goes on through another while one restarts.
    connectString: ports.length ? ports.map((p) => `127.0.0.1:${p}`).join(',') : undefined,
    bus: { servers: record.servers.map((s) => s.url).join(','), ...record.credentials },
    memberChild: (id, joining) => memberChild(t, id, plan, joining),
    observerChild: (n) => observerChild(t, n, plan),
    provision,
  });

  const listening = await Promise.race([
    Promise.all(ports.map((p) => waitForPort(p, '127.0.0.1', 20_000))).then(
      () => true,
      () => false,
    ),
    group.done.then(() => undefined),
  ]);
  if (listening === false) log.warn({ ports }, 'gateways are not listening yet; still supervising');
  if (listening !== undefined) process.stdout.write(banner(t, record, typeof f.nats !== 'string', cluster, ports, reconfigOn && channel !== undefined));

  process.exitCode = await group.done;
  forgetBus();
}

/** A data directory `zooid scale` has scaled comes back in that shape, whatever --followers and --observers say. */
function applyScaledShape(t: Topology, log: Logger): void {
  const scaled = readScaledShape(t.dataDir);
  if (!scaled) return;
  if (scaled.followers !== t.followers || scaled.observers !== t.observers) {
    log.info({ scaled, file: scaledShapeFile(t.dataDir) }, 'starting in the shape `zooid scale` left, not the one the flags give (remove the file to start from the flags)');
  }
  t.followers = scaled.followers;
  t.observers = scaled.observers;
}

/** A boolean flag goes on as a bare flag (`--reconfig-enabled=true` is not one); a zoo.cfg's reconfigEnabled reaches members through --config. */
function reconfigFlag(f: Record<string, string | boolean | undefined>): string[] {
  return f['reconfig-enabled'] === true ? ['--reconfig-enabled'] : [];
}

function banner(t: Topology, bus: BusRecord, managed: boolean, cluster: string, ports: number[], scalable: boolean): string {
  const n = (count: number, word: string) => `${count} ${word}${count === 1 ? '' : 's'}`;
  const statusCmd = `zooid status --data-dir ${t.dataDir}` + (cluster === 'zooid' ? '' : ` --cluster ${cluster}`);
  const where = managed ? `recorded in ${busRecordFile(t.dataDir)}; keys and certificates in ${localBusDir(t.dataDir)}` : `recorded in ${busRecordFile(t.dataDir)}`;
  return [
    `zooid up: ${n(t.followers, 'voting member')}, ${n(t.observers, 'observer')}, ${n(t.gateways, 'gateway')}; data in ${t.dataDir}`,
    `  connect string  ${ports.length ? ports.map((p) => `127.0.0.1:${p}`).join(',') : '(no gateways)'}`,
    ...(ports.length && t.adminPort ? [`  inspector       http://127.0.0.1:${t.adminPort}/ (admin commands under /commands, metrics on /metrics)`] : []),
    `  bus             ${bus.servers.map((s) => s.url).join(',')} (${where})`,
    `  status          ${statusCmd}`,
    ...(scalable ? [`  scale           zooid scale --data-dir ${t.dataDir} --followers N [--observers M]`] : []),
    `  stop            Ctrl-C, or kill ${process.pid}`,
    '',
  ].join('\n');
}
