/**
 * Property tests over random request sequences (seeded, so failures replay):
 *
 * - replaying the encoded txn log on a fresh tree gives the same digest;
 * - a snapshot taken at any point, decoded, plus the rest of the log gives
 *   the same digest as the full replay, and re-encodes to the same bytes;
 * - preparing requests in batches before applying them (group commit) yields
 *   exactly the txns of preparing each one after the previous applied — the
 *   pending view accounts for everything prep depends on;
 * - the tree's invariants hold throughout.
 */
import { describe, expect, it } from 'vitest';
import { OpCode, type ACL, type MultiOp } from '@zooid/protocol';
import { DataTree, SnapshotEncoder, decodeSnapshot, decodeTxn, digestOf, encodeSnapshot, encodeTxn, type AuthContext, type Txn, type TxnHeader } from '../src/index.js';
import { Harness, LOCAL_IP, OPEN } from './harness.js';

/** mulberry32 */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PATHS = ['/a', '/a/b', '/a/b/c', '/a/d', '/e', '/e/f', '/c', '/c/x', '/zookeeper/q'];
const SEQ_BASES = ['/a/s-', '/e/', '/c/q'];
const ALICE = { scheme: 'digest', id: digestOf('alice:pw') };
const ACLS: ACL[][] = [OPEN, [{ perms: 1, id: { scheme: 'world', id: 'anyone' } }], [{ perms: 31, id: ALICE }], [{ perms: 31, id: { scheme: 'auth', id: '' } }], [{ perms: 31, id: { scheme: 'ip', id: '127.0.0.0/8' } }]];

type Request = [AuthContext, number, unknown];

function generate(seed: number, count: number): Request[] {
  const r = rng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const int = (n: number) => Math.floor(r() * n);
  const sessions: AuthContext[] = [];
  let nextId = 0x1000n;
  const out: Request[] = [];
  const newSession = () => {
    const s: AuthContext = { sessionId: nextId++, ids: r() < 0.5 ? [LOCAL_IP, ALICE] : [LOCAL_IP] };
    sessions.push(s);
    out.push([s, OpCode.createSession, { timeout: 10_000, verifier: Buffer.from([int(256)]) }]);
  };
  const version = () => (r() < 0.6 ? -1 : int(3));
  const createReq = () => {
    const seq = r() < 0.25;
    return { path: seq ? pick(SEQ_BASES) : pick(PATHS), data: r() < 0.2 ? null : Buffer.from([int(256), int(256)]), acl: r() < 0.8 ? OPEN : pick(ACLS), flags: seq ? pick([2, 3, 6]) : pick([0, 0, 0, 1, 4, 5, 9]), ttl: pick([-1, 0, 50, 5000]) };
  };
  const subOp = (): MultiOp => {
    const k = int(4);
    if (k === 0) return { type: pick([OpCode.create, OpCode.create2, OpCode.createContainer, OpCode.createTTL] as const), req: createReq() } as MultiOp;
    if (k === 1) return { type: OpCode.delete, req: { path: pick(PATHS), version: version() } };
    if (k === 2) return { type: OpCode.setData, req: { path: pick(PATHS), data: Buffer.from([int(9)]), version: version() } };
    return { type: OpCode.check, req: { path: pick(PATHS), version: version() } };
  };
  newSession();
  newSession();
  for (let i = 0; i < count; i++) {
    const s = pick(sessions);
    const x = r();
    if (x < 0.3) out.push([s, pick([OpCode.create, OpCode.create2, OpCode.createContainer, OpCode.createTTL]), createReq()]);
    else if (x < 0.45) out.push([s, OpCode.delete, { path: pick(PATHS), version: version() }]);
    else if (x < 0.57) out.push([s, OpCode.setData, { path: pick(PATHS), data: Buffer.from([int(256)]), version: version() }]);
    else if (x < 0.62) out.push([s, OpCode.setACL, { path: pick(PATHS), acl: pick(ACLS), version: version() }]);
    else if (x < 0.65) out.push([s, OpCode.check, { path: pick(PATHS), version: version() }]);
    else if (x < 0.78) out.push([s, OpCode.multi, Array.from({ length: 1 + int(4) }, subOp)]);
    else if (x < 0.83) newSession();
    else if (x < 0.88) out.push([pick(sessions), OpCode.closeSession, undefined]);
    else if (x < 0.96) out.push([{ sessionId: 0n, ids: [] }, OpCode.deleteContainer, { path: pick(PATHS) }]);
    else out.push([s, OpCode.reconfig, {}]);
  }
  return out;
}

function replay(log: Array<{ hdr: TxnHeader; txn: Txn }>, tree = new DataTree()): DataTree {
  for (const { hdr, txn } of log) tree.apply(hdr, txn);
  return tree;
}

const SEEDS = [1, 2, 3, 4, 5, 6, 7, 8, 42, 1234];

