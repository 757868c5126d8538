/**
 * A bus as `zooid up` provisions it, for tests: N nats-servers in a temp
 * directory, clustered by TLS routes, authenticating the given identities by
 * nkey, built with the same provisioning code. Each server can be stopped,
 * killed by signal (the real nats-server, not its guard: SIGKILL, SIGSTOP,
 * SIGCONT) and started again on the same ports.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BusIdentity } from '@zooid/protocol';
import { connectBus, createLogger, type BusConfig, type NatsConnection } from '@zooid/runtime';
import { freePort, provisionBus, seedFile, startConfiguredNats, waitForRoutes, type BusPlan, type ManagedNats, type ProvisionedServer } from '@zooid/cli';

export interface SecureServer {
  info: ProvisionedServer;
  /** The nats-server's own pid (from its pid file), while it runs. */
  pid(): number | undefined;
  /** Signals the nats-server itself; its guard exits when it does. */
  signal(sig: NodeJS.Signals): void;
  /** Resolves when the server's process (guard) has exited. */
  exited(): Promise<void>;
  stop(): Promise<void>;
  /** Starts it again, same configuration and ports; waits for its routes. */
  restart(): Promise<void>;
}

export interface SecureBus {
  dir: string;
  /** Every server's URL, comma-separated. */
  urls: string;
  ca: string;
  servers: SecureServer[];
  /** The seed file of an identity provisioned here. */
  seed(who: BusIdentity): string;
  /** What a process of `who` connects with; `servers` narrows it to some servers. */
  config(who: BusIdentity, servers?: SecureServer[]): BusConfig;
  /** Connects as `who`, as a Zooid process would. */
  connect(who: BusIdentity, servers?: SecureServer[]): Promise<NatsConnection>;
  /** Provisions again (a removed seed is made anew, configurations rewritten); servers keep running until reloaded. */
  reprovision(): Promise<void>;
  stop(): Promise<void>;
}

export async function startSecureBus(opts: { servers?: number; identities: BusIdentity[]; cluster?: string }): Promise<SecureBus> {
  const n = opts.servers ?? 3;
  const dir = mkdtempSync(join(tmpdir(), 'zooid-bus-'));
  const ports = new Set<number>();
  while (ports.size < 3 * n) ports.add(await freePort());
  const p = [...ports];
  const plan: BusPlan = {
    cluster: opts.cluster ?? 'zooid',
    identities: opts.identities,
    dir,
    pidFiles: true,
    servers: Array.from({ length: n }, (_, i) => ({
      name: `nats-${i + 1}`,
      host: '127.0.0.1',
      listen: '127.0.0.1',
      port: p[3 * i]!,
      clusterPort: p[3 * i + 1]!,
      monitorPort: p[3 * i + 2]!,
    })),
  };
  const provisioned = await provisionBus(plan);
  const monitors = provisioned.servers.map((s) => s.monitor);
  const servers = await Promise.all(
    provisioned.servers.map(async (info): Promise<SecureServer> => {
      let nats: ManagedNats = await startConfiguredNats(info);
      let exit = new Promise<void>((r) => nats.child.once('exit', () => r()));
      const alive = () => nats.child.exitCode === null && nats.child.signalCode === null;
      const pid = () => {
        if (!alive()) return undefined;
        try {
          return Number(readFileSync(info.pidFile!, 'utf8').trim()) || undefined;
        } catch {
          return undefined;
        }
      };
      return {
        info,
        pid,
        signal(sig) {
          const real = pid();
          if (real === undefined) throw new Error(`${info.name} is not running`);
          process.kill(real, sig);
        },
        exited: () => exit,
        stop: () => nats.stop(),
        async restart() {
          nats = await startConfiguredNats(info);
          exit = new Promise<void>((r) => nats.child.once('exit', () => r()));
          await waitForRoutes(monitors.filter((_, i) => servers[i]!.pid() !== undefined));
        },
      };
    }),
  );
  await waitForRoutes(monitors);
  const log = createLogger('test-bus');
  const bus: SecureBus = {
    dir,
    urls: provisioned.urls,
    ca: provisioned.ca,
    servers,
    seed: (who) => seedFile(dir, who),
    config: (who, some = servers) => ({ servers: some.map((s) => s.info.url).join(','), nkey: seedFile(dir, who), tlsCa: provisioned.ca }),
    connect: (who, some) => connectBus(bus.config(who, some), who, log),
    reprovision: async () => void (await provisionBus(plan)),
    async stop() {
      await Promise.all(servers.map((s) => s.stop()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return bus;
}
