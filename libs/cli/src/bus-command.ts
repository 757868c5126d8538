/**
 * `zooid bus init`: provisions a bus for processes an operator runs
 * (Compose, Kubernetes, systemd): the same files `zooid up` writes for
 * itself, for servers on the given hosts. Run it again with the whole
 * topology to add identities or servers; what exists is kept.
 */
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { identityName, type BusIdentity } from '@zooid/protocol';
import { intFlag, parseFlags, UsageError, type FlagSpec } from './args.js';
import type { BusServer } from './bus-conf.js';
import type { ProvisionedBus } from './bus-provision.js';

export const BUS_SUMMARY = 'Write a bus for roles you run yourself: nkeys, a CA and certificates, nats-server configurations (zooid bus init --dir DIR …).';

export const busInitSpec: FlagSpec = {
  dir: { type: 'string', describe: 'directory to write into (created mode 0700); required' },
  members: { type: 'string', default: '1,2,3', describe: 'voting member ids, comma-separated' },
  observers: { type: 'string', describe: 'observer ids, comma-separated (e.g. o1,o2); none by default' },
  gateways: { type: 'string', default: 'gw1', describe: 'gateway ids, comma-separated' },
  tools: { type: 'string', default: 'status', describe: 'tool identities (`zooid status` is status)' },
  auditors: { type: 'string', describe: 'read-only taps on every subject (client data included), for forensics; none by default' },
  servers: { type: 'string', describe: 'number of nats-servers (default: one per --hosts, or 3)' },
  hosts: { type: 'string', describe: "each server's host name as clients and the other servers reach it (default 127.0.0.1)" },
  mount: { type: 'string', describe: 'where the servers will find --dir, e.g. a container mount point (default --dir)' },
  cluster: { type: 'string', default: 'zooid', describe: 'subject prefix the permissions are written for (--cluster of the roles)' },
  'client-port': { type: 'string', default: '4222', describe: 'client port; servers sharing a host count up from it' },
  'cluster-port': { type: 'string', default: '6222', describe: 'route port; likewise' },
  'monitor-port': { type: 'string', default: '8222', describe: 'monitoring port, on loopback; likewise' },
};

const list = (v: unknown) => String(v ?? '').split(',').map((s) => s.trim()).filter(Boolean);
/** A server reached by a loopback name is for this machine only: it binds that address, any other host all addresses. */
function listenAddress(host: string): string {
  if (host === 'localhost') return '127.0.0.1';
  if (host === '::1' || (isIP(host) === 4 && host.startsWith('127.'))) return host;
  return '0.0.0.0';
}

/** The servers: `nats-1`… on the given hosts; ports count up for servers that share a host. */
export function initServers(count: number, hosts: string[], base: { client: number; cluster: number; monitor: number }): BusServer[] {
  const seen = new Map<string, number>();
  return Array.from({ length: count }, (_, i) => {
    const host = hosts[i] ?? hosts[0] ?? '127.0.0.1';
    const k = seen.get(host) ?? 0;
    seen.set(host, k + 1);
    return {
      name: `nats-${i + 1}`,
      host,
      listen: listenAddress(host),
      port: base.client + k,
      clusterPort: base.cluster + k,
      monitorPort: base.monitor + k,
    };
  });
}

function identities(f: Record<string, unknown>): BusIdentity[] {
  return [
    ...list(f.members).map((id): BusIdentity => ({ kind: 'member', id })),
    ...list(f.observers).map((id): BusIdentity => ({ kind: 'observer', id })),
    ...list(f.gateways).map((id): BusIdentity => ({ kind: 'gateway', id })),
    ...list(f.tools).map((id): BusIdentity => ({ kind: 'tool', id })),
    ...list(f.auditors).map((id): BusIdentity => ({ kind: 'auditor', id })),
  ];
}

/** Who uses which file, as commands an operator can copy. */
function summary(bus: ProvisionedBus, at: string): string {
  const role: Record<BusIdentity['kind'], (id: string) => string> = {
    member: (id) => `zooid follower --id ${id} …`,
    observer: (id) => `zooid observer --id ${id} …`,
    gateway: (id) => `zooid gateway --id ${id} …`,
    tool: (id) => (id === 'status' ? 'zooid status …' : `a tool (${id})`),
    auditor: (id) => `a read-only tap (${id}): it sees every client's data`,
  };
  const width = Math.max(...bus.keys.map((k) => identityName(k.who).length), ...bus.servers.map((s) => s.name.length)) + 2;
  return [
    `zooid bus init: ${bus.servers.length} server(s), ${bus.keys.length} identities in ${bus.dir}`,
    '',
    'servers (each reads its configuration, certificate and key, and ca.pem):',
    ...bus.servers.map((s) => `  ${s.name.padEnd(width)}nats-server -c ${at}/${s.name}.conf    (${s.url}, routes on ${s.clusterPort})`),
    '',
    'processes (each reads only its own seed, and ca.pem):',
    ...bus.keys.map((k) => `  ${identityName(k.who).padEnd(width)}${role[k.who.kind](k.who.id)} --nats-nkey ${at}/${identityName(k.who)}.nk`),
    '',
    `every process: --nats ${bus.urls} --nats-tls-ca ${at}/ca.pem`,
    `private/ca-key.pem signs the certificates: keep it, it is no server's and no process's.`,
    '',
  ].join('\n');
}

export async function bus(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub !== 'init') throw new UsageError(`unknown subcommand ${sub ?? '(none)'}: zooid bus init --dir DIR …`);
  const f = parseFlags(rest, busInitSpec);
  if (typeof f.dir !== 'string' || f.dir === '') throw new UsageError('--dir DIR is required');
  const hosts = list(f.hosts);
  const count = f.servers === undefined ? hosts.length || 3 : intFlag(f, 'servers');
  if (count < 1) throw new UsageError('--servers must be at least 1');
  if (hosts.length > 1 && hosts.length !== count) throw new UsageError(`--hosts names ${hosts.length} hosts for ${count} servers`);
  const dir = resolve(f.dir);
  const mount = typeof f.mount === 'string' ? f.mount : dir;
  const { BusPlanError, provisionBus } = await import('./bus-provision.js');
  try {
    const provisioned = await provisionBus({
      cluster: String(f.cluster),
      identities: identities(f),
      servers: initServers(count, hosts, { client: intFlag(f, 'client-port'), cluster: intFlag(f, 'cluster-port'), monitor: intFlag(f, 'monitor-port') }),
      dir,
      mount,
    });
    process.stdout.write(summary(provisioned, mount));
  } catch (err) {
    if (err instanceof BusPlanError) throw new UsageError(err.message);
    throw err;
  }
}
