import { describe, expect, it } from 'vitest';
import { recover } from '../src/index.js';
import { collect, records, tempDir } from './helpers.js';

describe('recover', () => {
  it('starts empty in a new directory', async () => {
    const dir = await tempDir();
    const r = await recover(dir, { segmentBytes: 4096 });
    expect(r.snapshot).toBeNull();
    expect(await collect(r.replay)).toEqual([]);
    expect(r.epochs.readCurrent()).toBe(0);
    await r.log.close();
  });

  it('returns the newest valid snapshot and the log records after it', async () => {
    const dir = await tempDir();
    const first = await recover(dir, { segmentBytes: 4096 });
    first.log.append(records(1, 8));
    await first.log.flush();
    await first.snapshots.write(5, Buffer.from('state at 5'));
    first.epochs.writeCurrent(1);
    await first.log.close();

    const r = await recover(dir, { segmentBytes: 4096 });
    expect(r.snapshot?.zxid).toBe(5);
    expect(r.snapshot?.bytes.toString()).toBe('state at 5');
    expect((await collect(r.replay)).map((rec) => rec.zxid)).toEqual([6, 7, 8]);
    expect(r.epochs.readCurrent()).toBe(1);
    await r.log.close();
  });
});
