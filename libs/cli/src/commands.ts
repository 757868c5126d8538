import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DEFAULT_MAX_BUFFER, isSubjectToken, type BusIdentity } from '@zooid/protocol';
// The roles are loaded when their command runs: `zooid shell` or `status`
// should neither pay for nor depend on the whole server at start-up.
const loadFollower = () => import('@zooid/follower');
const loadObserver = () => import('@zooid/observer');
const loadGateway = () => import('@zooid/session-gw');
import { createLogger, type Logger } from '@zooid/runtime';
import { intFlag, parseFlags, passFlags, UsageError, type FlagSpec } from './args.js';
import { recordBus, type BusRecord } from './bus-file.js';
import { busConfig, busSpec, givenBusArgs, givenBusRecord } from './bus-flags.js';
import { localBusArgs, localBusRecord, startLocalBus } from './local-bus.js';
import { serveHealth } from './health.js';
import { JaasError, loadJaasUsers } from './jaas.js';
import { clientTlsFlags, clientTlsSpec, ensureClientTls, plainClientPort, secureOptions } from './client-tls.js';
import { ProcessGroup, exitWithSupervisor } from './supervise.js';

/** Flags every role understands; supervisors hand them on to their children. */
export const commonSpec: FlagSpec = {
  ...busSpec,
  cluster: { type: 'string', default: 'zooid', describe: 'subject prefix, to share one NATS between clusters' },
  'tick-time': { type: 'string', default: '2000', describe: 'ZooKeeper tickTime in ms' },
  'max-buffer': { type: 'string', default: String(DEFAULT_MAX_BUFFER), describe: 'largest request in bytes (jute.maxbuffer)' },
  config: { type: 'string', describe: 'zoo.cfg-style file; flags and ZOOID_* variables win over it' },
};

/** A role process's ruok listener, for container health checks and probes. */
const healthSpec: FlagSpec = {
  'health-port': { type: 'string', describe: 'answer ruok with imok on this TCP port (none when absent)' },
};

/** What one session may hold on the learner that serves it (docs/operations.md, "Bounds"). */
export const learnerLimitsSpec: FlagSpec = {
  'reply-window': { type: 'string', default: String(4 * 1024 * 1024), describe: "bytes of replies a session's client may leave unread before its next reads wait" },
  'max-session-watches': { type: 'string', default: '100000', describe: 'watches one session may hold; a request that adds more closes its connection' },
  'gateway-batch-bytes': { type: 'string', default: String(1024 * 1024), describe: 'bytes of one message of replies to a gateway (a larger single reply goes alone)' },
};

/** What one client connection may hold on a gateway before the gateway stops reading it. */
export const gatewayLimitsSpec: FlagSpec = {
  'max-outstanding': { type: 'string', default: '1000', describe: 'requests of one connection unanswered before the gateway stops reading it' },
  'global-outstanding-limit': { type: 'string', default: '10000', describe: 'requests of all connections unanswered before the gateway stops reading those holding more than their share (globalOutstandingLimit)' },
  'max-client-queue': { type: 'string', default: String(8 * 1024 * 1024), describe: 'reply bytes unwritten to one connection before the gateway stops reading it' },
};

/** Session timeout bounds (ms); a client's requested timeout is clamped into them. */
const sessionSpec: FlagSpec = {
  'min-session-timeout': { type: 'string', describe: 'smallest session timeout in ms (default 2 × tick time)' },
  'max-session-timeout': { type: 'string', describe: 'largest session timeout in ms (default 20 × tick time)' },
};

/** How a learner authenticates clients; members and observers take the same, and the leader applies the super user to writes. */
export const authSpec: FlagSpec = {
  'super-digest': { type: 'string', describe: 'super user digest, user:base64(sha1(user:password))' },
  'sasl-jaas': { type: 'string', describe: 'JAAS file whose Server section lists SASL DIGEST-MD5 users (user_NAME="password")' },
  'super-user': { type: 'string', describe: 'SASL user that bypasses every ACL (zookeeper.superUser)' },
  'enforce-auth-schemes': { type: 'string', describe: 'schemes (e.g. sasl) a session must authenticate with before anything else (enforce.auth.schemes)' },
};
export const authFlags = Object.keys(authSpec);

