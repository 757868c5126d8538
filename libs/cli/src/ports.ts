import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';

/** Where the kernel's ports for outgoing connections begin (Linux's default when it cannot say). */
function ephemeralPortsFrom(): number {
  try {
    return Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]) || 32768;
  } catch {
    return 32768;
  }
}

/**
 * The first of n ports in a row, each free a moment ago on the given host
 * (`zooid up` gives its gateways ports counting up from the first). Chosen
 * at random below the kernel's ephemeral range: whoever asks binds them a
 * while later, and meanwhile any process's outgoing connection could take
 * an ephemeral one — a server then never listens.
 */
export async function freePorts(n: number, host = '127.0.0.1'): Promise<number> {
  const low = 10_000;
  const high = Math.max(low + 1000, ephemeralPortsFrom()) - n;
  for (;;) {
    const first = randomInt(low, high);
    // Any error but EADDRINUSE (a port not ours to bind) rules the port out as well.
    const taken = await Promise.all(Array.from({ length: n }, (_, i) => portInUse(first + i, host).catch(() => true)));
    if (!taken.some(Boolean)) return first;
  }
}

/** A TCP port that was free a moment ago on the given host: see freePorts. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return freePorts(1, host);
}

/** Whether listening on host:port would fail because something holds it. */
export function portInUse(port: number, host = '0.0.0.0'): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolve(true) : reject(err)));
    srv.listen(port, host, () => srv.close(() => resolve(false)));
  });
}

/** Resolves once something accepts TCP connections on host:port; rejects at the deadline. */
export async function waitForPort(port: number, host = '127.0.0.1', deadlineMs = 10_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect({ port, host }, () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() > until) throw new Error(`nothing listened on ${host}:${port} within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
