/**
 * `npm run bench -- --clients`: @zooid/client beside node-zookeeper-client
 * on the same server and the same load. Each measurement runs the library
 * in a child process of its own (client-worker.ts), one after the other, so
 * neither shares a heap, an event loop or a core with the other.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ZooKeeperClient } from '@zooid/client';
import { openSessions, prepareKeys, runLoad, type LoadResult, type Workload } from './load.js';
import type { System } from './systems.js';

export type ClientName = '@zooid/client' | 'node-zookeeper-client';
export const CLIENT_NAMES: ClientName[] = ['@zooid/client', 'node-zookeeper-client'];

export type WorkerTask =
  | { kind: 'load'; client: ClientName; connectString: string; workloads: Workload[] }
  | { kind: 'watches'; client: ClientName; connectString: string; parent: string; count: number };

export interface LoadOutcome {
  /** With the client process's CPU time (user + system) per request, in µs. */
  runs: (LoadResult & { cpuUsPerOp: number })[];
}

export interface WatchOutcome {
  watches: number;
  heapBeforeBytes: number;
  heapAfterBytes: number;
  rssBeforeBytes: number;
  rssAfterBytes: number;
}

export interface ClientResult {
  system: string;
  client: ClientName;
  runs: LoadOutcome['runs'];
  watches?: WatchOutcome & { heapPer10kBytes: number; rssPer10kBytes: number };
}

const WORKER = fileURLToPath(new URL('./client-worker.js', import.meta.url));

function runWorker<T>(task: WorkerTask): Promise<T> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', WORKER, JSON.stringify(task)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out) as T) : reject(new Error(`client bench worker exited with ${code}: ${err}`))));
  });
}

/** `count` empty znodes under `parent`, for the watches to be set on. */
async function makeWatchTargets(zk: ZooKeeperClient, parent: string, count: number): Promise<void> {
  await zk.create(parent).catch(() => undefined);
  for (let i = 0; i < count; i += 1000) {
    await Promise.all(Array.from({ length: Math.min(1000, count - i) }, (_, j) => zk.create(`${parent}/n${i + j}`).catch(() => undefined)));
  }
}

/**
 * Both clients on one system: the workloads, then (when `watchCount` > 0)
 * the memory of `watchCount` data watches. The server is warmed up with
 * every workload first (a JVM compiles its hot paths in the first seconds),
 * and the clients take turns per workload, in alternating order, so that
 * neither always meets the server first.
 */
export async function benchClients(sys: System, workloads: Workload[], watchCount: number, say: (line: string) => void): Promise<ClientResult[]> {
  const parent = '/bench-watches';
  const setup = await openSessions(sys.connectString, workloads[0]!.sessions);
  try {
    await prepareKeys(setup[0]!, workloads[0]!);
    if (watchCount > 0) await makeWatchTargets(setup[0]!, parent, watchCount);
    say(`${sys.name}: warming the server up…`);
    for (const w of workloads) await runLoad(setup, { ...w, warmupMs: 0, measureMs: Math.max(1000, w.warmupMs) }, () => undefined);
  } finally {
    await Promise.all(setup.map((c) => c.close()));
  }
  const results: ClientResult[] = CLIENT_NAMES.map((client) => ({ system: sys.name, client, runs: [] }));
  for (const [i, w] of workloads.entries()) {
    for (const result of i % 2 === 0 ? results : [...results].reverse()) {
      say(`${sys.name}: ${result.client}, ${w.readPercent}% reads…`);
      const { runs } = await runWorker<LoadOutcome>({ kind: 'load', client: result.client, connectString: sys.connectString, workloads: [w] });
      result.runs.push(...runs);
    }
  }
  if (watchCount > 0) {
    for (const result of results) {
      say(`${sys.name}: ${result.client}, ${watchCount} data watches…`);
      const m = await runWorker<WatchOutcome>({ kind: 'watches', client: result.client, connectString: sys.connectString, parent, count: watchCount });
      const per10k = 10_000 / m.watches;
      result.watches = { ...m, heapPer10kBytes: (m.heapAfterBytes - m.heapBeforeBytes) * per10k, rssPer10kBytes: (m.rssAfterBytes - m.rssBeforeBytes) * per10k };
    }
  }
  return results;
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** One row per system, client and workload, then @zooid/client against node-zookeeper-client, then memory. */
export function clientTable(results: ClientResult[]): string {
  const rows = [['system', 'client', 'reads', 'ops/s', 'p50 ms', 'p99 ms', 'cpu µs/op', 'errors']];
  for (const r of results) {
    for (const run of r.runs) rows.push([r.system, r.client, `${run.readPercent}%`, fmt(run.throughput), fmt(run.p50Ms, 2), fmt(run.p99Ms, 2), fmt(run.cpuUsPerOp, 1), String(run.errors)]);
  }
  for (const system of new Set(results.map((r) => r.system))) {
    const mine = results.find((r) => r.system === system && r.client === '@zooid/client');
    const theirs = results.find((r) => r.system === system && r.client === 'node-zookeeper-client');
    if (!mine || !theirs) continue;
    for (const run of mine.runs) {
      const other = theirs.runs.find((o) => o.readPercent === run.readPercent);
      if (!other) continue;
      const x = (a: number, b: number) => `${fmt(a / b, 2)}x`;
      rows.push([system, 'zooid/nzk', `${run.readPercent}%`, x(run.throughput, other.throughput), x(run.p50Ms, other.p50Ms), x(run.p99Ms, other.p99Ms), x(run.cpuUsPerOp, other.cpuUsPerOp), '']);
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) => r.map((c, i) => (i < 3 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  const mem = results.filter((r) => r.watches);
  if (mem.length > 0) {
    lines.push('', 'client memory per 10,000 data watches (after GC, client process only)');
    for (const r of mem) {
      const w = r.watches!;
      lines.push(`  ${r.system.padEnd(10)} ${r.client.padEnd(22)} heap ${fmt(w.heapPer10kBytes / 2 ** 20, 2)} MiB, resident ${fmt(w.rssPer10kBytes / 2 ** 20, 2)} MiB`);
    }
  }
  return lines.join('\n');
}
