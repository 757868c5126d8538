import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect } from 'vitest';
import { TxnLog, type LogRecord, type TxnLogOptions } from '../src/index.js';
import { payloadFor } from './payload.js';

const dirs: string[] = [];

/** A fresh directory under the OS temp dir, removed after the test. */
export async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'zooid-store-'));
  dirs.push(dir);
  return dir;
}

afterEach(async () => {
  await Promise.all(dirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

export interface OpenedLog {
  log: TxnLog;
  /** Lines the log reported, as [message, fields]. */
  lines: [string, object | undefined][];
}

export async function openLog(dir: string, opts: TxnLogOptions = {}): Promise<OpenedLog> {
  const lines: [string, object | undefined][] = [];
  const log = await TxnLog.open(dir, { ...opts, log: (msg, fields) => lines.push([msg, fields]) });
  return { log, lines };
}

export function records(from: number, to: number, salt = 0): LogRecord[] {
  const out: LogRecord[] = [];
  for (let zxid = from; zxid <= to; zxid++) out.push({ zxid, payload: payloadFor(zxid, salt) });
  return out;
}

export async function collect(iterable: AsyncIterable<LogRecord> | Iterable<LogRecord>): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  for await (const rec of iterable) out.push({ zxid: rec.zxid, payload: Buffer.from(rec.payload) });
  return out;
}

/** Asserts the log reads back exactly `expected` from fromZxid on. */
export async function expectLog(log: TxnLog, expected: LogRecord[], fromZxid = 0): Promise<void> {
  const got = await collect(log.read(fromZxid));
  expect(got.map((r) => r.zxid)).toEqual(expected.map((r) => r.zxid));
  got.forEach((r, i) => expect(Buffer.from(r.payload).equals(Buffer.from(expected[i]!.payload))).toBe(true));
}

/** Segment file names in dir, oldest first. */
export async function segmentFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => /^log\.[0-9a-f]{16}$/.test(n)).sort();
}

export function segmentName(firstZxid: number): string {
  return 'log.' + firstZxid.toString(16).padStart(16, '0');
}
