/**
 * Quota bookkeeping, as observed on a real ZooKeeper 3.8.0 server driven by
 * zkCli.sh (setquota / listquota / delquota): the server keeps
 * /zookeeper/quota/<path>/zookeeper_stats at "count=N,bytes=M" for the
 * subtree of <path>, without touching that node's Stat or firing watches.
 */
import { describe, expect, it } from 'vitest';
import { OpCode } from '@zooid/protocol';
import { decodeSnapshot, encodeSnapshot } from '../src/index.js';
import { StatsTrack } from '../src/quota.js';
import { Harness, pick } from './harness.js';

const b = (s: string) => Buffer.from(s);
const LIMITS = '/zookeeper/quota/q/zookeeper_limits';
const STATS = '/zookeeper/quota/q/zookeeper_stats';

function data(h: Harness, path: string): string {
  const r = h.read({ sessionId: 0n, ids: [{ scheme: 'super', id: '' }] }, OpCode.getData, { path, watch: false });
  return Buffer.from((r.response as { data: Uint8Array }).data).toString();
}

/** What zkCli's setquota does: the quota node, then limits, then stats. */
function setquota(h: Harness, s: ReturnType<Harness['session']>, path: string, count: number) {
  h.create(s, `/zookeeper/quota${path}`);
  h.create(s, `/zookeeper/quota${path}/zookeeper_limits`, { data: b(`count=${count},bytes=-1=;byteHardLimit=-1;countHardLimit=-1`) });
  h.create(s, `/zookeeper/quota${path}/zookeeper_stats`, { data: b('count=0,bytes=0') });
}

describe('quotas (observed)', () => {
  const h = new Harness();
  const s = h.session();

  it('the stats node is filled in from the subtree when it is created', () => {
    h.create(s, '/q', { data: b('ab') });
    h.create(s, '/q/a', { data: b('123') });
    setquota(h, s, '/q', 5);
    expect(data(h, STATS)).toBe('count=2,bytes=5');
    expect(data(h, LIMITS)).toBe('count=5,bytes=-1=;byteHardLimit=-1;countHardLimit=-1');
  });

  it('creates, setData and deletes below the quota path move the counts; the stats Stat stays put', () => {
    const before = pick(h.stat(STATS), 'mzxid', 'version', 'cversion');
    h.read(s, OpCode.getData, { path: STATS, watch: true });
    expect(h.create(s, '/q/b', { data: b('xy') }).notifications).toEqual([]);
    expect(data(h, STATS)).toBe('count=3,bytes=7');
    h.setData(s, '/q/a', b('1'));
    expect(data(h, STATS)).toBe('count=3,bytes=5');
    h.create(s, '/q/a/x');
    h.delete(s, '/q/b');
    expect(data(h, STATS)).toBe('count=3,bytes=3');
    expect(pick(h.stat(STATS), 'mzxid', 'version', 'cversion')).toEqual(before);
    expect(h.stat(STATS)!.dataLength).toBe('count=3,bytes=3'.length);
    // Nodes outside the quota path do not count.
    h.create(s, '/qq', { data: b('zzz') });
    expect(data(h, STATS)).toBe('count=3,bytes=3');
  });

  it('quotas are soft: exceeding the limit only shows in the stats', () => {
    for (const n of ['c', 'd', 'e', 'f']) expect(h.create(s, `/q/${n}`).err).toBe(0);
    expect(data(h, STATS)).toBe('count=7,bytes=3');
  });

  it('a nested quota takes the nodes below it (the longest quota prefix counts)', () => {
    setquota(h, s, '/q/a', 10);
    expect(data(h, '/zookeeper/quota/q/a/zookeeper_stats')).toBe('count=2,bytes=1');
    h.create(s, '/q/a/y', { data: b('zz') });
    expect(data(h, '/zookeeper/quota/q/a/zookeeper_stats')).toBe('count=3,bytes=3');
    expect(data(h, STATS)).toBe('count=7,bytes=3');
  });

  it('a session closing deletes ephemerals under a quota path and counts them out', () => {
    const t = h.session();
    h.create(t, '/q/eph', { data: b('12345'), flags: 1 });
    expect(data(h, STATS)).toBe('count=8,bytes=8');
    h.write(t, OpCode.closeSession, undefined);
    expect(data(h, STATS)).toBe('count=7,bytes=3');
  });

  it('deleting the limits node ends the quota', () => {
    const q = new Harness();
    const u = q.session();
    q.create(u, '/q');
    setquota(q, u, '/q', 5);
    q.create(u, '/q/x', { data: b('1') });
    expect(data(q, STATS)).toBe('count=2,bytes=1');
    q.delete(u, STATS);
    q.delete(u, LIMITS);
    q.create(u, '/q/y');
    expect(q.stat(STATS)).toBeUndefined();
    q.tree.checkInvariants();
    // Re-adding it recounts from scratch.
    setquota(q, u, '/q', 5);
    expect(data(q, STATS)).toBe('count=3,bytes=1');
    q.tree.checkInvariants();
  });
});

describe('quotas across a snapshot', () => {
  it('a tree loaded from a snapshot keeps the stats current and equals the replayed one', () => {
    const h = new Harness();
    const s = h.session();
    h.create(s, '/q', { data: b('ab') });
    setquota(h, s, '/q', 5);
    const snap = encodeSnapshot(h.tree);
    const mark = h.log.length;
    h.create(s, '/q/after', { data: b('xyz') });
    h.setData(s, '/q', b('a'));
    expect(data(h, STATS)).toBe('count=2,bytes=4');

    const loaded = decodeSnapshot(snap);
    for (const { hdr, txn } of h.log.slice(mark)) loaded.apply(hdr, txn);
    loaded.checkInvariants();
    expect(loaded.digest()).toBe(h.tree.digest());
    h.tree.checkInvariants();
  });
});

describe('StatsTrack', () => {
  it('reads and writes ZooKeeper 3.8 strings', () => {
    expect(new StatsTrack('count=2,bytes=5').toString()).toBe('count=2,bytes=5');
    const limits = new StatsTrack('count=5,bytes=-1=;byteHardLimit=-1;countHardLimit=-1');
    expect(limits.count).toBe(5);
    expect(limits.bytes).toBe(-1);
    const st = new StatsTrack();
    st.bytes = 3;
    st.count = 4;
    expect(st.toString()).toBe('count=4,bytes=3');
    expect(new StatsTrack('').count).toBe(-1);
  });
});
