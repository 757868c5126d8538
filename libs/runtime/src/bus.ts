import { unpack } from '@zooid/protocol';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from './log.js';

export type { NatsConnection };

/** Connects to NATS and keeps reconnecting forever: a member outlives bus restarts. */
export async function connectBus(url: string, name: string, log: Logger): Promise<NatsConnection> {
  const nc = await connect({
    servers: url.split(','),
    name,
    maxReconnectAttempts: -1,
    reconnectTimeWait: 250,
    pingInterval: 5_000,
  });
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
 * Subscribes and hands each message, decoded, to `fn`. A message that does
 * not decode or that `fn` throws on is logged and dropped: bad input on the
 * bus never takes a process down.
 */
export function listen<T>(nc: NatsConnection, subject: string, log: Logger, fn: (msg: T) => void): { unsubscribe(): void } {
  return nc.subscribe(subject, {
    callback: (err, msg) => {
      if (err) return;
      try {
        fn(unpack<T>(msg.data));
      } catch (e) {
        log.warn({ err: e, subject }, 'dropped a bus message that could not be handled');
      }
    },
  });
}
