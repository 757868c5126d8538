/**
 * A member's snapshots: a periodic one is written a part at a time as it is
 * encoded; a SNAP's is sent a part at a time as the walk makes it, and
 * received, stored and decoded a part at a time as it arrives; and a member
 * says when one is in progress, so that whoever measures its memory (the
 * bench) waits for the steady state between them.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { OpCode } from '@zooid/protocol';
import { SnapshotDecoder, decodeSnapshot } from '@zooid/tree';
import { makeZxid } from '@zooid/zab';
import { MemberStore } from '../src/member-store.js';
import { SnapshotAbandoned } from '../src/snapshot-slices.js';

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

/** A store in a fresh directory, removed after the test. */
async function fresh(snapCount: number, logger = log): Promise<MemberStore> {
  const dir = mkdtempSync(join(tmpdir(), 'zooid-snapping-'));
  dirs.push(dir);
  return MemberStore.open(dir, { snapCount, snapRetain: 3 }, logger);
}

/** Applies creates of /n<from>…/n<to> to the store's tree, as a member applies commits. */
function create(s: MemberStore, from: number, to: number): void {
  for (let i = from; i <= to; i++) {
    s.tree.apply({ sessionId: 0n, cxid: i, zxid: makeZxid(1, i), time: 1, type: OpCode.create }, { type: 'create', op: OpCode.create, path: `/n${i}`, data: Buffer.from(`value ${i}`), acl: OPEN, kind: 'persistent', ephemeralOwner: 0n, parentCVersion: i });
    s.applied();
  }
}

/** Enough znodes for a walk of several 1 MiB parts. */
const MANY = 40_000;

describe('a SNAP walked and sent a part at a time', () => {
  it('hands each part to the learner as the walk makes it, of the tree as it was when the walk began, and says a snapshot is in progress meanwhile', async () => {
    const s = await fresh(1_000_000);
    try {
      create(s, 1, MANY);
      const digest = s.tree.digest();
      expect(s.snapshotInProgress).toBe(false);
      const parts: Buffer[] = [];
      const sent = await s.snapshotToLearner(async (part) => {
        parts.push(part);
        expect(s.snapshotInProgress).toBe(true);
        // Commits go on between parts; the snapshot does not see them.
        create(s, MANY + parts.length, MANY + parts.length);
        return true;
      });
      sent.release();
      expect(parts.length).toBeGreaterThanOrEqual(3);
      expect(sent.zxid).toBe(makeZxid(1, MANY));
      expect(sent.bytes).toBe(parts.reduce((n, p) => n + p.length, 0));
      const snapshot = decodeSnapshot(Buffer.concat(parts));
      expect(snapshot.digest()).toBe(digest);
      expect(s.snapshotInProgress).toBe(false);
    } finally {
      await s.close();
    }
  });

  it('gives the walk up when the learner stops taking it, and walks again for the next', async () => {
    const s = await fresh(1_000_000);
    try {
      create(s, 1, MANY);
      let taken = 0;
      await expect(s.snapshotToLearner(async () => ++taken < 2)).rejects.toThrow(SnapshotAbandoned);
      expect(taken).toBe(2);
      const parts: Buffer[] = [];
      const sent = await s.snapshotToLearner(async (part) => parts.push(part) > 0);
      sent.release();
      expect(decodeSnapshot(Buffer.concat(parts)).digest()).toBe(s.tree.digest());
    } finally {
      await s.close();
    }
  });

  it('goes ahead of a periodic snapshot under way, which gives up and leaves no file', async () => {
    const lines: { msg: string; reason?: string }[] = [];
    const captured = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const s = await fresh(MANY * 2, captured);
    try {
      create(s, 1, MANY);
      let i = MANY;
      while (!s.snapshotInProgress) create(s, ++i, i);
      const parts: Buffer[] = [];
      const digest = s.tree.digest();
      const sent = await s.snapshotToLearner(async (part) => parts.push(part) > 0);
      sent.release();
      expect(decodeSnapshot(Buffer.concat(parts)).digest()).toBe(digest);
      await until('the periodic snapshot over', () => !s.snapshotInProgress);
      expect(lines.filter((l) => l.msg === 'snapshot abandoned').map((l) => l.reason)).toEqual(['a learner needs a snapshot (SNAP), which walks the tree first']);
      expect(await s.snapshots.list()).toEqual([]);
      expect(existsSync(s.snapshots.dir) ? readdirSync(s.snapshots.dir) : []).toEqual([]);
    } finally {
      await s.close();
    }
  });
});

describe('a SNAP received a part at a time', () => {
  /** A leader's tree and the parts of its snapshot. */
  async function leaderParts(): Promise<{ digest: string; zxid: number; parts: Buffer[] }> {
    const leader = await fresh(1_000_000);
    try {
      create(leader, 1, MANY);
      const parts: Buffer[] = [];
      const sent = await leader.snapshotToLearner(async (part) => parts.push(part) > 0);
      sent.release();
      return { digest: leader.tree.digest(), zxid: sent.zxid, parts };
    } finally {
      await leader.close();
    }
  }

  it('decodes and stores the parts as they arrive, then installs them durably: the tree, the snapshot file, an empty log', async () => {
    const { digest, zxid, parts } = await leaderParts();
    const s = await fresh(1_000_000);
    try {
      create(s, 1, 10);
      const r = s.receiveSnapshot(() => true);
      for (const part of parts) {
        r.add(part);
        await new Promise((resolve) => setImmediate(resolve));
      }
      // Decoded as they came: nothing is left for install but to check, store and swap.
      const nodes = new SnapshotDecoder(Buffer.concat(parts)).nodes;
      await until('every znode decoded before the sync arrives', () => r.nodesDecoded === nodes);
      await r.install(zxid);
      expect(s.tree.digest()).toBe(digest);
      expect(s.lastLogged).toBe(zxid);
      const stored = await s.snapshots.loadNewest();
      expect(stored?.zxid).toBe(zxid);
      expect(stored!.bytes.equals(Buffer.concat(parts))).toBe(true);
    } finally {
      await s.close();
    }
  });

  it('leaves the store as it was when the sync is given up, or the snapshot is not the one the sync names', async () => {
    const { zxid, parts } = await leaderParts();
    const s = await fresh(1_000_000);
    try {
      create(s, 1, 10);
      const before = s.tree.digest();
      let wanted = true;
      const given = s.receiveSnapshot(() => wanted);
      for (const part of parts.slice(0, 2)) given.add(part);
      await new Promise((resolve) => setImmediate(resolve));
      wanted = false;
      await expect(given.install(zxid)).rejects.toThrow();

      const wrong = s.receiveSnapshot(() => true);
      for (const part of parts) wrong.add(part);
      await expect(wrong.install(zxid + 1)).rejects.toThrow(/holds/);

      expect(s.tree.digest()).toBe(before);
      await until('no snapshot file left', () => !existsSync(s.snapshots.dir) || readdirSync(s.snapshots.dir).length === 0);
      expect(await s.snapshots.list()).toEqual([]);
    } finally {
      await s.close();
    }
  });
});

describe('a member store in the middle of a snapshot', () => {
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
