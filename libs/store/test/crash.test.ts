import { spawn } from 'node:child_process';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { collect, openLog, tempDir } from './helpers.js';
import { payloadFor } from './payload.js';

const PACKAGE_DIR = dirname(dirname(fileURLToPath(import.meta.url)));
// Small segments, so that kills also land in and around segment rolls.
const SEGMENT_BYTES = 16 * 1024;
const ROUND_DEADLINE_MS = 20_000;

/** Transpiles the store and the child script into a temp dir that node can run directly. */
async function buildChild(): Promise<string> {
  const out = await tempDir();
  await writeFile(join(out, 'package.json'), '{"type":"module"}');
  const sources = (await readdir(join(PACKAGE_DIR, 'src'))).filter((f) => f.endsWith('.ts')).map((f) => `src/${f}`);
  for (const file of [...sources, 'test/payload.ts', 'test/crash-child.ts']) {
    const { outputText } = ts.transpileModule(await readFile(join(PACKAGE_DIR, file), 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 },
      fileName: file,
    });
    await mkdir(join(out, dirname(file)), { recursive: true });
    await writeFile(join(out, file.replace(/\.ts$/, '.js')), outputText);
  }
  return join(out, 'test', 'crash-child.js');
}

/**
 * Runs the child until it has acknowledged `target` zxids, SIGKILLs it, and
 * returns the highest zxid it acknowledged (read to the end of its stdout).
 */
async function runAndKill(script: string, dir: string, target: number): Promise<number> {
  const child = spawn(process.execPath, [script, dir, String(SEGMENT_BYTES)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let acked = 0;
  let partial = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const closed = new Promise<NodeJS.Signals | null>((resolve) => child.once('close', (_code, signal) => resolve(signal)));
  const reached = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`only ${acked} of ${target} acknowledged in time; stderr: ${stderr}`)), ROUND_DEADLINE_MS);
    child.stdout.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop()!;
      for (const line of lines) acked = Number(line);
      if (acked >= target) {
        clearTimeout(timer);
        resolve();
      }
    });
    void closed.then((signal) => {
      clearTimeout(timer);
      reject(new Error(`child ended early (${signal}); stderr: ${stderr}`));
    });
  });
  try {
    await reached;
  } finally {
    if (child.exitCode === null && child.signalCode === null) process.kill(child.pid!, 'SIGKILL');
  }
  expect(await closed).toBe('SIGKILL');
  return acked;
}

describe('crash', () => {
  it('loses no acknowledged record when the writer is SIGKILLed, round after round', { timeout: 120_000 }, async () => {
    const script = await buildChild();
    const dir = await tempDir();
    let last = 0;
    for (let round = 0; round < 5; round++) {
      const acked = await runAndKill(script, dir, last + 500 + Math.floor(Math.random() * 2000));
      const { log } = await openLog(dir, { segmentBytes: SEGMENT_BYTES });
      const recs = await collect(log.read(0));
      await log.close();
      // Contiguous from 1, through every acknowledged zxid (flushed but unacknowledged ones may follow).
      expect(recs.length).toBeGreaterThanOrEqual(acked);
      recs.forEach((r, i) => {
        expect(r.zxid).toBe(i + 1);
        expect(Buffer.compare(r.payload, payloadFor(r.zxid))).toBe(0);
      });
      last = recs.length;
    }
  });
});
