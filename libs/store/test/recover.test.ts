import { chmod, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
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

  it('keeps everything private to its user: directories 0700, files 0600, also a directory made open by hand', async () => {
    const dir = await tempDir();
    await chmod(dir, 0o755);
    const r = await recover(dir, { segmentBytes: 4096 });
    r.log.append(records(1, 8));
    await r.log.flush();
    await r.snapshots.write(5, Buffer.from('state at 5'));
    r.epochs.writeAccepted(1, '1');
    r.epochs.writeCurrent(1);
    await r.log.close();
    const modes: string[] = [`. ${((await stat(dir)).mode & 0o777).toString(8)}`];
    for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
      const path = join(e.parentPath, e.name);
      modes.push(`${path.slice(dir.length + 1)} ${((await stat(path)).mode & 0o777).toString(8)}`);
    }
    expect(modes.length).toBeGreaterThan(5);
    for (const m of modes) expect(m).toMatch(/ (600|700)$/);
    expect(modes.filter((m) => m.endsWith(' 700')).map((m) => m.split(' ')[0])).toEqual(expect.arrayContaining(['.', 'log', 'snapshots']));
  });
});
