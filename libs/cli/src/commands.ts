import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { DEFAULT_MAX_BUFFER } from '@zooid/protocol';
import { runMember } from '@zooid/follower';
import { runObserver } from '@zooid/observer';
import { Gateway, defaultGatewayOptions } from '@zooid/session-gw';
import { createLogger } from '@zooid/runtime';
import { intFlag, parseFlags, passFlags, UsageError, type FlagSpec } from './args.js';
import { ProcessGroup, exitWithSupervisor } from './supervise.js';

/** Flags every role understands; supervisors hand them on to their children. */
export const commonSpec: FlagSpec = {
  nats: { type: 'string', describe: 'NATS server URL(s), comma-separated' },
  cluster: { type: 'string', default: 'zooid', describe: 'subject prefix, to share one NATS between clusters' },
  'tick-time': { type: 'string', default: '2000', describe: 'ZooKeeper tickTime in ms' },
  'max-buffer': { type: 'string', default: String(DEFAULT_MAX_BUFFER), describe: 'largest request in bytes (jute.maxbuffer)' },
};

export const memberSpec: FlagSpec = {
  ...commonSpec,
  id: { type: 'string', default: '1', describe: 'member id' },
  'data-dir': { type: 'string', default: './data', describe: 'transaction log and snapshots' },
  'snap-count': { type: 'string', default: '100000', describe: 'transactions between snapshots' },
  'snap-retain': { type: 'string', default: '3', describe: 'snapshots kept (autopurge.snapRetainCount)' },
  'super-digest': { type: 'string', describe: 'super user digest, user:base64(sha1(user:password))' },
  'init-limit': { type: 'string', default: '10', describe: 'ticks a leader may take to synchronize a quorum (initLimit)' },
  'sync-limit': { type: 'string', default: '5', describe: 'ticks of silence before leader or follower gives up (syncLimit)' },
};

export const followerSpec: FlagSpec = {
  ...memberSpec,
  ensemble: { type: 'string', describe: 'ids of every voting member, comma-separated (e.g. 1,2,3)' },
};

export const observerSpec: FlagSpec = {
  ...memberSpec,
  id: { type: 'string', describe: 'observer id (generated when absent)' },
};

export const gatewaySpec: FlagSpec = {
  ...commonSpec,
  id: { type: 'string', describe: 'gateway id (random when absent)' },
  'client-port': { type: 'string', default: '2181', describe: 'ZooKeeper client port' },
  host: { type: 'string', default: '0.0.0.0', describe: 'address to listen on' },
  'max-client-cnxns': { type: 'string', default: '60', describe: 'connections per client address' },
  '4lw-whitelist': { type: 'string', default: '*', describe: 'four-letter words allowed, comma-separated, or *' },
};

export const standaloneSpec: FlagSpec = {
  ...commonSpec,
  'client-port': gatewaySpec['client-port']!,
  'admin-port': { type: 'string', default: '8080', describe: 'admin HTTP port' },
  'data-dir': memberSpec['data-dir']!,
  'snap-count': memberSpec['snap-count']!,
  '4lw-whitelist': gatewaySpec['4lw-whitelist']!,
};

function requireNats(flags: Record<string, unknown>): string {
  if (typeof flags.nats !== 'string') throw new UsageError('--nats URL is required');
  return flags.nats;
}

/** Options every member and observer shares, from their flags. */
function roleOptions(f: Record<string, string | boolean | undefined>, id: string) {
  const tickTime = intFlag(f, 'tick-time');
  const dataDir = resolve(String(f['data-dir']));
  mkdirSync(dataDir, { recursive: true });
  const superDigest = typeof f['super-digest'] === 'string' ? f['super-digest'] : undefined;
  return {
    id,
    dataDir,
    natsUrl: requireNats(f),
    cluster: String(f.cluster),
    tickTime,
    initLimit: intFlag(f, 'init-limit'),
    syncLimit: intFlag(f, 'sync-limit'),
    minSessionTimeout: 2 * tickTime,
    maxSessionTimeout: 20 * tickTime,
    snapCount: intFlag(f, 'snap-count'),
    snapRetain: intFlag(f, 'snap-retain'),
    tree: { superDigest, maxDataBytes: intFlag(f, 'max-buffer') },
  };
}

