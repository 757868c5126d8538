// Cost of a durable flush on this machine's disk: `npx vitest bench --run libs/store`.
// Not part of the test run; numbers depend on the disk, so nothing asserts on them.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, bench, describe } from 'vitest';
import { TxnLog, type LogRecord } from '../src/index.js';

const dir = await mkdtemp(join(tmpdir(), 'zooid-store-bench-'));
const payload = Buffer.alloc(100, 1);
let zxid = 0;
// Steady state: the first flush rolls the first segment and starts writing
// the next 64 MiB spare in the background; close() waits for it, so the
// measured log has a current segment and a ready spare, and no roll happens
// within the ~100 MiB these benches write.
const warm = await TxnLog.open(dir);
warm.append(batch(1));
await warm.close();
const log = await TxnLog.open(dir);

function batch(n: number): LogRecord[] {
  const out: LogRecord[] = [];
  for (let i = 0; i < n; i++) out.push({ zxid: ++zxid, payload });
  return out;
}

afterAll(async () => {
  await log.close();
  await rm(dir, { recursive: true, force: true });
});

describe('TxnLog.flush (100-byte records, one write + one fdatasync each)', () => {
  for (const n of [1, 100, 1000]) {
    bench(`${n} record${n > 1 ? 's' : ''} per flush`, async () => {
      log.append(batch(n));
      await log.flush();
    });
  }
});
