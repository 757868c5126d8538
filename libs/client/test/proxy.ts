/**
 * A TCP proxy in front of a server, to take connections away from a client:
 * `cut()` drops every open connection, `refuse(true)` closes new ones at once.
 */
import { createServer, connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface Proxy {
  port: number;
  connections: () => number;
  cut(): void;
  refuse(on: boolean): void;
  stop(): Promise<void>;
}

export async function startProxy(targetPort: number, host = '127.0.0.1'): Promise<Proxy> {
  const open = new Set<Socket>();
  let refusing = false;
  const server = createServer((client) => {
    if (refusing) {
      client.destroy();
      return;
    }
    const upstream = connect({ port: targetPort, host });
    open.add(client);
    open.add(upstream);
    const done = () => {
      client.destroy();
      upstream.destroy();
      open.delete(client);
      open.delete(upstream);
    };
    client.on('error', done).on('close', done);
    upstream.on('error', done).on('close', done);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, host, () => r()));
  const cut = () => {
    for (const s of open) s.destroy();
    open.clear();
  };
  return {
    port: (server.address() as AddressInfo).port,
    connections: () => open.size / 2,
    cut,
    refuse(on) {
      refusing = on;
    },
    async stop() {
      cut();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