export const memberSpec: FlagSpec = {
  ...commonSpec,
  id: { type: 'string', default: '1', describe: 'member id' },
  'data-dir': { type: 'string', default: './data', describe: 'transaction log and snapshots' },
  'snap-count': { type: 'string', default: '100000', describe: 'transactions between snapshots' },
  'snap-retain': { type: 'string', default: '3', describe: 'snapshots kept (autopurge.snapRetainCount)' },
  'commit-log-count': { type: 'string', default: '1000', describe: 'committed transactions kept in memory to sync learners from (zookeeper.commitLogCount); older ones are read back from the log' },
  'purge-interval': { type: 'string', default: '0', describe: 'hours between purges of old snapshots and log segments; 0 purges after every snapshot' },
  ...authSpec,
  'init-limit': { type: 'string', default: '10', describe: 'ticks a leader may take to synchronize a quorum (initLimit)' },
  'sync-limit': { type: 'string', default: '5', describe: 'ticks of silence before leader or follower gives up (syncLimit)' },
  'reconfig-enabled': { type: 'boolean', describe: 'answer reconfig requests instead of RECONFIGDISABLED (zoo.cfg reconfigEnabled)' },
  ...sessionSpec,
  ...learnerLimitsSpec,
  ...healthSpec,
};

export const followerSpec: FlagSpec = {
  ...memberSpec,
  ensemble: { type: 'string', describe: 'ids of every voting member, comma-separated (e.g. 1,2,3)' },
  join: {
    type: 'boolean',
    describe:
      'join a running ensemble as a non-voting follower until a reconfig adds this id; without --ensemble it learns the configuration from the members (waiting until a quorum of its voters announce it), once synced from its data directory',
  },
  'add-self': { type: 'boolean', describe: 'with --join: once synced, have the leader add this id as a voter (the leader needs --reconfig-enabled)' },
};

export const observerSpec: FlagSpec = {
  ...memberSpec,
  id: { type: 'string', describe: 'observer id (generated when absent)' },
};

export const gatewaySpec: FlagSpec = {
  ...commonSpec,
  id: { type: 'string', describe: 'gateway id (random when absent)' },
  'client-port': { type: 'string', default: '2181', describe: 'ZooKeeper client port (none: TLS only, with --secure-client-port)' },
  host: { type: 'string', default: '0.0.0.0', describe: 'address to listen on' },
  'max-client-cnxns': { type: 'string', default: '60', describe: 'connections per client address' },
  // ZooKeeper 3.8's default (srvr) plus ruok, which health checks ask: cons/dump/wchp would give away session ids.
  '4lw-whitelist': { type: 'string', default: 'srvr,ruok', describe: 'four-letter words allowed, comma-separated, or *' },
  'admin-port': { type: 'string', default: '8080', describe: 'admin HTTP port: inspector page, /commands, /metrics (0: none)' },
  'admin-host': { type: 'string', default: '127.0.0.1', describe: 'address the admin port listens on' },
  'admin-token': { type: 'string', describe: 'bearer token every admin HTTP request must carry' },
  stately: { type: 'string', describe: 'also mirror the cluster to the Stately inspector: sky, or a ws:// URL (needs internet)' },
  ...gatewayLimitsSpec,
  ...clientTlsSpec,
  ...healthSpec,
};

export const standaloneSpec: FlagSpec = {
  ...commonSpec,
  'client-port': gatewaySpec['client-port']!,
  'admin-port': gatewaySpec['admin-port']!,
  stately: gatewaySpec.stately!,
  'data-dir': memberSpec['data-dir']!,
  'snap-count': memberSpec['snap-count']!,
  'snap-retain': memberSpec['snap-retain']!,
  'commit-log-count': memberSpec['commit-log-count']!,
  'purge-interval': memberSpec['purge-interval']!,
  ...sessionSpec,
  host: gatewaySpec.host!,
  'max-client-cnxns': gatewaySpec['max-client-cnxns']!,
  '4lw-whitelist': gatewaySpec['4lw-whitelist']!,
  'admin-host': gatewaySpec['admin-host']!,
  'admin-token': gatewaySpec['admin-token']!,
  ...authSpec,
  ...learnerLimitsSpec,
  ...gatewayLimitsSpec,
  ...clientTlsSpec,
};

