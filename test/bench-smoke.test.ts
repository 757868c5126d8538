/**
 * The benchmark is not a test: this only keeps `npm run bench` working, on
 * Zooid alone for a few seconds. Nothing here asserts a timing.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const out = mkdtempSync(join(tmpdir(), 'zooid-bench-smoke-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** `npm run bench` with these arguments: its exit code and everything it printed. */
async function runBench(args: string[]): Promise<{ code: number | null; text: string }> {
  const child = spawn(process.execPath, ['bench/run.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout.on('data', (d) => (text += d));
  child.stderr.on('data', (d) => (text += d));
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
  return { code, text };
}

describe('npm run bench (smoke)', () => {
  it('runs end to end on Zooid and writes its results and chart', async () => {
    const args = ['--only', 'zooid', '--workload', '0,80', '--duration', '1', '--warmup', '0.5', '--sessions', '2', '--inflight', '4', '--znodes', '500', '--out', out];
    const { code, text } = await runBench(args);
    expect(code, text).toBe(0);
    expect(text).toMatch(/zooid\s+80%/);
    const files = readdirSync(out);
    const json = files.find((f) => f.endsWith('.json'));
    expect(files.some((f) => f.endsWith('.svg'))).toBe(true);
    const record = JSON.parse(readFileSync(join(out, json!), 'utf8'));
    const zooid = record.results.find((r: { system: string }) => r.system === 'zooid');
    expect(zooid.runs.map((r: { readPercent: number }) => r.readPercent)).toEqual([0, 80]);
    for (const r of zooid.runs) {
      expect(r.ops).toBeGreaterThan(0);
      expect(r.errors).toBe(0);
    }
    expect(zooid.memory.znodes).toBe(500);
    // The members' live heap, each after the full collection the bench asked for.
    expect(zooid.memory.heapAfterBytes).toBeGreaterThan(0);
    expect(Number.isFinite(zooid.memory.heapPerZnode)).toBe(true);
    expect(text).toMatch(/live heap of the members after a full collection/);
  }, 180_000);

  it('--clients runs both clients on Zooid and reports load and watch memory for each', async () => {
    const dir = join(out, 'clients');
    const args = ['--clients', '--only', 'zooid', '--workload', '0,100', '--duration', '1', '--warmup', '0.5', '--sessions', '2', '--inflight', '4', '--watches', '200', '--out', dir];
    const { code, text } = await runBench(args);
    expect(code, text).toBe(0);
    expect(text).toMatch(/zooid\s+zooid\/nzk\s+100%/);
    const json = readdirSync(dir).find((f) => f.endsWith('-clients.json'));
    const record = JSON.parse(readFileSync(join(dir, json!), 'utf8'));
    expect(record.clients.map((r: { system: string; client: string }) => `${r.system} ${r.client}`)).toEqual(['zooid @zooid/client', 'zooid node-zookeeper-client']);
    for (const r of record.clients) {
      expect(r.runs.map((x: { readPercent: number }) => x.readPercent)).toEqual([0, 100]);
      for (const x of r.runs) {
        expect(x.ops).toBeGreaterThan(0);
        expect(x.errors).toBe(0);
        expect(x.cpuUsPerOp).toBeGreaterThan(0);
        expect(x.p99Ms).toBeGreaterThanOrEqual(x.p50Ms);
      }
      expect(r.watches.watches).toBe(200);
      expect(r.watches.heapAfterBytes).toBeGreaterThan(0);
      expect(Number.isFinite(r.watches.heapPer10kBytes)).toBe(true);
    }
  }, 180_000);

  it('--load java drives Zooid through Apache ZooKeeper\'s Java client', async () => {
    const dir = join(out, 'java');
    const args = ['--only', 'zooid', '--load', 'java', '--workload', '80', '--duration', '1', '--warmup', '1', '--sessions', '2', '--inflight', '4', '--znodes', '0', '--out', dir];
    const { code, text } = await runBench(args);
    expect(code, text).toBe(0);
    expect(text).toContain("load: Apache ZooKeeper's Java client");
    const json = readdirSync(dir).find((f) => f.endsWith('.json'));
    const record = JSON.parse(readFileSync(join(dir, json!), 'utf8'));
    expect(record.load).toBe('java');
    const [run] = record.results[0].runs;
    expect(run.readPercent).toBe(80);
    expect(run.ops).toBeGreaterThan(0);
    expect(run.errors).toBe(0);
    expect(run.p99Ms).toBeGreaterThanOrEqual(run.p50Ms);
  }, 180_000);

  it('--scale loads a tree into Zooid and brings a follower back from its data directory and from nothing', async () => {
    const dir = join(out, 'scale');
    const { code, text } = await runBench(['--scale', '--only', 'zooid', '--znodes', '2000', '--out', dir]);
    expect(code, text).toBe(0);
    expect(text).toMatch(/follower from empty \(s\)/);
    const json = readdirSync(dir).find((f) => f.endsWith('-scale.json'));
    const [r] = JSON.parse(readFileSync(join(dir, json!), 'utf8')).scale;
    expect(r.system).toBe('zooid');
    expect(r.znodes).toBe(2000);
    expect(r.load.perSecond).toBeGreaterThan(0);
    expect(r.memory.rssAfterBytes).toBeGreaterThan(0);
    expect(r.memory.heapPerZnode).toBeGreaterThan(0);
    expect(r.restart.seconds).toBeGreaterThan(0);
    expect(r.snapSync.seconds).toBeGreaterThan(0);
    // Zooid's members report their event-loop stalls in their presence announcements.
    for (const phase of [r.load, r.restart, r.snapSync]) expect(phase.leaderStallMs).toBeGreaterThan(0);
  }, 180_000);

  it('--read-scale measures reads and the CPU each process spends on them, with observers and gateways', async () => {
    const dir = join(out, 'read-scale');
    const { code, text } = await runBench(['--read-scale', '--shapes', '1x2', '--duration', '1', '--warmup', '0.5', '--sessions', '4', '--inflight', '4', '--out', dir]);
    expect(code, text).toBe(0);
    expect(text).toMatch(/projected reads\/s/);
    const json = readdirSync(dir).find((f) => f.endsWith('-read-scale.json'));
    const [r] = JSON.parse(readFileSync(join(dir, json!), 'utf8')).shapes;
    expect([r.observers, r.gateways]).toEqual([1, 2]);
    expect(r.throughput).toBeGreaterThan(0);
    expect(r.errors).toBe(0);
    // Every process of the shape was found and charged: three members, the observer, both gateways, the bus.
    expect(Object.keys(r.cpuUsPerOp).filter((l: string) => /^(member|observer|gateway)-/.test(l)).sort()).toEqual(['gateway-gw1', 'gateway-gw2', 'member-1', 'member-2', 'member-3', 'observer-o1']);
    expect(r.projected).toBeGreaterThan(0);
  }, 180_000);
});
