/**
 * `--health-port`: a role process answers ZooKeeper's `ruok` with `imok` on
 * a TCP port of its own, so a container's health check and a Kubernetes
 * probe can ask a member or an observer — which have no client port — the
 * same question they ask a gateway. Like ZooKeeper's ruok it says the process
 * runs and its event loop turns, nothing about quorum.
 */
import { createServer, type Server } from 'node:net';
import type { Logger } from '@zooid/runtime';

export interface HealthServer {
  port: number;
  close(): Promise<void>;
}

export function serveHealth(port: number, log: Logger, host = '0.0.0.0'): Promise<HealthServer> {
  const server: Server = createServer((socket) => {
    socket.setTimeout(5000, () => socket.destroy());
    socket.on('error', () => socket.destroy());
    let got = '';
    socket.on('data', (d) => {
      got += d.toString('latin1');
      if (got.length < 4) return;
      // Anything but ruok: closed unanswered, as ZooKeeper does for a word it will not run.
      if (got.startsWith('ruok')) socket.end('imok');
      else socket.destroy();
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const addr = server.address();
      const bound = typeof addr === 'object' && addr ? addr.port : port;
      log.info({ healthPort: bound }, 'answering ruok on the health port');
      resolve({ port: bound, close: () => new Promise((done) => server.close(() => done())) });
    });
  });
}
