import { senderOf, unpack } from '@zooid/protocol';
import { connect, type NatsConnection } from '@nats-io/transport-node';
export { Empty, RequestError } from '@nats-io/transport-node';
import type { Logger } from './log.js';

export type { NatsConnection };

/** Connects to NATS and keeps reconnecting forever: a member outlives bus restarts. */
/** The bus could not be reached at start: a configuration problem worth one line, not a stack. */
export class BusUnreachable extends Error {
  /** Checked by code, so that a command line need not load the bus to recognise it. */
  readonly code = 'ZOOID_BUS_UNREACHABLE';
}

export async function connectBus(url: string, name: string, log: Logger): Promise<NatsConnection> {
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: url.split(','),
      name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 250,
      pingInterval: 5_000,
    });
  } catch (err) {
    throw new BusUnreachable(`cannot reach the bus at ${url}: ${(err as Error).message}`, { cause: err });
  }
  void (async () => {
    for await (const s of nc.status()) {
      if (s.type === 'disconnect' || s.type === 'reconnect') log.warn({ bus: s.type }, 'bus connection %s', s.type);
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
): { parts: E[][]; tooBig: E[] } {
  const limit = maxPayload(nc) - ENVELOPE;
  const sizes = entries.map(sizeOf);
  let total = 0;
  for (const s of sizes) total += s;
  if (total <= limit) return { parts: entries.length > 0 ? [entries] : [], tooBig: [] };
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
    if (bytes + s > limit && part.length > 0) {
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
