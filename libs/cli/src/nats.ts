import { spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { freePort, waitForPort } from './ports.js';

export class MissingNatsServer extends Error {
  constructor() {
    super('nats-server not found on PATH: install the Debian package `nats-server` (apt-get install nats-server) or pass --nats URL');
  }
}

/** Debian installs nats-server in /usr/sbin, which is not on every user's PATH. */
export function findNatsServer(): string {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin', '/usr/local/bin'];
  for (const d of dirs) {
    if (!d) continue;
    const p = join(d, 'nats-server');
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      continue;
    }
  }
  throw new MissingNatsServer();
}

export interface ManagedNats {
  url: string;
  port: number;
  child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * Runs nats-server under a small Node guard that watches a pipe from this
 * process: nats-server cannot notice its parent dying, the guard can, so a
 * supervisor killed with SIGKILL leaves no orphaned bus behind. SIGHUP,
 * nats-server's "reload your configuration", is passed on, not obeyed.
 */
const GUARD = `
const { spawn } = require('node:child_process');
const nats = spawn(process.argv[1], process.argv.slice(2), { stdio: ['ignore', 'ignore', 'inherit'] });
const stop = () => nats.kill('SIGTERM');
process.stdin.on('end', stop).on('error', stop).resume();
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('SIGHUP', () => nats.kill('SIGHUP'));
nats.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 1)));
`;

/**
 * The bus carries whole client frames, and ZooKeeper allows requests and
 * nodes of jute.maxbuffer (1 MiB) plus framing: nats-server's default
 * max_payload of 1 MiB is too small for them. 8 MiB is NATS's advised ceiling.
 */
export const NATS_MAX_PAYLOAD = 8 * 1024 * 1024;

/** Starts a real nats-server on a free loopback port and waits until it accepts connections: no authentication, no TLS. */
export async function startNatsServer(opts: { port?: number; host?: string } = {}): Promise<ManagedNats> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? (await freePort(host));
  // max_payload has no command-line flag; the file is read once at start.
  const confDir = mkdtempSync(join(tmpdir(), 'zooid-nats-'));
  const conf = join(confDir, 'nats.conf');
  writeFileSync(conf, `max_payload: ${NATS_MAX_PAYLOAD}\n`);
  const nats = await runNats(['-c', conf, '-a', host, '-p', String(port)], `nats://${host}:${port}`, port, host);
  nats.child.once('exit', () => rmSync(confDir, { recursive: true, force: true }));
  return nats;
}

/** Starts nats-server with a configuration written by provisionBus, and waits until it accepts connections. */
export function startConfiguredNats(server: { conf: string; url: string; port: number; listen: string }): Promise<ManagedNats> {
  const host = server.listen === '0.0.0.0' ? '127.0.0.1' : server.listen;
  return runNats(['-c', server.conf], server.url, server.port, host);
}

/**
 * A managed nats-server shares its machine with the members and gateways it
 * carries, which are busy exactly when it is. With a Go processor per core,
 * its scheduler spins threads looking for work after every short wakeup, and
 * that spinning takes the cores the members need: one processor cut its CPU
 * per request by a quarter at 80 % reads on two cores, and one processor
 * still routes far more messages a second than an ensemble sends. A
 * GOMAXPROCS the user set is kept.
 */
export function natsEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return env.GOMAXPROCS ? env : { ...env, GOMAXPROCS: '1' };
}

async function runNats(args: string[], url: string, port: number, host: string): Promise<ManagedNats> {
  const bin = findNatsServer();
  // Its own process group: Ctrl-C in a terminal signals the whole foreground
  // group, and the bus must outlive the members that are still shutting down
  // on it. The supervisor stops it last; the pipe still catches the supervisor's death.
  const child = spawn(process.execPath, ['-e', GUARD, bin, ...args], { stdio: ['pipe', 'ignore', 'pipe'], detached: true, env: natsEnv(process.env) });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  try {
    await Promise.race([
      waitForPort(port, host),
      exited.then(() => {
        throw new Error(`nats-server exited at start: ${stderr.trim()}`);
      }),
    ]);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  return {
    url,
    port,
    child,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await exited;
    },
  };
}
