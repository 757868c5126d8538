/**
 * The flags that say where the bus is and how to authenticate to it. Every
 * role and `zooid status` take them; as every flag, each is also a ZOOID_*
 * variable (--nats-nkey ↔ ZOOID_NATS_NKEY) and a zoo.cfg key (nats.nkey).
 */
import type { BusConfig } from '@zooid/runtime';
import { passFlags, UsageError, type FlagSpec } from './args.js';
import type { BusRecord } from './bus-file.js';

export const busSpec: FlagSpec = {
  nats: { type: 'string', describe: 'NATS server URL(s), comma-separated; tls:// asks for TLS' },
  'nats-nkey': { type: 'string', describe: "this process's nkey seed file (mode 0600): its identity on the bus" },
  'nats-creds': { type: 'string', describe: 'NATS credentials file (user JWT and seed), for a bus with an operator' },
  'nats-tls-ca': { type: 'string', describe: "CA certificate the bus servers' certificates chain to (TLS required when given)" },
  'nats-tls-cert': { type: 'string', describe: 'client certificate, for a bus that verifies clients' },
  'nats-tls-key': { type: 'string', describe: 'private key of --nats-tls-cert' },
  'nats-prefer-first': { type: 'boolean', describe: 'connect to the first --nats server while it is up, the others for failover (processes on one machine, sharing its nats-server)' },
};

/** The credential flags, which a supervisor hands on unchanged to children on a bus it does not run. */
export const busCredentialFlags = ['nats-nkey', 'nats-creds', 'nats-tls-ca', 'nats-tls-cert', 'nats-tls-key'];

const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);

/** The bus a role connects to, from its flags; --nats is required. */
export function busConfig(f: Record<string, unknown>): BusConfig {
  const servers = str(f.nats);
  if (!servers) throw new UsageError('--nats URL is required');
  if (str(f['nats-nkey']) && str(f['nats-creds'])) throw new UsageError('give --nats-nkey or --nats-creds, not both');
  if ((str(f['nats-tls-cert']) === undefined) !== (str(f['nats-tls-key']) === undefined)) throw new UsageError('--nats-tls-cert and --nats-tls-key go together');
  return {
    servers,
    nkey: str(f['nats-nkey']),
    creds: str(f['nats-creds']),
    tlsCa: str(f['nats-tls-ca']),
    tlsCert: str(f['nats-tls-cert']),
    tlsKey: str(f['nats-tls-key']),
    preferFirst: f['nats-prefer-first'] === true,
  };
}

/** The flags that connect a child to a bus its supervisor does not run: the same as the supervisor's own. */
export function givenBusArgs(f: Record<string, unknown>): string[] {
  return [...passFlags(f, ['nats', ...busCredentialFlags]), ...(f['nats-prefer-first'] === true ? ['--nats-prefer-first'] : [])];
}

/** A bus given by flags, recorded for `zooid status`, which then connects with the same credentials. */
export function givenBusRecord(f: Record<string, unknown>): BusRecord {
  const { servers, ...credentials } = busConfig(f);
  return { servers: servers.split(',').map((url) => ({ url: url.trim() })), credentials };
}
