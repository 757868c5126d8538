/**
 * `--config FILE` (or ZOOID_CONFIG): a ZooKeeper zoo.cfg, so people bring
 * the file they already have. Each key Zooid understands is the file face of
 * one flag; parseFlags applies them below flags and the environment and above
 * the defaults. Java-properties syntax as ZooKeeper reads it: `key=value`
 * (or `key: value`, `key value`), `#` and `!` start a comment line, values
 * are trimmed.
 *
 * Unknown keys are warned about by name and ignored, as are ZooKeeper keys
 * that mean nothing here (with the reason); a value that does not parse is
 * refused, naming the key and the value.
 */
import { readFileSync } from 'node:fs';

export type ConfigKind = 'bool' | 'int' | 'port' | 'path' | 'host' | 'name' | 'whitelist' | 'urls' | 'digest' | 'clientAuth' | 'schemes';

export interface ConfigKey {
  /** The zoo.cfg key. */
  key: string;
  /** The flag it sets (and so its environment variable, ZOOID_<FLAG>). */
  flag: string;
  kind: ConfigKind;
  /** Smallest accepted value of an 'int'. */
  min?: number;
}

/** Every zoo.cfg key Zooid applies, in the order docs/operations.md lists them. */
export const CONFIG_KEYS: readonly ConfigKey[] = [
  { key: 'tickTime', flag: 'tick-time', kind: 'int', min: 1 },
  { key: 'initLimit', flag: 'init-limit', kind: 'int', min: 1 },
  { key: 'syncLimit', flag: 'sync-limit', kind: 'int', min: 1 },
  { key: 'dataDir', flag: 'data-dir', kind: 'path' },
  { key: 'clientPort', flag: 'client-port', kind: 'port' },
  { key: 'clientPortAddress', flag: 'host', kind: 'host' },
  { key: 'maxClientCnxns', flag: 'max-client-cnxns', kind: 'int', min: 0 },
  { key: 'globalOutstandingLimit', flag: 'global-outstanding-limit', kind: 'int', min: 1 },
  { key: 'minSessionTimeout', flag: 'min-session-timeout', kind: 'int', min: 1 },
  { key: 'maxSessionTimeout', flag: 'max-session-timeout', kind: 'int', min: 1 },
  { key: '4lw.commands.whitelist', flag: '4lw-whitelist', kind: 'whitelist' },
  { key: 'secureClientPort', flag: 'secure-client-port', kind: 'port' },
  { key: 'ssl.clientAuth', flag: 'ssl-client-auth', kind: 'clientAuth' },
  { key: 'admin.serverPort', flag: 'admin-port', kind: 'port' },
  { key: 'admin.serverAddress', flag: 'admin-host', kind: 'host' },
  { key: 'autopurge.snapRetainCount', flag: 'snap-retain', kind: 'int', min: 1 },
  { key: 'autopurge.purgeInterval', flag: 'purge-interval', kind: 'int', min: 0 },
  { key: 'jute.maxbuffer', flag: 'max-buffer', kind: 'int', min: 1 },
  { key: 'snapCount', flag: 'snap-count', kind: 'int', min: 1 },
  { key: 'reconfigEnabled', flag: 'reconfig-enabled', kind: 'bool' },
  // ZooKeeper turns unknown zoo.cfg keys into zookeeper.* system properties, so this is where its super user is set.
  { key: 'DigestAuthenticationProvider.superDigest', flag: 'super-digest', kind: 'digest' },
  { key: 'superUser', flag: 'super-user', kind: 'name' },
  // Applied only under enforce.auth.enabled=true, as ZooKeeper's AuthenticationHelper does.
  { key: 'enforce.auth.schemes', flag: 'enforce-auth-schemes', kind: 'schemes' },
  // Zooid's own: the bus, which ZooKeeper does not have.
  { key: 'nats.servers', flag: 'nats', kind: 'urls' },
  { key: 'nats.nkey', flag: 'nats-nkey', kind: 'path' },
  { key: 'nats.creds', flag: 'nats-creds', kind: 'path' },
  { key: 'nats.tls.ca', flag: 'nats-tls-ca', kind: 'path' },
  { key: 'nats.tls.cert', flag: 'nats-tls-cert', kind: 'path' },
  { key: 'nats.tls.key', flag: 'nats-tls-key', kind: 'path' },
  { key: 'nats.preferFirst', flag: 'nats-prefer-first', kind: 'bool' },
];

