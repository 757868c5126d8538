/**
 * Long work shows progress: a member starting from a large snapshot and a
 * long log tail draws bars when its stderr is a terminal (a real
 * pseudo-terminal, through script(1)) and writes log lines otherwise. The
 * follower's SNAP sync is covered in cluster-failover.test.ts; the shell's
 * deleteall in shell.test.ts.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZooKeeperClient } from '@zooid/client';
import { startNatsServer, ZOOID_BIN, type ManagedNats } from '@zooid/cli';
import { killProc, startProc, startStandalone, waitFor } from './harness.js';
import { logLines } from './support/procs.js';

const SNAP_COUNT = 40;
const BIG = 1_000_000;
const dataDir = mkdtempSync(join(tmpdir(), 'zooid-progress-'));
let nats: ManagedNats;

function snapshotBytes(): number {
  const dir = join(dataDir, 'snapshots');
  if (!existsSync(dir)) return 0;
  return Math.max(0, ...readdirSync(dir).filter((f) => !f.endsWith('.tmp')).map((f) => statSync(join(dir, f)).size));
}

beforeAll(async () => {
  // A data directory with a snapshot of more than 5 MB and more than 5 MB of log after it.
  const zoo = await startStandalone({ dataDir, memberArgs: ['--snap-count', String(SNAP_COUNT)] });
  try {
    const zk = await ZooKeeperClient.connect(zoo.connectString);
    for (let i = 0; i < 6; i++) await zk.create(`/big${i}`, Buffer.alloc(BIG, i));
    for (let i = 0; snapshotBytes() === 0; i++) {
      expect(i, 'a snapshot within snapCount writes').toBeLessThan(SNAP_COUNT * 2);
      await zk.create(`/small${i}`, 'x');
    }
    await waitFor('the snapshot to be written', () => snapshotBytes() > 6 * BIG);
    for (let i = 0; i < 6; i++) await zk.create(`/tail${i}`, Buffer.alloc(BIG, i));
    await zk.close();
  } finally {
    await zoo.stop();
  }
  nats = await startNatsServer();
}, 120_000);

afterAll(async () => {
  await nats?.stop();
  rmSync(dataDir, { recursive: true, force: true });
});

const memberArgs = () => ['member', '--nats', nats.url, '--data-dir', dataDir, '--snap-count', String(SNAP_COUNT)];

describe('a member starting from a large data directory', () => {
  it('without a terminal, logs how far loading the snapshot and replaying the log have got', async () => {
    const member = startProc('member', memberArgs());
    try {
      await waitFor('the member to recover', () => logLines(member).some((l) => l.msg === 'recovered'), 30_000);
      const logs = logLines(member);
      const snapshot = logs.filter((l) => /^loading snapshot 0x[0-9a-f]+$/.test(l.msg));
      expect(snapshot[0]).toMatchObject({ done: 0, percent: 0 });
      // Taken after between snapCount/2 and snapCount transactions (the roll), one of them the session's.
      expect(Number(snapshot[0]!.total)).toBeGreaterThanOrEqual(SNAP_COUNT / 2);
      const replay = logs.filter((l) => l.msg === 'replaying transaction log');
      expect(replay[0]).toMatchObject({ done: 0, percent: 0 });
      expect(Number(replay[0]!.total)).toBeGreaterThan(6 * BIG);
      // Six records of ~1 MB: a line at each tenth crossed, in order.
      const steps = replay.slice(1).map((l) => Number(l.percent));
      expect(steps.length).toBeGreaterThanOrEqual(4);
      expect(steps).toEqual([...steps].sort((a, b) => a - b));
      const recovered = logs.find((l) => l.msg === 'recovered')!;
      expect(logs.indexOf(recovered)).toBeGreaterThan(logs.indexOf(replay.at(-1)!));
      expect(Number(recovered.replayed)).toBeGreaterThanOrEqual(6); // the tail, and the session's own txns
    } finally {
      await killProc(member, 'SIGTERM');
    }
  }, 60_000);

  /** Runs the member on a pseudo-terminal until it has recovered; returns what the terminal got. */
  async function onTerminal(env: Record<string, string> = {}): Promise<string> {
    const cmd = `stty cols 160 rows 50; exec ${process.execPath} ${ZOOID_BIN} ${memberArgs().join(' ')}`;
    // Its own process group, so that the member is stopped by the group's id.
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], detached: true, env: { ...process.env, TERM: 'xterm', ZOOID_LOG_FORMAT: '', ...env } });
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    let raw = '';
    child.stdout.on('data', (d: Buffer) => (raw += d.toString()));
    child.stderr.on('data', (d: Buffer) => (raw += d.toString()));
    try {
      await waitFor('the member to recover', () => raw.includes('recovered'), 30_000).catch((err: Error) => {
        throw new Error(`${err.message}\n--- terminal ---\n${raw}`);
      });
      return raw;
    } finally {
      if (child.exitCode === null && child.signalCode === null) process.kill(-child.pid!, 'SIGTERM');
      await exited;
    }
  }
  const full = '#'.repeat(30);
  const empty = '.'.repeat(30);

  it('on a terminal, draws a bar for each', async () => {
    const raw = await onTerminal();
    expect(raw).toMatch(new RegExp(`\\r\\x1b\\[2Kloading snapshot 0x[0-9a-f]+ \\[${empty}\\]   0% 0/\\d+ znodes`));
    expect(raw).toMatch(new RegExp(`\\r\\x1b\\[2Kloading snapshot 0x[0-9a-f]+ \\[${full}\\] 100% (\\d+)/\\1 znodes`));
    expect(raw).toMatch(new RegExp(`\\r\\x1b\\[2Kreplaying transaction log \\[${empty}\\]   0% 0 KiB/\\d+\\.\\d MiB`));
    expect(raw).toMatch(new RegExp(`\\r\\x1b\\[2Kreplaying transaction log \\[${full}\\] 100% (\\d+\\.\\d MiB)/\\1`));
    // A terminal gets bars, not progress log lines.
    expect(raw).not.toContain('"msg":"replaying transaction log"');
  }, 60_000);

  it('on a terminal shared with the other processes of zooid up, prints named bar lines', async () => {
    // What the supervisor of `zooid up` sets for each child.
    const raw = await onTerminal({ ZOOID_PROCESS_NAME: 'follower-1' });
    expect(raw).toMatch(new RegExp(`^follower-1 replaying transaction log \\[${empty}\\]   0% 0 KiB/\\d+\\.\\d MiB\\r?$`, 'm'));
    expect(raw).toMatch(new RegExp(`^follower-1 replaying transaction log \\[${full}\\] 100% (\\d+\\.\\d MiB)/\\1\\r?$`, 'm'));
    expect(raw).toMatch(new RegExp(`^follower-1 loading snapshot 0x[0-9a-f]+ \\[${full}\\] 100% (\\d+)/\\1 znodes\\r?$`, 'm'));
    expect(raw).not.toContain('\x1b[2Kfollower-1');
  }, 60_000);
});
