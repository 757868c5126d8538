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

describe('npm run bench (smoke)', () => {
  it('runs end to end on Zooid and writes its results and chart', async () => {
    const args = ['bench/run.js', '--only', 'zooid', '--workload', '0,80', '--duration', '1', '--warmup', '0.5', '--sessions', '2', '--inflight', '4', '--znodes', '500', '--out', out];
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    child.stderr.on('data', (d) => (text += d));
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
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
  }, 180_000);
});