/** ZooKeeper keys that have no meaning in Zooid, and why: warned about, never fatal. */
const NOT_APPLICABLE: Record<string, string> = {
  dataLogDir: 'Zooid keeps the transaction log in dataDir/log',
  peerType: 'observers are their own command, `zooid observer`',
  standaloneEnabled: 'an ensemble of one is `zooid member`',
  dynamicConfigFile: 'the configuration is replicated in the log (/zookeeper/config), not kept in a file',
  electionAlg: 'members elect over NATS with fast leader election only',
  electionPortBindRetry: 'members elect over NATS, not on an election port',
  quorumListenOnAllIPs: 'members talk over NATS, not on quorum ports',
  forceSync: 'Zooid always fsyncs before it acknowledges',
  syncEnabled: 'observers always log what they learn',
  leaderServes: 'the leader always serves the sessions pinned to it',
  'admin.enableServer': 'the gateway serves admin HTTP unless --admin-port is 0',
  'ssl.protocol': "Node's TLS defaults apply (TLS 1.2 and 1.3)",
  'ssl.enabledProtocols': "Node's TLS defaults apply (TLS 1.2 and 1.3)",
  'ssl.ciphersuites': "Node's TLS defaults apply",
  'ssl.hostnameVerification': 'a server does not verify client host names',
  serverCnxnFactory: 'the gateway is its own connection factory (TLS needs no Netty switch)',
};

export interface ServerEntry {
  id: string;
  /** The address part as written; Zooid members talk over NATS and never use it. */
  address: string;
  observer: boolean;
}

export interface LoadedConfig {
  file: string;
  /** Flag name → value, for the keys present. */
  flags: Record<string, string>;
  servers: ServerEntry[];
  warnings: string[];
}

/** A config file that cannot be used: it names the file, line, key and value. */
export class ConfigError extends Error {}

const FOUR_LETTER = /^[a-z]{4}$/;
const ADDRESS = /^(\[[0-9a-fA-F:.]+\]|[^\s:[\]|;]+):(\d+):(\d+)(?::(participant|observer))?$/;
const CLIENT_PART = /^(?:(\[[0-9a-fA-F:.]+\]|[^\s:[\]|;]+):)?(\d+)$/;

const isPort = (s: string) => /^\d+$/.test(s) && Number(s) >= 1 && Number(s) <= 65535;

/** Why `value` is not acceptable for `k`, or undefined when it is. */
function problem(k: ConfigKey, value: string): string | undefined {
  switch (k.kind) {
    case 'bool':
      return /^(true|false)$/i.test(value) ? undefined : 'must be true or false';
    case 'int': {
      const min = k.min ?? 0;
      if (!/^\d+$/.test(value) || !Number.isSafeInteger(Number(value)) || Number(value) < min) {
        return `must be an integer >= ${min}`;
      }
      return undefined;
    }
    case 'port':
      return isPort(value) ? undefined : 'must be a port number, 1 to 65535';
    case 'path':
    case 'host':
    case 'name':
      return value === '' ? 'must not be empty' : undefined;
    case 'schemes':
      return value.split(',').every((w) => /^[a-z0-9]+$/i.test(w.trim())) ? undefined : 'must be scheme names separated by commas';
    case 'urls':
      return value.split(',').every((u) => /^((nats|tls):\/\/)?[^\s,/]+$/.test(u.trim())) ? undefined : 'must be NATS URLs (nats:// or tls://host:port), separated by commas';
    case 'clientAuth':
      return /^(none|want|need)$/i.test(value) ? undefined : 'must be none, want or need';
    case 'digest':
      return /^[^:]+:[A-Za-z0-9+/]{27}=$/.test(value) ? undefined : 'must be user:base64(sha1(user:password))';
    case 'whitelist': {
      if (value === '*') return undefined;
      const words = value.split(',').map((w) => w.trim());
      return words.every((w) => FOUR_LETTER.test(w)) ? undefined : 'must be * or four-letter words separated by commas';
    }
  }
}

/**
 * One `server.N` value: `host:quorumPort:electionPort[:participant|observer]`,
 * several addresses separated by `|`, optionally `;[clientAddress:]clientPort`.
 */
function parseServer(id: string, value: string, where: string): ServerEntry {
  const bad = (why: string) => new ConfigError(`${where}: server.${id}=${value} is invalid: ${why}`);
  if (!/^\d+$/.test(id)) throw bad('the id after "server." must be a non-negative integer');
  const [addresses = '', client, ...more] = value.split(';');
  if (more.length > 0) throw bad('more than one ";"');
  let observer = false;
  for (const a of addresses.split('|')) {
    const m = ADDRESS.exec(a.trim());
    if (!m) throw bad('expected host:port:port[:participant|observer]');
    if (!isPort(m[2]!) || !isPort(m[3]!)) throw bad('ports must be 1 to 65535');
    if (m[4] === 'observer') observer = true;
  }
  if (client !== undefined) {
    const m = CLIENT_PART.exec(client.trim());
    if (!m || !isPort(m[2]!)) throw bad('expected ;[address:]clientPort after the addresses');
  }
  return { id: String(Number(id)), address: addresses, observer };
}

const STORE_KEY = /^ssl\.(keyStore|trustStore)\.(location|type|password)$/;
const STORE_TYPES: Record<string, string> = { pem: 'PEM', jks: 'JKS', p12: 'PKCS12', pkcs12: 'PKCS12', pfx: 'PKCS12', bcfks: 'BCFKS' };

/**
 * ZooKeeper's key and trust stores, where they are PEM files: the key store
 * (private key and certificate chain in one file) gives --ssl-key and
 * --ssl-cert, the trust store --ssl-ca. Other store types are refused with
 * the way to convert them; Node's TLS reads PEM.
 */
