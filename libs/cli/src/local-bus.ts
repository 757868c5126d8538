/**
 * The bus `zooid up` and `zooid standalone` run themselves: N nats-servers
 * on loopback, clustered by TLS routes, each supervised by the group, with
 * keys, certificates and configurations provisioned in `<data-dir>/bus`.
 */
import { join } from 'node:path';
import type { BusIdentity } from '@zooid/protocol';
import type { BusServer } from './bus-conf.js';
import type { BusRecord } from './bus-file.js';
import { seedFile } from './bus-keys.js';
import { reloadServers, waitForRoutes } from './bus-monitor.js';
import type { ProvisionedBus } from './bus-provision.js';
import { startConfiguredNats } from './nats.js';
import { freePort } from './ports.js';
import type { ProcessGroup } from './supervise.js';

/** The identity `zooid status` reads the bus as. */
export const STATUS_TOOL: BusIdentity = { kind: 'tool', id: 'status' };

export function localBusDir(dataDir: string): string {
  return join(dataDir, 'bus');
}

/** `count` distinct ports that were free a moment ago, none of `taken` (ports the group's children will listen on). */
async function freePorts(count: number, taken: number[]): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < count) {
    const p = await freePort();
    if (!taken.includes(p)) ports.add(p);
  }
  return [...ports];
}

async function loopbackServers(n: number, taken: number[]): Promise<BusServer[]> {
  const ports = await freePorts(3 * n, taken);
  return Array.from({ length: n }, (_, i) => ({
    name: `nats-${i + 1}`,
    host: '127.0.0.1',
    listen: '127.0.0.1',
    port: ports[3 * i]!,
    clusterPort: ports[3 * i + 1]!,
    monitorPort: ports[3 * i + 2]!,
  }));
}

export interface LocalBusOptions {
  dataDir: string;
  cluster: string;
  servers: number;
  /** Every process that will connect; `zooid status` is added. */
  identities: BusIdentity[];
  /** Ports the children will listen on, which the servers must not take. */
  taken: number[];
}

/** Provisions the bus in `<dataDir>/bus` and starts its servers under `group`, once their routes are all up. */
export async function startLocalBus(group: ProcessGroup, opts: LocalBusOptions): Promise<ProvisionedBus> {
  // Loaded here: the certificate code is for supervisors, not for every role's start.
  const { provisionBus } = await import('./bus-provision.js');
  const bus = await provisionBus({
    cluster: opts.cluster,
    identities: [...opts.identities, STATUS_TOOL],
    servers: await loopbackServers(opts.servers, opts.taken),
    dir: localBusDir(opts.dataDir),
    pidFiles: true,
  });
  await Promise.all(bus.servers.map((s) => group.nats(s.name, () => startConfiguredNats(s))));
  await waitForRoutes(bus.servers.map((s) => s.monitor));
  return bus;
}

/**
 * Provisions a running local bus again for `identities` (same servers, same
 * ports) and reloads its servers: `zooid scale` lets a new member's key in,
 * or shuts a retired one's out, without restarting the bus.
 */
export async function reprovisionLocalBus(group: ProcessGroup, bus: ProvisionedBus, cluster: string, identities: BusIdentity[]): Promise<void> {
  const { provisionBus } = await import('./bus-provision.js');
  const servers: BusServer[] = bus.servers.map(({ name, host, listen, port, clusterPort, monitorPort }) => ({ name, host, listen, port, clusterPort, monitorPort }));
  const next = await provisionBus({ cluster, identities: [...identities, STATUS_TOOL], servers, dir: bus.dir, pidFiles: true });
  const pids = group.busPids();
  await reloadServers(
    next.servers.map((s) => {
      const pid = pids.get(s.name);
      if (pid === undefined) throw new Error(`bus server ${s.name} is not running: cannot reload it`);
      return { monitor: s.monitor, pid };
    }),
  );
}

/** The flags that connect `who` to a local bus. */
export function localBusArgs(bus: ProvisionedBus, who: BusIdentity): string[] {
  // One machine: every process on the first server, the others for failover.
  return ['--nats', bus.urls, '--nats-prefer-first', '--nats-nkey', seedFile(bus.dir, who), '--nats-tls-ca', bus.ca];
}

/** What `zooid status --data-dir` needs to read a local bus. */
export function localBusRecord(bus: ProvisionedBus): BusRecord {
  return {
    servers: bus.servers.map((s) => ({ name: s.name, url: s.url, monitor: s.monitor, pidFile: s.pidFile })),
    credentials: { nkey: seedFile(bus.dir, STATUS_TOOL), tlsCa: bus.ca },
  };
}
