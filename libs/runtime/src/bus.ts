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
