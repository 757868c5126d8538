/**
 * `npm run soak` end to end, briefly: a cluster comes up, the well-behaved
 * clients, the abusers and two faults (the leader killed, a follower frozen)
 * run their course, every process's resident size is sampled, and at the end
 * every member and observer holds one tree — which the command's exit code
 * reports.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const out = mkdtempSync(join(tmpdir(), 'zooid-soak-smoke-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('npm run soak (smoke)', () => {
  it('runs load, abuse and faults, samples every process, and ends with one tree', async () => {
    const child = spawn(process.execPath, ['bench/soak.js', '--minutes', '0.4', '--window', '4', '--fault-every', '8', '--out', out], { stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    child.stdout.on('data', (d) => (text += d));
    child.stderr.on('data', (d) => (text += d));
    const code = await new Promise<number | null>((resolve) => child.once('exit', (c) => resolve(c)));
    expect(code, text).toBe(0);
    expect(text).toMatch(/one tree/);
    const json = readdirSync(out).find((f) => f.endsWith('.json'))!;
    const record = JSON.parse(readFileSync(join(out, json), 'utf8'));
    expect(record.windows.filter((w: { fault?: string }) => w.fault?.startsWith('SIGKILL member-') || w.fault?.startsWith('SIGSTOP member-')).length).toBe(2);
    const labels = Object.keys(record.windows.at(-1).rss).sort();
    expect(labels).toEqual(['gateway-gw1', 'gateway-gw2', 'member-1', 'member-2', 'member-3', 'nats-1', 'nats-2', 'nats-3', 'observer-o1', 'supervisor']);
    expect(record.abusers.map((a: { name: string }) => a.name)).toEqual(['never-reads', 'floods-before-session', 'abandons-connects']);
    expect(readdirSync(out).some((f) => f.endsWith('.svg'))).toBe(true);
  }, 180_000);
});
