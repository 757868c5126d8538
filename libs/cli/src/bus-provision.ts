/**
 * Provisions a bus in one directory: every identity's nkey seed, the CA and
 * a certificate per server, and each server's configuration. Idempotent:
 * what exists is reused, a grown topology only adds, and a configuration is
 * rewritten only when it changes — so `zooid up` can provision on every
 * start and an operator can run `zooid bus init` again with a new member.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { identityName, isSubjectToken, type BusIdentity } from '@zooid/protocol';
import { ensureCa, ensureServerCert } from './bus-certs.js';
import { clientUrl, monitorHost, serverConf, type BusServer } from './bus-conf.js';
import { ensureSeed, type IdentityKey } from './bus-keys.js';
import { writeIfChanged } from './files.js';

export interface BusPlan {
  /** The subject prefix (--cluster) the permissions are written for. */
  cluster: string;
  /** Everyone allowed on the bus; nobody else is. */
  identities: BusIdentity[];
  servers: BusServer[];
  /** Where the files are written. */
  dir: string;
  /** Where the servers will find that directory (a container's mount point); `dir` when absent. */
  mount?: string;
  /** Have each server write its pid to `<name>.pid`: for servers on this machine, whose pids mean something here. */
  pidFiles?: boolean;
}

export interface ProvisionedServer extends BusServer {
  /** Its configuration file (in `dir`). */
  conf: string;
  /** How clients reach it: `tls://host:port`. */
  url: string;
  /** Its monitoring endpoint, on loopback where it runs. */
  monitor: string;
  pidFile?: string;
}

export interface ProvisionedBus {
  dir: string;
  /** The CA certificate clients verify the servers with. */
  ca: string;
  servers: ProvisionedServer[];
  keys: IdentityKey[];
  /** Every server's URL, comma-separated, as --nats takes them. */
  urls: string;
}

export class BusPlanError extends Error {}

function check(plan: BusPlan): void {
  for (const who of plan.identities) {
    if (!isSubjectToken(who.id)) throw new BusPlanError(`${who.kind} id "${who.id}" cannot name a bus identity: use letters, digits, _ and - (at most 64)`);
  }
  // Both kinds speak to the leader on zab.leader.<leader>.<id>: the bus could not tell an observer from the member it shares an id with.
  const memberIds = new Set(plan.identities.filter((w) => w.kind === 'member').map((w) => w.id));
  const shared = plan.identities.filter((w) => w.kind === 'observer' && memberIds.has(w.id)).map((w) => w.id);
  if (shared.length > 0) throw new BusPlanError(`observer id ${shared.join(', ')} is also a member id: give observers ids no member uses`);
  const names = plan.servers.map((s) => s.name);
  if (new Set(names).size !== names.length) throw new BusPlanError(`server names repeat: ${names.join(', ')}`);
  if (plan.servers.length === 0) throw new BusPlanError('a bus needs at least one server');
}

export async function provisionBus(plan: BusPlan): Promise<ProvisionedBus> {
  check(plan);
  const { dir } = plan;
  const at = (file: string) => join(plan.mount ?? dir, file);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ca = await ensureCa(dir);
  const unique = new Map(plan.identities.map((who) => [identityName(who), who]));
  const keys = [...unique.values()].map((who) => ensureSeed(dir, who));
  const users = keys.map((k) => ({ who: k.who, publicKey: k.publicKey }));
  const servers: ProvisionedServer[] = [];
  for (const server of plan.servers) {
    await ensureServerCert(dir, server.name, server.host, ca);
    const pid = plan.pidFiles ? `${server.name}.pid` : undefined;
    const text = serverConf({
      cluster: plan.cluster,
      server,
      servers: plan.servers,
      users,
      files: { ca: at('ca.pem'), cert: at(`${server.name}.pem`), key: at(`${server.name}-key.pem`), pid: pid && at(pid) },
    });
    const conf = join(dir, `${server.name}.conf`);
    writeIfChanged(conf, text);
    servers.push({
      ...server,
      conf,
      url: clientUrl(server),
      monitor: `http://${monitorHost(server)}:${server.monitorPort}`,
      pidFile: pid && join(dir, pid),
    });
  }
  return { dir, ca: ca.file, servers, keys, urls: servers.map((s) => s.url).join(',') };
}
