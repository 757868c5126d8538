/**
 * `npm run soak -- --minutes N`: a `zooid up` cluster (3 voters, 1 observer,
 * 2 gateways, its 3-server bus) under a well-behaved mixed load, the abusive
 * clients of issue 12 and a fault every minute or so (the leader killed, a
 * follower frozen, a gateway killed, a bus server killed), for as long as
 * asked. It reports the resident size of every process over time, the
 * well-behaved clients' p99 and errors per window, and at the end whether
 * every member holds the same tree.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { ZOOID_BIN, freePorts } from '@zooid/cli';
import type { ZooKeeperClient } from '@zooid/client';
import { abandonsConnects, floodsBeforeSession, neverReads, type Abuser } from './abusers.js';
import { openSessions, prepareKeys, runLoad, type LoadResult } from './load.js';
import { clusterProcesses, residentBytes } from './procs.js';
import { askMembers } from './presence-board.js';

const USAGE = `usage: npm run soak -- [flags]

Runs zooid up (3 voting members, 1 observer, 2 gateways, a bus of 3
nats-servers) under a mixed load from well-behaved clients, beside abusive
clients (one that never reads its replies, one that floods megabyte frames
before its session exists, a stream of abandoned connects from the future)
and a fault every --fault-every seconds, in turn: the leader killed, a
follower frozen for 5 s, a gateway killed, a nats-server killed. Reports the
resident size of every process, the well-behaved clients' p99 and errors
per window, and whether every member holds the same tree at the end.

  --minutes 30          how long to run
  --window 10           seconds per measurement window
  --fault-every 60      seconds between faults (0: none)
  --no-abuse            without the abusive clients
  --out DIR             where results go (default bench/results)
`;

interface Window {
  atS: number;
  load: LoadResult;
  /** Resident bytes by process label. */
  rss: Record<string, number>;
  fault?: string;
}

interface StatusView {
  members: { id: string; role: string; pid: number }[];
}

function status(dataDir: string): Promise<StatusView> {
  return new Promise((resolve, reject) =>
    execFile(process.execPath, [ZOOID_BIN, 'status', '--json', '--data-dir', dataDir, '--wait-ms', '1500'], { timeout: 20_000 }, (err, stdout) => {
      // Exit code 1 only says no leader was heard; the view is still printed.
      try {
        resolve(JSON.parse(stdout) as StatusView);
      } catch {
        reject(err ?? new Error('zooid status printed no JSON'));
      }
    }),
  );
}

/** The faults, in turn; each returns what it did, or undefined when its target was not found. */
function faults(dataDir: string, root: number): (() => Promise<string | undefined>)[] {
  const kill = (label: string | undefined, signal: NodeJS.Signals) => {
    const pid = label && clusterProcesses(root).get(label);
    if (!pid) return undefined;
    process.kill(pid, signal);
    return `${signal} ${label}`;
  };
  return [
    async () => {
      const leader = (await status(dataDir)).members.find((m) => m.role === 'leading');
      return kill(leader && `member-${leader.id}`, 'SIGKILL');
    },
    async () => {
      const follower = (await status(dataDir)).members.find((m) => m.role === 'following');
      const done = kill(follower && `member-${follower.id}`, 'SIGSTOP');
      if (done) setTimeout(() => kill(`member-${follower!.id}`, 'SIGCONT'), 5000);
      return done && `${done} for 5 s`;
    },
    async () => kill('gateway-gw2', 'SIGKILL'),
    async () => kill('nats-2', 'SIGKILL'),
  ];
}

/** Every member's zxid and digest, asked over the bus as `zooid status` would. */
async function membersTrees(dataDir: string, ids: string[]): Promise<{ id: string; zxid: number; digest: string }[]> {
  const answers = await askMembers<{ zxid: number; digest: string }>(dataDir, ids, { command: 'mntr' });
  return answers.map((r, i) => ({ id: ids[i]!, zxid: Number(r.zxid), digest: r.digest }));
}

/** Waits until every member and observer (`ids`) answers with one zxid and one digest, or the deadline passes. */
async function converged(dataDir: string, ids: string[], deadlineMs: number): Promise<{ ok: boolean; trees: { id: string; zxid: number; digest: string }[] }> {
  const until = Date.now() + deadlineMs;
  let trees: { id: string; zxid: number; digest: string }[] = [];
  for (;;) {
    try {
      trees = await membersTrees(dataDir, ids);
      if (new Set(trees.map((t) => `${t.zxid}/${t.digest}`)).size === 1) return { ok: true, trees };
    } catch {
      // a member restarting: ask again
    }
    if (Date.now() > until) return { ok: false, trees };
    await new Promise((r) => setTimeout(r, 1000));
  }
}

