/**
 * Starts real Zooid processes for integration tests: a nats-server on a free
 * port, a member and gateways, each a child process that the test stops by
 * pid. Tests wait on conditions with deadlines, never on fixed sleeps.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startNatsServer, freePort, waitForPort, ZOOID_BIN, type ManagedNats } from '@zooid/cli';

export interface Proc {
  name: string;
  child: ChildProcess;
  output: () => string;
  exited: Promise<void>;
}

export function startProc(name: string, args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, [ZOOID_BIN, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ZOOID_LOG_FORMAT: 'json', ...env },
  });
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-200_000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { name, child, output: () => out, exited };
}

export async function killProc(p: Proc, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill(signal);
  await p.exited;
}

export async function waitFor<T>(what: string, fn: () => T | Promise<T>, deadlineMs = 15_000, everyMs = 25): Promise<NonNullable<T>> {
  const until = Date.now() + deadlineMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface Standalone {
  nats: ManagedNats;
  dataDir: string;
  member: Proc;
  gateways: Proc[];
  ports: number[];
  connectString: string;
  restartMember(): Promise<void>;
  stop(): Promise<void>;
}

/** nats-server + one member + `gateways` gateways, as real processes. */
export async function startStandalone(
  opts: { gateways?: number; tickTime?: number; dataDir?: string; memberArgs?: string[]; memberEnv?: Record<string, string>; gatewayEnv?: Record<string, string> } = {},
): Promise<Standalone> {
  const nats = await startNatsServer();
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'zooid-test-'));
  const tick = String(opts.tickTime ?? 500);
  const memberArgs = ['member', '--nats', nats.url, '--data-dir', dataDir, '--tick-time', tick, ...(opts.memberArgs ?? [])];
  const ports: number[] = [];
  const gateways: Proc[] = [];
  const s: Standalone = {
    nats,
    dataDir,
    member: startProc('member', memberArgs, opts.memberEnv),
    gateways,
    ports,
    connectString: '',
    async restartMember() {
      await killProc(s.member);
      s.member = startProc('member', memberArgs, opts.memberEnv);
    },
    async stop() {
      await Promise.all([killProc(s.member, 'SIGTERM'), ...gateways.map((g) => killProc(g, 'SIGTERM'))]);
      await nats.stop();
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
  for (let i = 0; i < (opts.gateways ?? 1); i++) {
    const port = await freePort();
    ports.push(port);
    gateways.push(startProc(`gateway${i}`, ['gateway', '--nats', nats.url, '--id', `gw${i}`, '--client-port', String(port), '--host', '127.0.0.1', '--tick-time', tick, '--admin-port', '0', '--4lw-whitelist', '*'], opts.gatewayEnv));
  }
  await Promise.all(ports.map((p) => waitForPort(p)));
  await Promise.all(ports.map((p) => waitServing(p)));
  s.connectString = ports.map((p) => `127.0.0.1:${p}`).join(',');
  return s;
}

/** Sends a four-letter word and returns the whole answer. */
export function fourLetter(port: number, word: string, host = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host }, () => s.write(word));
    let out = '';
    s.on('data', (d) => (out += d.toString()));
    s.on('end', () => resolve(out));
    s.on('error', reject);
  });
}

/** Resolves once the gateway on `port` reaches a serving member. */
export async function waitServing(port: number, deadlineMs = 20_000): Promise<void> {
  await waitFor(`gateway ${port} serving`, async () => (await fourLetter(port, 'srvr')).includes('Mode:'), deadlineMs, 100);
}
