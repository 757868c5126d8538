import { describe, expect, it } from 'vitest';
import { OpCode, encodeRequest, type Forwarded, type LogEntry } from '@zooid/protocol';
import { DataTree, Preparer, configOf, staticConfigTxn, voterIds, type Txn, type TxnHeader } from '@zooid/tree';
import type { LogRecord } from '@zooid/store';
import { History, LeaderCore, makeZxid, type Effects } from '@zooid/zab';
import { WritePipeline, type SyncMark } from '../src/pipeline.js';

const world = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
const create = (cxid: number, path: string): Forwarded => ['w', '2', 7n, cxid, OpCode.create, encodeRequest({ xid: cxid, type: OpCode.create }, { path, data: Buffer.from('x'), acl: world, flags: 0 }).subarray(8), []];
const sync = (cxid: number, path: string): Forwarded => ['w', '2', 7n, cxid, OpCode.sync, encodeRequest({ xid: cxid, type: OpCode.sync }, { path }).subarray(8), []];

/** A write pipeline on a tree, with a disk whose flushes the test completes and a turn the test ends. */
function harness(epoch = 1) {
  const tree = new DataTree();
  const turn: (() => void)[] = [];
  const flushes: (() => void)[] = [];
  const appended: LogRecord[] = [];
  const proposed: LogEntry[] = [];
  /** The proposals marked as configuration changes, with their voters. */
  const reconfigs: [number, string[]][] = [];
  const durable: number[] = [];
  const committed: [TxnHeader, Txn][] = [];
  const synced: SyncMark[] = [];
  const pipeline = new WritePipeline(
    {
      log: { append: (r) => appended.push(...r), flush: () => new Promise<void>((resolve) => flushes.push(resolve)) },
      preparer: new Preparer(tree),
      proposed: (e, voters) => {
        proposed.push(e);
        if (voters) reconfigs.push([e[0], voters]);
      },
      durable: (z) => durable.push(z),
      commit: (hdr, txn) => {
        tree.apply(hdr, txn);
        committed.push([hdr, txn]);
      },
      synced: (m) => synced.push(m),
      now: () => 1000,
      defer: (fn) => turn.push(fn),
      fatal: (err) => {
        throw err;
      },
    },
    0,
    epoch,
  );
  // Session 7 exists, committed at zxid 1 of the epoch: the tests' writes start at 2.
  pipeline.submit('2', [['s', '2', 7n, 30_000, new Uint8Array(32)]]);
  pipeline.commitUpTo(makeZxid(epoch, 1));
  for (const list of [appended, proposed, committed]) list.length = 0;
  /** The turn ends: the deferred group commit starts its flush. */
  const endTurn = () => turn.splice(0).forEach((fn) => fn());
  /** The disk completes the oldest flush outstanding. */
  const completeFlush = async () => {
    flushes.shift()!();
    await new Promise((r) => setImmediate(r));
  };
  return { tree, pipeline, appended, proposed, reconfigs, durable, committed, synced, endTurn, completeFlush, flushes };
}