export const learnerLimitFlags = Object.keys(learnerLimitsSpec);
export const gatewayLimitFlags = Object.keys(gatewayLimitsSpec);

/** Flags the standalone supervisor hands on to its member and to its gateway. */
const standaloneMemberFlags = ['data-dir', 'cluster', 'tick-time', 'max-buffer', 'snap-count', 'snap-retain', 'commit-log-count', 'purge-interval', 'min-session-timeout', 'max-session-timeout', ...authFlags, ...learnerLimitFlags, 'config'];
const standaloneGatewayFlags = ['client-port', 'admin-port', 'stately', 'host', 'cluster', 'tick-time', 'max-buffer', 'max-client-cnxns', '4lw-whitelist', 'admin-host', 'admin-token', ...gatewayLimitFlags, ...clientTlsFlags, 'config'];

/** A byte or count bound: at least `min`, where less would stall the sessions it bounds. */
function boundFlag(f: Record<string, string | boolean | undefined>, name: string, min: number): number {
  const n = intFlag(f, name);
  if (n < min) throw new UsageError(`--${name} must be at least ${min}`);
  return n;
}

/** An id is the last token of the subjects its process speaks on, so it must be one. */
function checkId(kind: string, id: string): string {
  if (!isSubjectToken(id)) throw new UsageError(`--id ${id}: a ${kind} id must be letters, digits, _ or - (at most 64)`);
  return id;
}

/** --reconfig-enabled: the bare flag, or a zoo.cfg's text (true/false in any case, as ZooKeeper's Boolean.parseBoolean reads it). */
export function reconfigEnabled(f: Record<string, string | boolean | undefined>): boolean {
  const v = f['reconfig-enabled'];
  return v === true || (typeof v === 'string' && v.toLowerCase() === 'true');
}

/** Options every member and observer shares, from their flags. */
function roleOptions(f: Record<string, string | boolean | undefined>, id: string) {
  const tickTime = intFlag(f, 'tick-time');
  if (tickTime < 1) throw new UsageError('--tick-time must be at least 1 ms');
  // ZooKeeper's defaults, and its rule: a minimum above the maximum is refused.
  const minSessionTimeout = f['min-session-timeout'] === undefined ? 2 * tickTime : intFlag(f, 'min-session-timeout');
  const maxSessionTimeout = f['max-session-timeout'] === undefined ? 20 * tickTime : intFlag(f, 'max-session-timeout');
  if (minSessionTimeout > maxSessionTimeout) {
    throw new UsageError(`--min-session-timeout ${minSessionTimeout} is above --max-session-timeout ${maxSessionTimeout}`);
  }
  const snapRetain = intFlag(f, 'snap-retain');
  if (snapRetain < 1) throw new UsageError('--snap-retain must be at least 1');
  const dataDir = resolve(String(f['data-dir']));
  mkdirSync(dataDir, { recursive: true });
  const text = (name: string) => (typeof f[name] === 'string' ? (f[name] as string) : undefined);
  const schemes = text('enforce-auth-schemes')?.split(',').map((v) => v.trim()).filter(Boolean);
  return {
    id,
    dataDir,
    bus: busConfig(f),
    cluster: String(f.cluster),
    tickTime,
    initLimit: intFlag(f, 'init-limit'),
    syncLimit: intFlag(f, 'sync-limit'),
    minSessionTimeout,
    maxSessionTimeout,
    snapCount: intFlag(f, 'snap-count'),
    reconfigEnabled: reconfigEnabled(f),
    snapRetain,
    commitLogCount: boundFlag(f, 'commit-log-count', 0),
    purgeIntervalMs: intFlag(f, 'purge-interval') * 3_600_000,
    tree: {
      superDigest: text('super-digest'),
      saslUsers: saslUsers(text('sasl-jaas')),
      saslSuperUser: text('super-user'),
      enforceAuthSchemes: schemes && schemes.length > 0 ? schemes : undefined,
      maxDataBytes: intFlag(f, 'max-buffer'),
    },
    // Gateways acknowledge in steps of 64 KiB: a smaller window would wait on their periodic acks.
    replyWindow: boundFlag(f, 'reply-window', 256 * 1024),
    maxSessionWatches: boundFlag(f, 'max-session-watches', 1),
    gatewayBatchBytes: boundFlag(f, 'gateway-batch-bytes', 64 * 1024),
  };
}

