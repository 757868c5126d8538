/**
 * A member says when it is in the middle of a snapshot: it holds the whole
 * snapshot in memory until written (or sent), so whoever measures its memory
 * (the bench) waits for the steady state between snapshots.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { OpCode } from '@zooid/protocol';
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
      await until('the periodic snapshot written', () => !s.snapshotInProgress);
      expect((await s.snapshots.list()).length).toBeGreaterThan(0);
    } finally {
      await s.close();
    }
  });
});