/** Runs a role until SIGTERM/SIGINT or its supervisor's exit. */
async function runUntilStopped(running: { done: Promise<void>; stop(): void }): Promise<void> {
  const stop = () => running.stop();
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  exitWithSupervisor(stop);
  await running.done;
}

/** `zooid follower`: a voting member of an ensemble. */
export async function follower(argv: string[]): Promise<void> {
  const f = parseFlags(argv, followerSpec);
  const id = String(f.id);
  const ensemble = String(f.ensemble ?? id).split(',').map((v) => v.trim()).filter(Boolean);
  const log = createLogger('member', { member: id });
  await runUntilStopped(await runMember({ ...roleOptions(f, id), ensemble }, log));
}

/** `zooid member`: the single voting member of a standalone ensemble. */
export async function member(argv: string[]): Promise<void> {
  const f = parseFlags(argv, memberSpec);
  const id = String(f.id);
  const log = createLogger('member', { member: id });
  await runUntilStopped(await runMember({ ...roleOptions(f, id), ensemble: [id] }, log));
}

/** `zooid observer`: a non-voting learner that serves reads. */
export async function observer(argv: string[]): Promise<void> {
  const f = parseFlags(argv, observerSpec);
  const id = typeof f.id === 'string' ? f.id : `o-${randomBytes(3).toString('hex')}`;
  const log = createLogger('observer', { observer: id });
  await runUntilStopped(await runObserver(roleOptions(f, id), log));
}

/** `zooid gateway`: a client-facing session gateway. */
export async function gateway(argv: string[]): Promise<void> {
  const f = parseFlags(argv, gatewaySpec);
  const id = typeof f.id === 'string' ? f.id : randomBytes(4).toString('hex');
  const log = createLogger('gateway', { gateway: id });
  const wl = String(f['4lw-whitelist']);
  const gw = await Gateway.start(
    {
      ...defaultGatewayOptions,
      id,
      natsUrl: requireNats(f),
      cluster: String(f.cluster),
      clientPort: intFlag(f, 'client-port'),
      host: String(f.host),
      tickTime: intFlag(f, 'tick-time'),
      maxBuffer: intFlag(f, 'max-buffer'),
      maxClientCnxns: intFlag(f, 'max-client-cnxns'),
      fourLetterWhitelist: wl.trim() === '*' ? '*' : new Set(wl.split(',').map((w) => w.trim())),
    },
    log,
  );
  await new Promise<void>((done) => {
    const stop = () => void gw.stop().then(done);
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    exitWithSupervisor(stop);
  });
}

/**
 * `zooid standalone`: a managed nats-server (unless --nats), one member and
 * one gateway, supervised. Ctrl-C stops them all; a child that dies is
 * reported and takes the group down, so nothing runs half-broken.
 */
export async function standalone(argv: string[]): Promise<void> {
  const f = parseFlags(argv, standaloneSpec);
  const log = createLogger('standalone');
  const group = new ProcessGroup(log, { onDeath: 'stop' });
  const url = await group.natsUrl(typeof f.nats === 'string' ? f.nats : undefined);
  group.spawn('member', ['member', '--nats', url, '--id', '1', ...passFlags(f, ['data-dir', 'cluster', 'tick-time', 'max-buffer', 'snap-count'])]);
  group.spawn('gateway', ['gateway', '--nats', url, '--id', 'gw1', ...passFlags(f, ['client-port', 'cluster', 'tick-time', 'max-buffer', '4lw-whitelist'])]);
  log.info({ clientPort: f['client-port'], dataDir: f['data-dir'] }, 'zooid standalone running; Ctrl-C stops it');
  group.stopOnSignals();
  process.exitCode = await group.done;
}