/** The SASL users of --sasl-jaas; a file that cannot be used stops the role with a usage error. */
function saslUsers(file: string | undefined): Map<string, string> | undefined {
  if (file === undefined) return undefined;
  try {
    return loadJaasUsers(file);
  } catch (err) {
    if (err instanceof JaasError) throw new UsageError(err.message);
    throw err;
  }
}

/** The --health-port listener when the flag is given; closed by the caller. */
async function health(f: Record<string, string | boolean | undefined>, log: Logger) {
  return f['health-port'] === undefined ? undefined : serveHealth(intFlag(f, 'health-port'), log);
}

/**
 * Runs a role until SIGTERM/SIGINT or its supervisor's exit, both heard
 * from the start: a joiner may wait at start for the ensemble's
 * configuration as long as it takes, and is told through `stopping`; a role
 * that does not listen stops once started. A second signal has its default
 * effect.
 */
async function runUntilStopped(f: Record<string, string | boolean | undefined>, log: Logger, start: (stopping: AbortSignal) => Promise<{ done: Promise<void>; stop(): void }>): Promise<void> {
  const stopping = new AbortController();
  let running: { done: Promise<void>; stop(): void } | undefined;
  const stop = () => {
    stopping.abort();
    running?.stop();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  exitWithSupervisor(stop);
  running = await start(stopping.signal);
  if (stopping.signal.aborted) running.stop();
  const probe = await health(f, log).catch((err: unknown) => {
    running.stop();
    throw err;
  });
  await running.done;
  await probe?.close();
}

/**
 * The voting members: --ensemble, or the file's server.N lines, or this
 * member alone. A joiner may name the voters it joins, or leave them to be
 * learned from the running ensemble (undefined).
 */
function ensembleOf(f: Record<string, string | boolean | undefined>, id: string): string[] | undefined {
  if (f.join === true && f.ensemble === undefined) return undefined;
  const ensemble = String(f.ensemble ?? id).split(',').map((v) => v.trim()).filter(Boolean);
  if (f.join !== true && !ensemble.includes(id)) throw new UsageError(`member id ${id} is not in the ensemble ${ensemble.join(',')}`);
  return ensemble;
}

/** `zooid follower`: a voting member of an ensemble. */
export async function follower(argv: string[]): Promise<void> {
  const f = parseFlags(argv, followerSpec);
  const id = checkId('member', String(f.id));
  const ensemble = ensembleOf(f, id);
  if (f['add-self'] === true && f.join !== true) throw new UsageError('--add-self goes with --join: a member the configuration lists votes already');
  const opts = { ...roleOptions(f, id), ensemble, join: f.join === true, addSelf: f['add-self'] === true };
  // A configuration names servers by number (server.N), as ZooKeeper's myid.
  if ((opts.reconfigEnabled || opts.join) && ![id, ...(ensemble ?? [])].every((v) => /^\d+$/.test(v))) {
    throw new UsageError('--reconfig-enabled and --join need numeric member ids (server.N in /zookeeper/config)');
  }
  const log = createLogger('member', { member: id });
  await runUntilStopped(f, log, async (stopping) => (await loadFollower()).runMember(opts, log, stopping));
}

/** `zooid member`: the single voting member of a standalone ensemble. */
export async function member(argv: string[]): Promise<void> {
  const f = parseFlags(argv, memberSpec);
  const id = checkId('member', String(f.id));
  const opts = { ...roleOptions(f, id), ensemble: [id] };
  if (opts.reconfigEnabled && !/^\d+$/.test(id)) throw new UsageError('--reconfig-enabled needs a numeric member id (server.N in /zookeeper/config)');
  const log = createLogger('member', { member: id });
  await runUntilStopped(f, log, async () => (await loadFollower()).runMember(opts, log));
}

/** `zooid observer`: a non-voting learner that serves reads. */
export async function observer(argv: string[]): Promise<void> {
  const f = parseFlags(argv, observerSpec);
  const id = checkId('observer', typeof f.id === 'string' ? f.id : `o-${randomBytes(3).toString('hex')}`);
  const opts = roleOptions(f, id);
  const log = createLogger('observer', { observer: id });
  await runUntilStopped(f, log, async () => (await loadObserver()).runObserver(opts, log));
}

/** `zooid gateway`: a client-facing session gateway. */
export async function gateway(argv: string[]): Promise<void> {
  const f = parseFlags(argv, gatewaySpec);
  const id = checkId('gateway', typeof f.id === 'string' ? f.id : randomBytes(4).toString('hex'));
  const log = createLogger('gateway', { gateway: id });
  const wl = String(f['4lw-whitelist']);
  const maxClientCnxns = intFlag(f, 'max-client-cnxns');
  const { Gateway, defaultGatewayOptions } = await loadGateway();
  const gw = await Gateway.start(
    {
      ...defaultGatewayOptions,
      id,
      bus: busConfig(f),
      cluster: String(f.cluster),
      clientPort: plainClientPort(f),
      host: String(f.host),
      tickTime: intFlag(f, 'tick-time'),
      maxBuffer: intFlag(f, 'max-buffer'),
      maxOutstanding: boundFlag(f, 'max-outstanding', 1),
      globalOutstandingLimit: boundFlag(f, 'global-outstanding-limit', 1),
      maxClientQueue: boundFlag(f, 'max-client-queue', 64 * 1024),
      // 0 is ZooKeeper's "no limit".
      maxClientCnxns: maxClientCnxns === 0 ? Number.POSITIVE_INFINITY : maxClientCnxns,
      fourLetterWhitelist: wl.trim() === '*' ? '*' : new Set(wl.split(',').map((w) => w.trim())),
      adminPort: intFlag(f, 'admin-port') || undefined,
      adminHost: String(f['admin-host']),
      adminToken: typeof f['admin-token'] === 'string' ? f['admin-token'] : undefined,
      stately: typeof f.stately === 'string' ? f.stately : undefined,
      secure: secureOptions(f),
    },
    log,
  );
  const probe = await health(f, log).catch(async (err: unknown) => {
    await gw.stop();
    throw err;
  });
  await new Promise<void>((done) => {
    const stop = () => void gw.stop().then(done);
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    exitWithSupervisor(stop);
  });
  await probe?.close();
}

/**
 * `zooid standalone`: a managed nats-server (unless --nats), one member and
 * one gateway, supervised. The server requires TLS and each child's own
 * nkey, as a clustered bus does. Ctrl-C stops them all; a child that dies
 * is reported and takes the group down, so nothing runs half-broken.
 */
export async function standalone(argv: string[]): Promise<void> {
  const f = parseFlags(argv, standaloneSpec);
  // Two children on one health port cannot both listen: the variable is for role processes.
  delete process.env.ZOOID_HEALTH_PORT;
  const log = createLogger('standalone');
  const dataDir = resolve(String(f['data-dir']));
  const group = new ProcessGroup(log, { onDeath: 'stop' });
  group.stopOnSignals();
  const member: BusIdentity = { kind: 'member', id: '1' };
  const gateway: BusIdentity = { kind: 'gateway', id: 'gw1' };
  let busArgs: (who: BusIdentity) => string[];
  let record: BusRecord;
  if (typeof f.nats === 'string') {
    busArgs = () => givenBusArgs(f);
    record = givenBusRecord(f);
  } else {
    const taken = [plainClientPort(f) ?? intFlag(f, 'secure-client-port'), intFlag(f, 'admin-port')];
    const bus = await startLocalBus(group, { dataDir, cluster: String(f.cluster), servers: 1, identities: [member, gateway], taken }).catch(async (err: unknown) => {
      await group.stop(1);
      throw err;
    });
    busArgs = (who) => localBusArgs(bus, who);
    record = localBusRecord(bus);
  }
  await ensureClientTls(f, dataDir);
  const forgetBus = recordBus(dataDir, record);
  group.spawn('member', ['member', '--id', '1', ...busArgs(member), ...passFlags(f, standaloneMemberFlags)]);
  group.spawn('gateway', ['gateway', '--id', 'gw1', ...busArgs(gateway), ...passFlags(f, standaloneGatewayFlags)]);
  log.info({ clientPort: f['client-port'], dataDir: f['data-dir'] }, 'zooid standalone running; Ctrl-C stops it');
  process.exitCode = await group.done;
  forgetBus();
}
