import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EpochFiles } from '../src/index.js';
import { tempDir } from './helpers.js';

describe('EpochFiles', () => {
  it('reads 0 before anything was written', async () => {
    const epochs = new EpochFiles(join(await tempDir(), 'data'));
    expect(epochs.readAccepted()).toBe(0);
    expect(epochs.readCurrent()).toBe(0);
  });

  it('writes each epoch durably and independently', async () => {
    const dir = await tempDir();
    const epochs = new EpochFiles(dir);
    epochs.writeAccepted(3, '1');
    expect([epochs.readAccepted(), epochs.readCurrent()]).toEqual([3, 0]);
    epochs.writeCurrent(3);
    epochs.writeAccepted(4, 'm-2');
    const reopened = new EpochFiles(dir);
    expect([reopened.readAccepted(), reopened.readAcceptedLeader(), reopened.readCurrent()]).toEqual([4, 'm-2', 3]);
    expect((await readdir(dir)).sort()).toEqual(['acceptedEpoch', 'currentEpoch']);
  });

  it('reads an accepted epoch written without its leader (before leaders were recorded) as one from no known leader', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'acceptedEpoch'), '5\n');
    const epochs = new EpochFiles(dir);
    expect([epochs.readAccepted(), epochs.readAcceptedLeader()]).toEqual([5, undefined]);
    expect(new EpochFiles(join(dir, 'none')).readAcceptedLeader()).toBeUndefined();
  });

  it('refuses to guess when a file is unreadable', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'currentEpoch'), '7x\n');
    expect(() => new EpochFiles(dir).readCurrent()).toThrow(/not an epoch/);
    await writeFile(join(dir, 'currentEpoch'), '');
    expect(() => new EpochFiles(dir).readCurrent()).toThrow(/not an epoch/);
    await writeFile(join(dir, 'currentEpoch'), '7 1\n');
    expect(() => new EpochFiles(dir).readCurrent()).toThrow(/not an epoch/);
    await writeFile(join(dir, 'acceptedEpoch'), '7 \n');
    expect(() => new EpochFiles(dir).readAccepted()).toThrow(/not an epoch/);
    expect(() => new EpochFiles(dir).writeAccepted(-1, '1')).toThrow(RangeError);
    expect(() => new EpochFiles(dir).writeAccepted(1.5, '1')).toThrow(RangeError);
    expect(() => new EpochFiles(dir).writeAccepted(1, 'a b')).toThrow(RangeError);
  });
});