function waitServing(port: number, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  return new Promise((resolve, reject) => {
    const attempt = () =>
      execFile(process.execPath, [ZOOID_BIN, 'shell', `127.0.0.1:${port}`, '-c', 'ls /'], { timeout: 10_000 }, (err) => {
        if (!err) return resolve();
        if (Date.now() > until) return reject(new Error(`nothing served on ${port} within ${deadlineMs} ms`));
        setTimeout(attempt, 500);
      });
    attempt();
  });
}

/** A line chart of each process's resident size over the run, as a standalone SVG. */
export function rssChart(windows: Window[]): string {
  const labels = [...new Set(windows.flatMap((w) => Object.keys(w.rss)))].sort();
  const W = 720;
  const H = 360;
  const left = 70;
  const bottom = 40;
  const maxMiB = Math.max(1, ...windows.flatMap((w) => Object.values(w.rss).map((b) => b / 2 ** 20)));
  const maxS = Math.max(1, ...windows.map((w) => w.atS));
  const x = (s: number) => left + ((W - left - 150) * s) / maxS;
  const y = (mib: number) => H - bottom - ((H - bottom - 30) * mib) / maxMiB;
  const colors = ['#2b7bb9', '#e07b39', '#4caf50', '#9c27b0', '#795548', '#e91e63', '#607d8b', '#ff9800', '#00bcd4', '#8bc34a'];
  const parts = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`];
  parts.push(`<text x="${(W - 150) / 2}" y="16" text-anchor="middle" font-size="14">Resident size (MiB) per process over the soak (s)</text>`);
  for (let t = 0; t <= 4; t++) {
    const v = (maxMiB * t) / 4;
    parts.push(`<line x1="${left}" y1="${y(v)}" x2="${W - 150}" y2="${y(v)}" stroke="#ddd"/><text x="${left - 6}" y="${y(v) + 4}" text-anchor="end">${v.toFixed(0)}</text>`);
  }
  for (const w of windows.filter((w) => w.fault)) parts.push(`<line x1="${x(w.atS)}" y1="30" x2="${x(w.atS)}" y2="${H - bottom}" stroke="#f44" stroke-dasharray="3,3"><title>${w.fault}</title></line>`);
  parts.push(`<text x="${(W - 150) / 2}" y="${H - 8}" text-anchor="middle">seconds (dashed: a fault)</text>`);
  labels.forEach((label, i) => {
    const pts = windows.filter((w) => w.rss[label] !== undefined).map((w) => `${x(w.atS).toFixed(1)},${y(w.rss[label]! / 2 ** 20).toFixed(1)}`);
    parts.push(`<polyline fill="none" stroke="${colors[i % colors.length]}" stroke-width="1.5" points="${pts.join(' ')}"/>`);
    parts.push(`<rect x="${W - 140}" y="${30 + i * 16}" width="10" height="10" fill="${colors[i % colors.length]}"/><text x="${W - 125}" y="${39 + i * 16}">${label}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}

