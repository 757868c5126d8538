/**
 * A member's snapshots: a periodic one is written a part at a time as it is
 * encoded, and a member says when one is in progress, so that whoever
 * measures its memory (the bench) waits for the steady state between them.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { OpCode } from '@zooid/protocol';
import { decodeSnapshot } from '@zooid/tree';
import { makeZxid } from '@zooid/zab';
import { MemberStore } from '../src/member-store.js';

const log = pino({ level: 'silent' });
const OPEN = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setImmediate(r));
  }
}

describe('a member store in the middle of a snapshot', () => {
  it('says so while it encodes one for a SNAP, and while it encodes and writes a periodic one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zooid-snapping-'));
    dirs.push(dir);
    const s = await MemberStore.open(dir, { snapCount: 4, snapRetain: 3 }, log);
    try {
      expect(s.snapshotInProgress).toBe(false);
      const snap = s.snapshot();
      expect(s.snapshotInProgress).toBe(true);
      await snap;
      expect(s.snapshotInProgress).toBe(false);

      // snapCount 4: a periodic snapshot starts within four applied transactions.
      for (let i = 1; i <= 4 && !s.snapshotInProgress; i++) {
        const zxid = makeZxid(1, i);
        s.tree.apply({ sessionId: 0n, cxid: i, zxid, time: 1, type: OpCode.create }, { type: 'create', op: OpCode.create, path: `/n${i}`, data: null, acl: OPEN, kind: 'persistent', ephemeralOwner: 0n, parentCVersion: i });
        s.applied();
      }
      expect(s.snapshotInProgress).toBe(true);
      // A SNAP asked for meanwhile waits for the periodic one's walk of the tree, then takes its own.
      const during = s.snapshot();
      await until('the periodic snapshot written', async () => (await s.snapshots.list()).length > 0);
      const written = await s.snapshots.loadNewest();
      expect(written?.zxid).toBe(s.tree.lastZxid);
      expect(decodeSnapshot(written!.bytes).digest()).toBe(s.tree.digest());
      expect((await during).bytes.equals(written!.bytes)).toBe(true);
      await until('no snapshot in progress', () => !s.snapshotInProgress);
    } finally {
      await s.close();
    }
  });

  it('skips a periodic snapshot that falls due while the last one is still taken, as ZooKeeper does, rather than taking it right after', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zooid-snapping-'));
    dirs.push(dir);
    const lines: { msg: string }[] = [];
    const captured = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const s = await MemberStore.open(dir, { snapCount: 4, snapRetain: 3 }, captured);
    let i = 0;
    const apply = () => {
      i++;
      s.tree.apply({ sessionId: 0n, cxid: i, zxid: makeZxid(1, i), time: 1, type: OpCode.create }, { type: 'create', op: OpCode.create, path: `/n${i}`, data: null, acl: OPEN, kind: 'persistent', ephemeralOwner: 0n, parentCVersion: i });
      s.applied();
    };
    try {
      while (!s.snapshotInProgress) apply();
      const startedAt = i;
      // Every two to four transactions one falls due: eight while the snapshot is taken make two or more.
      for (let n = 0; n < 8; n++) apply();
      const skipped = lines.filter((l) => l.msg === 'too busy to snapshot, skipping').length;
      expect(skipped).toBeGreaterThanOrEqual(2);
      await until('the snapshot written', () => !s.snapshotInProgress);
      const written = await s.snapshots.list();
      expect(written).toHaveLength(1);
      expect((await s.snapshots.loadNewest())?.zxid).toBe(makeZxid(1, startedAt));
      // Skips do not stop snapshots: the count began again at each, and the next falls due within snapCount.
      const next = i;
      while (!s.snapshotInProgress) apply();
      expect(i - next).toBeLessThanOrEqual(4);
      await until('the next snapshot written', () => !s.snapshotInProgress);
    } finally {
      await s.close();
    }
  });
});
