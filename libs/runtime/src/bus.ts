import { readFileSync, statSync } from 'node:fs';
import { identityName, inboxPrefix, senderOf, unpack, type BusIdentity } from '@zooid/protocol';
import { connect, credsAuthenticator, nkeyAuthenticator, type Authenticator, type NatsConnection, type TlsOptions } from '@nats-io/transport-node';
export { Empty, RequestError } from '@nats-io/transport-node';
import type { Logger } from './log.js';

export type { NatsConnection };

/** Where the bus is and how to prove who we are to it: the --nats* flags. */
export interface BusConfig {
  /** Server URLs, comma-separated; a tls:// URL asks for TLS. */
  servers: string;
  /** A user nkey seed file (`SU…`): the identity nats-server's permissions are written for. */
  nkey?: string;
  /** A credentials file (user JWT and seed), for a bus run with an operator and accounts. */
  creds?: string;
  /** CA certificate(s) the servers' certificates must chain to; given, TLS is required. */
  tlsCa?: string;
  /** A client certificate and its key, for servers that verify clients' certificates. */
  tlsCert?: string;
  tlsKey?: string;
  /**
   * Connect to the servers in the order given, the first while it is up,
   * instead of to one at random: processes that share a machine and its
   * nats-server then send each message through that one server, not across
   * the routes between servers (each hop a TLS route and one more server
   * routing the message). The others are there for failover.
   */
  preferFirst?: boolean;
}

/** The bus could not be reached at start: a configuration problem worth one line, not a stack. */
export class BusUnreachable extends Error {
  /** Checked by code, so that a command line need not load the bus to recognise it. */
  readonly code = 'ZOOID_BUS_UNREACHABLE';
}

/** A credential file that must not be used as it is: missing, unreadable, or readable by others. */
export class BusCredentialsError extends Error {
  readonly code = 'ZOOID_BUS_CREDENTIALS';
}

/**
 * Reads a file that holds a secret, refusing it as ssh refuses a private
 * key: when it belongs to us and group or others may access it. A file
 * owned by someone else (root, as Kubernetes mounts secrets) was handed to
 * us on purpose and is taken as it is.
 */
