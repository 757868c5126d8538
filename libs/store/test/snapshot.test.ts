import { readFile, readdir, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { SnapshotStore } from '../src/index.js';
import { tempDir } from './helpers.js';

function snapshotName(zxid: number): string {
  return 'snapshot.' + zxid.toString(16).padStart(16, '0');
}

function storeWithLines(dir: string, retain?: number) {
  const lines: [string, object | undefined][] = [];
  const store = new SnapshotStore(dir, { retain, log: (msg, fields) => lines.push([msg, fields]) });
  return { store, lines };
}

const content = (zxid: number) => Buffer.from(`tree at ${zxid} `.repeat(50));

describe('SnapshotStore', () => {
  it('has nothing to load in a missing or empty directory', async () => {
    const dir = await tempDir();
    expect(await new SnapshotStore(join(dir, 'absent')).loadNewest()).toBeNull();
    expect(await new SnapshotStore(dir).loadNewest()).toBeNull();
  });

  it('writes snapshots and loads the newest', async () => {
    const dir = join(await tempDir(), 'snapshots');
    const { store, lines } = storeWithLines(dir);
    for (const zxid of [5, 2 ** 32 + 7, 12]) await store.write(zxid, content(zxid));
    const newest = await store.loadNewest();
    expect(newest?.zxid).toBe(2 ** 32 + 7);
    expect(newest?.bytes.equals(content(2 ** 32 + 7))).toBe(true);
    expect(lines).toEqual([]);
    // Empty snapshots are valid too.
    await store.write(2 ** 33, new Uint8Array(0));
    expect((await store.loadNewest())?.bytes.length).toBe(0);
  });

  it('falls back to the previous snapshot when the newest is corrupt or torn', async () => {
    const dir = await tempDir();
    const { store, lines } = storeWithLines(dir);
    for (const zxid of [10, 20, 30]) await store.write(zxid, content(zxid));

    const path = join(dir, snapshotName(30));
    const file = await readFile(path);
    file[file.length - 100]! ^= 0x01;
    await writeFile(path, file);
    let loaded = await store.loadNewest();
    expect(loaded?.zxid).toBe(20);
    expect(loaded?.bytes.equals(content(20))).toBe(true);
    expect(lines).toHaveLength(1);
    expect(lines[0]![1]).toMatchObject({ file: snapshotName(30), problem: 'checksum mismatch' });

    await truncate(join(dir, snapshotName(20)), 20);
    loaded = await store.loadNewest();
    expect(loaded?.zxid).toBe(10);
    expect(lines).toHaveLength(3);
  });

  it('rejects a snapshot renamed to another zxid', async () => {
    const dir = await tempDir();
    const { store, lines } = storeWithLines(dir);
    await store.write(10, content(10));
    await writeFile(join(dir, snapshotName(11)), await readFile(join(dir, snapshotName(10))));
    expect((await store.loadNewest())?.zxid).toBe(10);
    expect(lines[0]![1]).toMatchObject({ problem: 'zxid does not match the file name' });
  });

  it('keeps only the newest `retain` snapshots, and no temp files', async () => {
    const dir = await tempDir();
    const { store } = storeWithLines(dir, 2);
    await writeFile(join(dir, snapshotName(1) + '.tmp'), 'left by a crash');
    await Promise.all([1, 2, 3, 4, 5].map((zxid) => store.write(zxid, content(zxid))));
    expect(await store.list()).toEqual([5, 4]);
    expect((await readdir(dir)).sort()).toEqual([snapshotName(4), snapshotName(5)]);
    await expect(new SnapshotStore(dir).list()).resolves.toEqual([5, 4]);
  });

  it('writes a snapshot streamed in parts as the same file as one written whole', async () => {
    const whole = await tempDir();
    const parted = await tempDir();
    const bytes = content(7);
    await new SnapshotStore(whole).write(7, bytes);
    const out = new SnapshotStore(parted).stream(7);
    for (let off = 0; off < bytes.length; off += 100) await out.append(bytes.subarray(off, off + 100));
    // Invisible until finished.
    expect(await new SnapshotStore(parted).list()).toEqual([]);
    await out.finish();
    expect((await readFile(join(parted, snapshotName(7)))).equals(await readFile(join(whole, snapshotName(7))))).toBe(true);
    expect((await new SnapshotStore(parted).loadNewest())?.bytes.equals(bytes)).toBe(true);
    await expect(out.append(bytes)).rejects.toThrow(/ended/);
  });

  it('leaves nothing of an abandoned stream, and clears a crashed one\'s temp file but not one being written', async () => {
    const dir = await tempDir();
    const { store } = storeWithLines(dir);
    const abandoned = store.stream(3);
    await abandoned.append(content(3));
    await abandoned.abandon();
    expect(await readdir(dir)).toEqual([]);

    // A stream a crash cut short: only its temp file, which no load sees.
    const crashed = new SnapshotStore(dir).stream(4);
    await crashed.append(content(4));
    const open = store.stream(6);
    await open.append(content(6));
    expect(await store.loadNewest()).toBeNull();
    await store.write(5, content(5));
    expect((await readdir(dir)).sort()).toEqual([snapshotName(5), snapshotName(6) + '.tmp']);
    await open.finish();
    expect(await store.list()).toEqual([6, 5]);
    expect((await store.loadNewest())?.bytes.equals(content(6))).toBe(true);
    await crashed.abandon();
  });

  it('still loads a version 1 file, whose checksum covers zxid and length before the bytes', async () => {
    const dir = await tempDir();
    const bytes = content(9);
    const header = Buffer.alloc(32);
    header.writeUInt32BE(0x5a534e50, 0);
    header.writeUInt32BE(1, 4);
    header.writeUInt32BE(0, 8);
    header.writeUInt32BE(9, 12);
    header.writeUInt32BE(0, 16);
    header.writeUInt32BE(bytes.length, 20);
    header.writeUInt32BE(crc32(bytes, crc32(header.subarray(8, 24))), 24);
    await writeFile(join(dir, snapshotName(9)), Buffer.concat([header, bytes]));
    const { store, lines } = storeWithLines(dir);
    expect((await store.loadNewest())?.bytes.equals(bytes)).toBe(true);
    expect(lines).toEqual([]);
  });

  it('refuses bad arguments', async () => {
    const dir = await tempDir();
    expect(() => new SnapshotStore(dir, { retain: 0 })).toThrow(RangeError);
    await expect(new SnapshotStore(dir).write(-1, content(1))).rejects.toThrow(RangeError);
  });
});
