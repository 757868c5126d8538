/**
 * The committed configuration across restarts, with real files: a restart
 * replays the whole log into the tree, committed or not, so the tree alone
 * cannot say who votes. The store keeps what it knows committed apart and
 * reports a change logged beyond it as pending.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { OpCode } from '@zooid/protocol';
import { encodeTxn, formatConfig, staticEnsemble, voterIds, type Ensemble, type Txn } from '@zooid/tree';
import { makeZxid } from '@zooid/zab';
import { MemberStore } from '../src/member-store.js';

const log = pino({ level: 'silent' });
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A data directory of its own, removed after the test. */
function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'zooid-config-'));
  dirs.push(dir);
  return dir;
}

async function open(dir: string): Promise<MemberStore> {
  return MemberStore.open(dir, { snapCount: 100_000, snapRetain: 3 }, log);
}

/** The configuration of ids as a reconfig at zxid would make it. */
function config(ids: string[], zxid: number): Ensemble {
  return { ...staticEnsemble(ids), version: zxid };
}

function entry(zxid: number, txn: Txn): [number, Buffer] {
  const type = txn.type === 'reconfig' ? OpCode.reconfig : OpCode.create;
  return [zxid, encodeTxn({ sessionId: 0n, cxid: 0, zxid, time: 1, type }, txn)];
}

const reconfig = (e: Ensemble) => entry(e.version, { type: 'reconfig', data: Buffer.from(formatConfig(e)) });

describe('the committed configuration of a member store', () => {
  it('keeps a logged change pending after a restart, until a commit point reaches it; then it is durable', async () => {
    const dir = dataDir();
    const c1 = config(['1', '2', '3', '4', '5'], makeZxid(1, 1));
    let s = await open(dir);
    s.append([reconfig(c1)]);
    await s.log.flush();
    await s.close();

    // The restart applied the change to the tree; it is not committed for that.
    s = await open(dir);
    expect(s.tree.lastZxid).toBe(c1.version);
    expect(s.committedConfig).toBeUndefined();
    expect(s.pendingConfig()).toEqual(c1);
    s.noteCommitted(c1.version - 1);
    expect(s.committedConfig).toBeUndefined();
    s.noteCommitted(c1.version);
    expect(s.committedConfig).toEqual(c1);
    expect(s.pendingConfig()).toBeUndefined();
    await s.close();

    s = await open(dir);
    expect(s.committedConfig).toEqual(c1);
    expect(s.pendingConfig()).toBeUndefined();
    await s.close();
  });

  it('finds a change in the log beyond the tree (logged, never applied) pending', async () => {
    const dir = dataDir();
    const s = await open(dir);
    const c1 = config(['1', '2', '4'], makeZxid(2, 3));
    s.append([reconfig(c1)]);
    expect(s.tree.lastZxid).toBe(0);
    expect(voterIds(s.pendingConfig()!)).toEqual(['1', '2', '4']);
    await s.close();
  });

  it('adopts only a newer configuration from another member, durably', async () => {
    const dir = dataDir();
    let s = await open(dir);
    const c2 = config(['3', '4', '5'], makeZxid(3, 2));
    expect(s.adoptConfig(formatConfig(c2))).toBe(true);
    expect(s.adoptConfig(formatConfig(config(['1', '2', '3'], makeZxid(3, 1))))).toBe(false);
    expect(s.adoptConfig(formatConfig(c2))).toBe(false);
    expect(() => s.adoptConfig('server.1=nonsense')).toThrow();
    expect(s.committedConfig).toEqual(c2);
    await s.close();
    expect(readFileSync(join(dir, 'committedConfig'), 'utf8')).toBe(formatConfig(c2));
    s = await open(dir);
    expect(s.committedConfig).toEqual(c2);
    await s.close();
  });
});