export function readSecretFile(file: string, what: string): Buffer {
  try {
    const st = statSync(file);
    if (st.uid === process.getuid?.() && (st.mode & 0o077) !== 0) {
      const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
      throw new BusCredentialsError(`${what} ${file}: permissions ${mode} are too open; it must be accessible by its owner only (chmod 600 ${file})`);
    }
    return readFileSync(file);
  } catch (err) {
    if (err instanceof BusCredentialsError) throw err;
    throw new BusCredentialsError(`${what} ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
}

/** The user seed in an nkey file: its first line that is one, so a comment may precede it. */
export function readNkeySeed(file: string): string {
  const line = readSecretFile(file, '--nats-nkey')
    .toString('utf8')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .find((l) => /^SU[A-Z2-7]+$/.test(l));
  if (!line) throw new BusCredentialsError(`--nats-nkey ${file}: no user nkey seed (a line starting with SU) in the file`);
  return line;
}

/**
 * The file's content now, read again at every connect so that a rotated key
 * is used from the next reconnect on, without a restart. At start a bad
 * file is an error; later the last good content stands in for a file that
 * is missing or refused.
 */
function rereading(read: () => Uint8Array): () => Uint8Array {
  let last = read();
  return () => {
    try {
      last = read();
    } catch {
      // keep the last good one
    }
    return last;
  };
}

function authenticator(bus: BusConfig): Authenticator | undefined {
  if (bus.nkey && bus.creds) throw new BusCredentialsError('give --nats-nkey or --nats-creds, not both');
  const { nkey, creds } = bus;
  if (nkey) return nkeyAuthenticator(rereading(() => new TextEncoder().encode(readNkeySeed(nkey))));
  if (creds) return credsAuthenticator(rereading(() => readSecretFile(creds, '--nats-creds')));
  return undefined;
}

/** TLS options when anything asks for TLS (a CA, a client certificate, a tls:// URL); undefined leaves it to the server. */
function tlsOptions(bus: BusConfig, servers: string[]): TlsOptions | undefined {
  if (bus.tlsKey) readSecretFile(bus.tlsKey, '--nats-tls-key');
  if ((bus.tlsCert === undefined) !== (bus.tlsKey === undefined)) throw new BusCredentialsError('--nats-tls-cert and --nats-tls-key go together');
  const wanted = bus.tlsCa !== undefined || bus.tlsCert !== undefined || servers.some((s) => s.startsWith('tls://'));
  return wanted ? { caFile: bus.tlsCa, certFile: bus.tlsCert, keyFile: bus.tlsKey } : undefined;
}

/**
 * How often the client pings its server, and how many pings may go
 * unanswered. nats.js's defaults (2 minutes) would leave a member talking to
 * a frozen (SIGSTOPped) server for minutes; at these a dead server is left
 * within 1.5–2 s. One unanswered ping is not enough: an event loop blocked
 * for a while (a large snapshot) reads the pong only after the next timer.
 */
const PING_INTERVAL_MS = 500;
const MAX_PINGS_OUT = 3;
const HANDSHAKE_TIMEOUT_MS = 2000;

/**
 * Connects as `who` and keeps reconnecting forever, across the whole server
 * list: a member outlives restarts of the bus and of any of its servers. A
 * server that cannot be reached at the first connect drops out of the
 * client's list (nats.js does so), and comes back from the servers' gossip,
 * which is why they advertise the names clients know them by.
 */
export async function connectBus(bus: BusConfig, who: BusIdentity, log: Logger): Promise<NatsConnection> {
  const servers = bus.servers.split(',').map((s) => s.trim()).filter(Boolean);
  // Credential files are read first: a bad one is the operator's to fix, not a bus to wait for.
  const tls = tlsOptions(bus, servers);
  const auth = authenticator(bus);
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers,
      name: `zooid-${identityName(who)}`,
      authenticator: auth,
      tls,
      // Replies come to this identity's own inbox, the only one its permissions let it read.
      inboxPrefix: inboxPrefix(who),
      noRandomize: bus.preferFirst === true,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      pingInterval: PING_INTERVAL_MS,
      maxPingOut: MAX_PINGS_OUT,
      // A frozen server accepts TCP connections and never says hello: give up on it soon.
      timeout: HANDSHAKE_TIMEOUT_MS,
      // nats.js would redial the server it just lost first; dial the one tried longest ago.
      reconnectToServer: (pool) => pool.reduce((a, b) => (b.lastConnect < a.lastConnect ? b : a)),
    });
  } catch (err) {
    throw new BusUnreachable(`cannot reach the bus at ${bus.servers}: ${(err as Error).message}`, { cause: err });
  }
  // It reconnects forever, except when refused twice in a row (a revoked
  // key): then this process cannot do its job. It stops as if asked to,
  // failed, and whoever supervises it starts it again with the current key.
  void nc.closed().then((err) => {
    if (!err) return;
    log.error({ err: err.message }, 'the bus refused this process; stopping');
    process.exitCode = 1;
    process.kill(process.pid, 'SIGTERM');
  });
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnect') log.warn({ bus: s.type, server: s.server }, 'bus connection %s', s.type);
      else if (s.type === 'staleConnection') log.warn({ bus: s.type }, 'bus server stopped answering pings; trying the next');
      // A permission the bus refused: a deployment whose permissions and code disagree.
      else if (s.type === 'error') log.error({ bus: s.type, err: s.error.message }, 'bus error');
    }
  })();
  return nc;
}

/** Drains the connection, but never waits on a bus that has gone away. */
export async function closeBus(nc: NatsConnection, deadlineMs = 2000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, deadlineMs)));
  await Promise.race([nc.drain().catch(() => undefined), deadline]);
  clearTimeout(timer);
  if (!nc.isClosed()) await nc.close().catch(() => undefined);
}

/**
 * Subscribes and hands each message, decoded, to `fn` with its sender: the
 * last token of the subject it came on, which the bus's permissions bind to
 * the identity that published it. A message that does not decode or that
 * `fn` throws on is logged and dropped: bad input on the bus never takes a
 * process down.
 */
export function listen<T>(nc: NatsConnection, subject: string, log: Logger, fn: (msg: T, sender: string, subject: string) => void): { unsubscribe(): void } {
  return nc.subscribe(subject, {
    callback: (err, msg) => {
      if (err) return;
      try {
        fn(unpack<T>(msg.data), senderOf(msg.subject), msg.subject);
      } catch (e) {
        log.warn({ err: e, subject }, 'dropped a bus message that could not be handled');
      }
    },
  });
}

/** nats-server's max_payload when the server has not said (its default). */
const DEFAULT_MAX_PAYLOAD = 1024 * 1024;
/** Room kept in every message for the envelope around a batch's entries. */
const ENVELOPE = 4096;

/** The largest message the connected server accepts. */
export function maxPayload(nc: NatsConnection): number {
  return nc.info?.max_payload ?? DEFAULT_MAX_PAYLOAD;
}

/**
 * An upper bound of a value's msgpack size, in the time it takes to walk a
 * small tuple: byte arrays and strings count in full, everything else as a
 * few bytes. Good enough to keep a batch under max_payload.
 */
export function packedSizeBound(v: unknown): number {
  if (v instanceof Uint8Array) return v.byteLength + 5;
  if (typeof v === 'string') return v.length * 3 + 5;
  if (Array.isArray(v)) {
    let n = 5;
    for (const x of v) n += packedSizeBound(x);
    return n;
  }
  if (v !== null && typeof v === 'object') {
    let n = 5;
    for (const [k, x] of Object.entries(v)) n += k.length * 3 + 5 + packedSizeBound(x);
    return n;
  }
  return 9;
}

/**
 * Splits a batch into consecutive parts that each fit one bus message. NATS
 * refuses (publish throws) a message above the server's max_payload, and one
 * turn of the event loop can gather more than that. Entries that cannot fit
 * even alone are left out, in `tooBig`, for the caller to refuse; the parts
 * keep the order of the rest. The common case, one small batch, costs one
 * walk and no copy.
 */
export function splitForPayload<E>(
  nc: NatsConnection,
  entries: E[],
  sizeOf: (e: E) => number = packedSizeBound,
  /** Never leave anything out: an entry too large goes alone in its own part, and its publish will throw. */
  keepAll = false,
  /** Parts of at most this many bytes where the server would take more; an entry larger than this but within max_payload goes alone. */
  partBytes = Number.POSITIVE_INFINITY,
): { parts: E[][]; tooBig: E[] } {
  const limit = maxPayload(nc) - ENVELOPE;
  const soft = Math.min(limit, partBytes);
  const sizes = entries.map(sizeOf);
  let total = 0;
  for (const s of sizes) total += s;
  if (total <= soft) return { parts: entries.length > 0 ? [entries] : [], tooBig: [] };
  const parts: E[][] = [];
  const tooBig: E[] = [];
  let part: E[] = [];
  let bytes = 0;
  entries.forEach((e, i) => {
    const s = sizes[i]!;
    if (s > limit && !keepAll) {
      tooBig.push(e);
      return;
    }
    if (bytes + s > soft && part.length > 0) {
      parts.push(part);
      part = [];
      bytes = 0;
    }
    part.push(e);
    bytes += s;
  });
  if (part.length > 0) parts.push(part);
  return { parts, tooBig };
}

const impostors = new Map<string, number>();

/**
 * Drops a message whose claims disagree with the subject it came on (a
 * forgery, or a confused sender). The first from each subject is logged,
 * then every thousandth, so a flood cannot fill the log.
 */
export function dropImpostor(log: Logger, subject: string, detail: Record<string, unknown>): void {
  // Senders choose the subject's last token: forget everything rather than grow without bound.
  if (impostors.size >= 1000 && !impostors.has(subject)) impostors.clear();
  const n = (impostors.get(subject) ?? 0) + 1;
  impostors.set(subject, n);
  if (n === 1 || n % 1000 === 0) log.warn({ subject, dropped: n, ...detail }, 'dropped a bus message whose sender does not match its subject');
}
