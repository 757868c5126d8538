/**
 * Flags of the TLS client port, and the certificates `standalone` and `up`
 * make when it is asked for without any: a CA and a server certificate for
 * 127.0.0.1 and localhost in <data-dir>/tls/, made with the bus's own
 * certificate code. Clients trust <data-dir>/tls/ca.pem.
 */
import { join } from 'node:path';
import type { FlagSpec } from './args.js';
import { UsageError, intFlag } from './args.js';
import { ensureCa, ensureServerCert } from './bus-certs.js';

export const clientTlsSpec: FlagSpec = {
  'secure-client-port': { type: 'string', describe: 'TLS client port (secureClientPort), beside --client-port' },
  'ssl-cert': { type: 'string', describe: 'PEM certificate (chain) of the TLS client port' },
  'ssl-key': { type: 'string', describe: 'PEM private key of the TLS client port' },
  'ssl-ca': { type: 'string', describe: 'PEM CA that client certificates must chain to' },
  'ssl-client-auth': { type: 'string', default: 'none', describe: 'client certificates: none, want or need (ssl.clientAuth)' },
};

export const clientTlsFlags = Object.keys(clientTlsSpec);

type Flags = Record<string, string | boolean | undefined>;

/**
 * The plain client port, or none for a TLS-only gateway: `--client-port none`,
 * as a zoo.cfg with secureClientPort and no clientPort asks.
 */
export function plainClientPort(f: Flags): number | undefined {
  if (String(f['client-port']).toLowerCase() !== 'none') return intFlag(f, 'client-port');
  if (f['secure-client-port'] === undefined) throw new UsageError('--client-port none needs --secure-client-port: a gateway without a port serves nobody');
  return undefined;
}

/** The gateway's secure port options from its flags, or undefined without --secure-client-port. */
export function secureOptions(f: Flags) {
  if (f['secure-client-port'] === undefined) return undefined;
  const clientAuth = String(f['ssl-client-auth']).toLowerCase();
  if (clientAuth !== 'none' && clientAuth !== 'want' && clientAuth !== 'need') throw new UsageError(`--ssl-client-auth must be none, want or need, got ${clientAuth}`);
  if (typeof f['ssl-cert'] !== 'string' || typeof f['ssl-key'] !== 'string') throw new UsageError('--secure-client-port needs --ssl-cert and --ssl-key');
  if (clientAuth !== 'none' && typeof f['ssl-ca'] !== 'string') throw new UsageError(`--ssl-client-auth ${clientAuth} needs --ssl-ca`);
  return { port: intFlag(f, 'secure-client-port'), cert: f['ssl-cert'], key: f['ssl-key'], ca: typeof f['ssl-ca'] === 'string' ? f['ssl-ca'] : undefined, clientAuth: clientAuth as 'none' | 'want' | 'need' };
}

/**
 * For `standalone` and `up`: with --secure-client-port and no certificate,
 * makes (or reuses) <dataDir>/tls/ and fills in the flags the gateways get.
 */
export async function ensureClientTls(f: Flags, dataDir: string): Promise<void> {
  if (f['secure-client-port'] === undefined || f['ssl-cert'] !== undefined) return;
  const dir = join(dataDir, 'tls');
  const ca = await ensureCa(dir, 'Zooid client CA');
  const server = await ensureServerCert(dir, 'client-port', '127.0.0.1', ca);
  f['ssl-cert'] = server.cert;
  f['ssl-key'] = server.key;
  // Client certificates, when asked for, chain to the same CA.
  f['ssl-ca'] ??= ca.file;
}