function applyStores(stores: Map<string, { value: string; where: string }>, out: LoadedConfig): void {
  for (const [store, flags] of [
    ['keyStore', ['ssl-cert', 'ssl-key']],
    ['trustStore', ['ssl-ca']],
  ] as const) {
    const location = stores.get(`ssl.${store}.location`);
    const type = stores.get(`ssl.${store}.type`);
    const password = stores.get(`ssl.${store}.password`);
    if (!location) {
      for (const other of [type, password]) if (other) out.warnings.push(`${other.where}: ignoring ssl.${store}.* without ssl.${store}.location`);
      continue;
    }
    if (location.value === '') throw new ConfigError(`${location.where}: invalid ssl.${store}.location=: must not be empty`);
    const named = type?.value.toUpperCase() || STORE_TYPES[location.value.split('.').at(-1)!.toLowerCase()] || 'unknown';
    if (named !== 'PEM') {
      throw new ConfigError(
        `${(type ?? location).where}: ssl.${store} ${location.value} is a ${named} store; Zooid reads PEM files (e.g. \`openssl pkcs12 -in store.p12 -out store.pem -nodes\`, or keytool -importkeystore to PKCS12 first)`,
      );
    }
    if (password && password.value !== '') out.warnings.push(`${password.where}: ignoring ssl.${store}.password: the PEM key must not be encrypted`);
    for (const flag of flags) out.flags[flag] = location.value;
  }
}

/** Splits a properties line into key and value as java.util.Properties does (no escapes). */
function splitLine(line: string): [string, string] {
  const m = /^([^=:\s]+)\s*[=:]?\s*(.*)$/.exec(line);
  return m ? [m[1]!, m[2]!.trim()] : [line, ''];
}

/** Parses zoo.cfg text. Throws ConfigError on the first invalid value. */
export function parseConfig(text: string, file = 'zoo.cfg'): LoadedConfig {
  const byKey = new Map(CONFIG_KEYS.map((k) => [k.key, k]));
  const out: LoadedConfig = { file, flags: {}, servers: [], warnings: [] };
  const seen = new Map<string, number>();
  let enforceAuth: boolean | undefined;
  const stores = new Map<string, { value: string; where: string }>();
  const servers = new Map<string, ServerEntry>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    const where = `${file}:${i + 1}`;
    const [key, value] = splitLine(line);
    const earlier = seen.get(key);
    if (earlier !== undefined) out.warnings.push(`${where}: ${key} repeats line ${earlier}; the later value wins`);
    seen.set(key, i + 1);
    if (key.startsWith('server.')) {
      const s = parseServer(key.slice('server.'.length), value, where);
      servers.set(s.id, s);
      continue;
    }
    if (STORE_KEY.test(key)) {
      stores.set(key, { value, where });
      continue;
    }
    if (key === 'enforce.auth.enabled') {
      if (!/^(true|false)$/i.test(value)) throw new ConfigError(`${where}: invalid ${key}=${value}: must be true or false`);
      enforceAuth = value.toLowerCase() === 'true';
      continue;
    }
    const k = byKey.get(key);
    if (k) {
      const why = problem(k, value);
      if (why) throw new ConfigError(`${where}: invalid ${key}=${value}: ${why}`);
      out.flags[k.flag] = value;
      continue;
    }
    const reason = NOT_APPLICABLE[key];
    out.warnings.push(reason ? `${where}: ignoring ${key}: ${reason}` : `${where}: unknown key "${key}" ignored`);
  }
  if (enforceAuth === true && out.flags['enforce-auth-schemes'] === undefined) {
    throw new ConfigError(`${file}: enforce.auth.enabled=true needs enforce.auth.schemes`);
  }
  if (enforceAuth !== true && out.flags['enforce-auth-schemes'] !== undefined) {
    out.warnings.push(`${file}: ignoring enforce.auth.schemes: enforce.auth.enabled is not true`);
    delete out.flags['enforce-auth-schemes'];
  }
  applyStores(stores, out);
  // As ZooKeeper: a secure port and no plain one is a TLS-only server.
  if (out.flags['secure-client-port'] !== undefined && out.flags['client-port'] === undefined) out.flags['client-port'] = 'none';
  out.servers = [...servers.values()].sort((a, b) => Number(a.id) - Number(b.id));
  const voters = out.servers.filter((s) => !s.observer).map((s) => s.id);
  if (voters.length > 0) out.flags.ensemble = voters.join(',');
  const min = out.flags['min-session-timeout'];
  const max = out.flags['max-session-timeout'];
  if (min !== undefined && max !== undefined && Number(min) > Number(max)) {
    throw new ConfigError(`${file}: minSessionTimeout=${min} is above maxSessionTimeout=${max}`);
  }
  return out;
}

/** Reads and parses a config file; an unreadable file is a ConfigError too. */
export function loadConfig(file: string): LoadedConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${file}: ${(err as Error).message}`);
  }
  return parseConfig(text, file);
}