describe.each(SEEDS)('random history, seed %i', (seed) => {
  const requests = generate(seed, 400);
  const h = new Harness();
  for (const [auth, op, req] of requests) {
    h.write(auth, op, req);
  }

  it('exercised the interesting paths', () => {
    const kinds = new Set(h.log.map((p) => p.txn.type));
    expect(kinds.has('create') && kinds.has('multi') && kinds.has('error') && kinds.has('closeSession')).toBe(true);
    expect(h.tree.nodeCount).toBeGreaterThan(5);
    h.tree.checkInvariants();
  });

  it('replays from the encoded log to the same digest', () => {
    const decoded = h.log.map(({ hdr, txn }) => decodeTxn(encodeTxn(hdr, txn)));
    expect(decoded).toEqual(h.log.map(({ hdr, txn }) => ({ hdr, txn: normalize(txn) })));
    const t = replay(decoded);
    expect(t.digest()).toBe(h.tree.digest());
    expect(t.lastZxid).toBe(h.tree.lastZxid);
    t.checkInvariants();
  });

  it('snapshot at any point plus the rest of the log equals the full replay', () => {
    const r = rng(seed * 7919);
    for (let k = 0; k < 5; k++) {
      const cut = Math.floor(r() * h.log.length);
      const head = replay(h.log.slice(0, cut));
      const bytes = encodeSnapshot(head);
      const loaded = decodeSnapshot(bytes);
      loaded.checkInvariants();
      expect(loaded.digest()).toBe(head.digest());
      expect(encodeSnapshot(loaded).equals(bytes)).toBe(true);
      replay(h.log.slice(cut), loaded);
      expect(loaded.digest()).toBe(h.tree.digest());
      loaded.checkInvariants();
    }
  });

  it('a snapshot taken in slices while the log goes on is the tree where it began', () => {
    const r = rng(seed * 104729);
    for (let k = 0; k < 8; k++) {
      const cut = Math.floor(r() * h.log.length);
      const live = replay(h.log.slice(0, cut));
      const atCut = live.digest();
      const enc = new SnapshotEncoder(live);
      let next = cut;
      // A few nodes, then a few transactions, until both are through.
      while (!enc.step(Math.floor(r() * 3))) {
        for (let n = Math.floor(r() * 4); n > 0 && next < h.log.length; n--, next++) live.apply(h.log[next]!.hdr, h.log[next]!.txn);
      }
      replay(h.log.slice(next), live);
      expect(live.digest()).toBe(h.tree.digest());
      live.checkInvariants();
      const loaded = decodeSnapshot(enc.finish());
      loaded.checkInvariants();
      expect(loaded.lastZxid).toBe(h.log[cut - 1]?.hdr.zxid ?? 0);
      expect(loaded.digest()).toBe(atCut);
      replay(h.log.slice(cut), loaded);
      expect(loaded.digest()).toBe(h.tree.digest());
      expect([...loaded.walk()].map(([path]) => path)).toEqual([...h.tree.walk()].map(([path]) => path));
    }
  });

  it('group-committed prep yields the same txns as one-at-a-time prep', () => {
    const b = new Harness();
    const r = rng(seed * 31);
    for (let i = 0; i < requests.length; ) {
      const n = 1 + Math.floor(r() * 12);
      const batch = b.prepareBatch(requests.slice(i, i + n));
      for (const p of batch) b.commit(p);
      i += n;
    }
    expect(b.log.map((p) => p.txn)).toEqual(h.log.map((p) => p.txn));
    expect(b.tree.digest()).toBe(h.tree.digest());
    expect(b.prep.pending).toBe(0);
  });
});

/** Decoding yields Buffers and plain arrays; compare in those terms. */
function normalize(txn: Txn): Txn {
  return decodeTxn(encodeTxn({ sessionId: 0n, cxid: 0, zxid: 1, time: 0, type: 0 }, txn)).txn;
}

describe('digest', () => {
  it('does not depend on the order nodes sit in the maps', () => {
    const h = new Harness();
    const s = h.session();
    for (const p of ['/a', '/b', '/a/c', '/b/d', '/a/e']) h.create(s, p);
    h.delete(s, '/a/c');
    h.create(s, '/a/c');
    // a loaded snapshot holds the nodes in tree order, not creation order
    const loaded = decodeSnapshot(encodeSnapshot(h.tree));
    expect(loaded.getNode('/a')!.childNames()).toEqual(['e', 'c']);
    expect(loaded.digest()).toBe(h.tree.digest());
  });

  it('one frozen walk at a time; an abandoned one lets the next begin', () => {
    const h = new Harness();
    h.create(h.session(), '/x');
    const first = new SnapshotEncoder(h.tree);
    expect(() => new SnapshotEncoder(h.tree)).toThrow(/already open/);
    first.abandon();
    const second = new SnapshotEncoder(h.tree);
    expect(second.step(Infinity)).toBe(true);
    expect(decodeSnapshot(second.finish()).digest()).toBe(h.tree.digest());
    expect(() => first.finish()).toThrow(/not complete/);
  });

  it('changes with data, ACL and stat fields', () => {
    const h = new Harness();
    const s = h.session();
    h.create(s, '/x');
    const seen = new Set([h.tree.digest()]);
    h.setData(s, '/x', Buffer.from('1'));
    seen.add(h.tree.digest());
    h.create(s, '/x/c');
    seen.add(h.tree.digest());
    h.write(s, OpCode.setACL, { path: '/x', acl: [{ perms: 1, id: { scheme: 'world', id: 'anyone' } }], version: -1 });
    seen.add(h.tree.digest());
    expect(seen.size).toBe(4);
  });
});