describe('the leader write pipeline', () => {
  it("gives a turn's writes consecutive zxids of its epoch and makes them durable with one flush", async () => {
    const h = harness(3);
    h.pipeline.submit('2', [create(1, '/a'), create(2, '/b')]);
    h.pipeline.submit('2', [create(3, '/c')]);
    expect(h.proposed.map(([z]) => z)).toEqual([makeZxid(3, 2), makeZxid(3, 3), makeZxid(3, 4)]);
    expect(h.appended).toHaveLength(3);
    expect(h.durable).toEqual([]);
    h.endTurn();
    expect(h.flushes).toHaveLength(1);
    await h.completeFlush();
    expect(h.durable).toEqual([makeZxid(3, 4)]);
  });

  it('writes arriving during a flush wait for the next one', async () => {
    const h = harness();
    h.pipeline.submit('2', [create(1, '/a')]);
    h.endTurn();
    h.pipeline.submit('2', [create(2, '/b')]);
    h.endTurn();
    expect(h.flushes).toHaveLength(1);
    await h.completeFlush();
    expect(h.durable).toEqual([makeZxid(1, 2)]);
    h.endTurn();
    await h.completeFlush();
    expect(h.durable).toEqual([makeZxid(1, 2), makeZxid(1, 3)]);
  });

  it('commits in zxid order up to the commit point, and answers a sync only after the writes before it', async () => {
    const h = harness();
    h.pipeline.submit('2', [create(1, '/a'), sync(2, '/a'), create(3, '/a/b')]);
    expect(h.synced).toEqual([]);
    h.pipeline.commitUpTo(makeZxid(1, 2));
    expect(h.committed.map(([hdr]) => hdr.zxid)).toEqual([makeZxid(1, 2)]);
    expect(h.synced).toEqual([{ learner: '2', sessionId: 7n, cxid: 2, path: '/a' }]);
    h.pipeline.commitUpTo(makeZxid(1, 3));
    expect(h.tree.getNode('/a/b')).toBeDefined();
    expect(h.pipeline.outstanding).toBe(0);
  });

  it('a transaction the leader makes whole (the static configuration) takes the next zxid and is proposed as the configuration change it is', async () => {
    const h = harness(2);
    const txn = staticConfigTxn(h.tree, ['1', '2', '3'], makeZxid(2, 0))!;
    h.pipeline.submitTxn(txn);
    h.pipeline.submit('2', [create(1, '/a')]);
    expect(h.proposed.map(([z]) => z)).toEqual([makeZxid(2, 2), makeZxid(2, 3)]);
    expect(h.reconfigs).toEqual([[makeZxid(2, 2), ['1', '2', '3']]]);
    h.endTurn();
    await h.completeFlush();
    h.pipeline.commitUpTo(makeZxid(2, 3));
    expect(h.committed.map(([hdr]) => [hdr.zxid, hdr.type, hdr.sessionId])).toEqual([
      [makeZxid(2, 2), OpCode.reconfig, 0n],
      [makeZxid(2, 3), OpCode.create, 7n],
    ]);
    const shown = configOf(h.tree)!;
    expect([shown.version, voterIds(shown)]).toEqual([makeZxid(2, 0), ['1', '2', '3']]);
  });

  it("a malformed request takes a zxid as an error transaction, keeping its place in the session's order", () => {
    const h = harness();
    h.pipeline.submit('2', [create(1, '/a'), ['w', '2', 7n, 2, OpCode.create, new Uint8Array([1, 2]), []], create(3, '/b')]);
    h.pipeline.commitUpTo(makeZxid(1, 4));
    expect(h.committed.map(([hdr, txn]) => [hdr.cxid, txn.type])).toEqual([
      [1, 'create'],
      [2, 'error'],
      [3, 'create'],
    ]);
  });
});

describe('the leader core and its write pipeline, wired as the leader host wires them', () => {
  it('a write to a lone voter is proposed, made durable, committed and broadcast with its commit point', async () => {
    const h = harness();
    const history = new History(0);
    const core = new LeaderCore({ id: '1', voters: ['1'], maxMessageBytes: 1 << 20, tickTime: 100, initLimit: 10, syncLimit: 5 }, { acceptedEpoch: 0, currentEpoch: 0, lastLogged: 0 }, history);
    const out: Effects = [];
    const run = (fx: Effects) => {
      for (const e of fx) {
        out.push(e);
        if (e.type === 'commit') h.pipeline.commitUpTo(e.zxid);
      }
    };
    run(core.start(0));
    expect(core.epoch).toBe(1);
    h.pipeline.submit('2', [create(1, '/a')]);
    for (const e of h.proposed) {
      history.append(e);
      run(core.propose([e]));
    }
    run(core.flush(1));
    h.endTurn();
    await h.completeFlush();
    run(core.durable(h.durable.at(-1)!, 2));
    expect(h.tree.getNode('/a')).toBeDefined();
    run(core.flush(3));
    const broadcasts = out.flatMap((e) => (e.type === 'broadcast' ? [e.msg] : []));
    expect(broadcasts.map((b) => [b.seq, b.proposals.length, b.commit])).toEqual([
      [1, 1, 0],
      [2, 0, makeZxid(1, 2)],
    ]);
  });
});