export async function soakMain(argv: string[]): Promise<boolean> {
  const { values } = parseArgs({
    args: argv,
    options: {
      minutes: { type: 'string', default: '30' },
      window: { type: 'string', default: '10' },
      'fault-every': { type: 'string', default: '60' },
      'no-abuse': { type: 'boolean', default: false },
      out: { type: 'string', default: 'bench/results' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return true;
  }
  const num = (name: 'minutes' | 'window' | 'fault-every') => {
    const n = Number(values[name]);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number`);
    return n;
  };
  const totalMs = num('minutes') * 60_000;
  const windowMs = Math.max(1, num('window')) * 1000;
  const faultEveryMs = num('fault-every') * 1000;
  const abuse = !values['no-abuse'];

  const dir = mkdtempSync(join(tmpdir(), 'zooid-soak-'));
  // Two gateways: the second's port counts up from the first's.
  const port = await freePorts(2);
  const up: ChildProcess = spawn(process.execPath, [ZOOID_BIN, 'up', '--followers', '3', '--observers', '1', '--gateways', '2', '--client-port', String(port), '--admin-port', '0', '--data-dir', dir], {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, ZOOID_LOG_LEVEL: 'error' },
  });
  const abusers: Abuser[] = [];
  let clients: ZooKeeperClient[] = [];
  try {
    await waitServing(port, 60_000);
    await waitServing(port + 1, 30_000);
    clients = await openSessions(`127.0.0.1:${port},127.0.0.1:${port + 1}`, 8);
    const base = { sessions: 8, inflight: 4, keys: 100, valueBytes: 100, warmupMs: 0, measureMs: windowMs, readPercent: 80 };
    await prepareKeys(clients[0]!, base);
    await clients[0]!.create('/soak-big', Buffer.alloc(1_000_000, 0x42)).catch(() => undefined);
    if (abuse) abusers.push(neverReads('127.0.0.1', port, '/soak-big'), floodsBeforeSession('127.0.0.1', port), abandonsConnects('127.0.0.1', port));
    const faultList = faults(dir, up.pid!);
    const windows: Window[] = [];
    const start = Date.now();
    let nextFault = faultEveryMs > 0 ? start + faultEveryMs : Infinity;
    let f = 0;
    while (Date.now() - start < totalMs) {
      let fault: string | undefined;
      if (Date.now() >= nextFault) {
        fault = (await faultList[f++ % faultList.length]!().catch((err: unknown) => `fault failed: ${String(err)}`)) ?? 'fault skipped: no target';
        nextFault += faultEveryMs;
      }
      const load = await runLoad(clients, base, () => undefined);
      const rss: Record<string, number> = {};
      for (const [label, pid] of clusterProcesses(up.pid!)) rss[label] = residentBytes([pid]);
      const w: Window = { atS: Math.round((Date.now() - start) / 1000), load, rss, fault };
      windows.push(w);
      const total = Object.values(rss).reduce((a, b) => a + b, 0);
      process.stderr.write(`${String(w.atS).padStart(5)} s  ${load.throughput.toFixed(0).padStart(6)} ops/s  p99 ${load.p99Ms.toFixed(1).padStart(7)} ms  errors ${String(load.errors).padStart(4)}  cluster ${(total / 2 ** 20).toFixed(0)} MiB${fault ? `  (${fault})` : ''}\n`);
    }
    const abuseStats = abusers.map((a) => ({ name: a.name, connections: a.connections }));
    for (const a of abusers.splice(0)) a.stop();
    const replicas = [...clusterProcesses(up.pid!).keys()].filter((l) => /^(member|observer)-/.test(l)).map((l) => l.slice(l.indexOf('-') + 1));
    const end = await converged(dir, replicas, 60_000);
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    mkdirSync(values.out!, { recursive: true });
    const summary = summarize(windows, abuseStats, end.ok);
    writeFileSync(join(values.out!, `soak-${stamp}.json`), JSON.stringify({ windows, converged: end, abusers: abuseStats }, null, 2) + '\n');
    writeFileSync(join(values.out!, `soak-${stamp}.svg`), rssChart(windows));
    process.stdout.write(`${summary}\nmembers: ${end.trees.map((t) => `${t.id} 0x${t.zxid.toString(16)} ${t.digest}`).join(', ')} — ${end.ok ? 'one tree' : 'NOT CONVERGED'}\nresults: ${join(values.out!, `soak-${stamp}.json`)}\nchart:   ${join(values.out!, `soak-${stamp}.svg`)}\n`);
    return end.ok;
  } finally {
    for (const a of abusers) a.stop();
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    const exited = new Promise<void>((r) => (up.exitCode !== null ? r() : up.once('exit', () => r())));
    up.kill('SIGTERM');
    await exited;
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Per process: resident size after the first fifth of the run (warm-up), at its peak, and at the end; then the load and the abusers. */
function summarize(windows: Window[], abusers: { name: string; connections: number }[], converged: boolean): string {
  const warm = windows[Math.floor(windows.length / 5)] ?? windows[0]!;
  const last = windows.at(-1)!;
  const labels = [...new Set(windows.flatMap((w) => Object.keys(w.rss)))].sort();
  const mib = (b: number | undefined) => (b === undefined ? '-' : (b / 2 ** 20).toFixed(0));
  const lines = ['process        warm MiB  peak MiB  end MiB'];
  for (const l of labels) lines.push(`${l.padEnd(14)} ${mib(warm.rss[l]).padStart(8)}  ${mib(Math.max(...windows.map((w) => w.rss[l] ?? 0))).padStart(8)}  ${mib(last.rss[l]).padStart(7)}`);
  const p99s = windows.map((w) => w.load.p99Ms).sort((a, b) => a - b);
  const errors = windows.reduce((a, w) => a + w.load.errors, 0);
  for (const a of abusers) lines.push(`abuser ${a.name}: ${a.connections} connections`);
  lines.push(`well-behaved clients: p99 median ${p99s[Math.floor(p99s.length / 2)]!.toFixed(1)} ms, worst ${p99s.at(-1)!.toFixed(1)} ms; ${errors} errors over ${windows.length} windows; faults: ${windows.filter((w) => w.fault).length}; converged: ${converged}`);
  return lines.join('\n');
}
