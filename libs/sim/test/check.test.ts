import { describe, expect, it } from 'vitest';
import { Err, EventType, OpCode } from '@zooid/protocol';
import { encodeTxn, txnType, type Txn } from '@zooid/tree';
import { check } from '../src/check.js';
import { emptyRecord, type AppliedTxn, type History, type HistOp, type ZOp } from '../src/history.js';

const OPEN = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
const bytes = (s: string) => new TextEncoder().encode(s);

function txn(zxid: number, session: string, cxid: number, t: Txn): AppliedTxn {
  return { zxid, payload: encodeTxn({ sessionId: BigInt(`0x${session}`), cxid, zxid, time: 0, type: txnType(t) }, t) };
}
const create = (path: string, data: string, cv = 1): Txn => ({
  type: 'create',
  op: OpCode.create,
  path,
  data: bytes(data),
  acl: OPEN,
  kind: 'persistent',
  ephemeralOwner: 0n,
  parentCVersion: cv,
});
const setData = (path: string, data: string, version: number): Txn => ({ type: 'setData', path, data: bytes(data), version });

/**
 * A small, correct run: session a creates /k and sets it; session b reads /k
 * with a watch, gets the event, then reads the new value.
 */
function good(): History {
  const log = [txn(1, 'a', 1, create('/k', 'x')), txn(2, 'a', 2, setData('/k', 'y', 1))];
  const ops: HistOp[] = [
    op(1, 'a', 1, { type: 'create', path: '/k', data: 'x', ephemeral: false, sequential: false }, 0, 10, { err: Err.OK, zxid: 1, data: '/k' }),
    op(2, 'b', 1, { type: 'get', path: '/k', watch: true }, 11, 12, { err: Err.OK, zxid: 1, data: 'x', version: 0 }),
    op(3, 'a', 2, { type: 'set', path: '/k', data: 'y', version: 0 }, 13, 20, { err: Err.OK, zxid: 2, version: 1 }),
    op(4, 'b', 2, { type: 'get', path: '/k', watch: false }, 21, 22, { err: Err.OK, zxid: 2, data: 'y', version: 1 }),
  ];
  const ensemble = emptyRecord();
  ensemble.applied.set('m1#0', log);
  ensemble.applied.set('m2#0', log.slice());
  ensemble.leaders.push({ epoch: 1, member: 'm1', at: 0 });
  ensemble.final.push({ member: 'm1', lastZxid: 2, digest: 'd' }, { member: 'm2', lastZxid: 2, digest: 'd' });
  return {
    ops,
    ensemble,
    events: [
      reply(ops[0]!),
      reply(ops[1]!),
      { kind: 'watch', session: 'b', conn: 1, path: '/k', type: EventType.NodeDataChanged, at: 19 },
      reply(ops[2]!),
      reply(ops[3]!),
    ],
  };
}

function op(id: number, session: string, xid: number, o: ZOp, call: number, ret?: number, result?: HistOp['result']): HistOp {
  return { id, client: `c${session}`, session, conn: 1, xid, op: o, call, ret, result };
}
function reply(o: HistOp) {
  return { kind: 'reply' as const, session: o.session, conn: o.conn, op: o.id, xid: o.xid, zxid: o.result!.zxid, at: o.ret! };
}
const kinds = (h: History) => check(h, { quiescent: true }).violations.map((v) => v.kind);

describe('the history checker', () => {
  it('passes a correct history', () => {
    expect(check(good(), { quiescent: true })).toEqual({ violations: [], inconclusive: [] });
  });

  it('flags an acknowledged write the committed log does not hold', () => {
    const h = good();
    h.ensemble.applied.set('m1#0', h.ensemble.applied.get('m1#0')!.slice(0, 1));
    h.ensemble.applied.set('m2#0', h.ensemble.applied.get('m2#0')!.slice(0, 1));
    expect(kinds(h)).toContain('lost-write');
  });

  it('flags members that applied different transactions at one zxid', () => {
    const h = good();
    h.ensemble.applied.set('m2#0', [txn(1, 'a', 1, create('/k', 'x')), txn(2, 'a', 2, setData('/k', 'z', 1))]);
    expect(kinds(h)).toContain('logs-diverge');
  });

  it('flags a member that skipped a committed zxid', () => {
    const h = good();
    const log = h.ensemble.applied.get('m1#0')!;
    h.ensemble.applied.set('m1#0', [...log, txn(3, 'a', 3, setData('/k', 'w', 2))]);
    h.ensemble.applied.set('m2#0', [log[0]!, txn(3, 'a', 3, setData('/k', 'w', 2))]);
    expect(kinds(h)).toContain('logs-diverge');
  });

  it('flags a reply that says other than its committed transaction', () => {
    const h = good();
    h.ops[2]!.result = { err: Err.BADVERSION, zxid: 2 };
    expect(kinds(h)).toContain('reply-mismatch');
  });

  it('flags two creates of one key that both succeed', () => {
    const h = good();
    h.ops.push(op(5, 'c', 1, { type: 'create', path: '/k', data: 'q', ephemeral: false, sequential: false }, 30, 31, { err: Err.OK, zxid: 3, data: '/k' }));
    for (const life of h.ensemble.applied.values()) life.push(txn(3, 'c', 1, create('/k', 'q', 2)));
    h.ensemble.final = [];
    expect(kinds(h)).toEqual(['not-linearizable']);
  });

  it('flags a compare-and-set that succeeds on a version already replaced', () => {
    const h = good();
    h.ops.push(op(5, 'c', 1, { type: 'set', path: '/k', data: 'q', version: 0 }, 30, 31, { err: Err.OK, zxid: 3, version: 2 }));
    for (const life of h.ensemble.applied.values()) life.push(txn(3, 'c', 1, setData('/k', 'q', 2)));
    h.ensemble.final = [];
    expect(kinds(h)).toEqual(['not-linearizable']);
  });

  it('flags a write that took an older zxid than one answered before it was sent', () => {
    const h = good();
    h.ops[0]!.call = 14;
    h.ops[0]!.ret = 15;
    h.ops[2]!.call = 1;
    h.ops[2]!.ret = 2;
    expect(kinds(h)).toContain('not-linearizable');
  });

  it('accepts a write with no answer whether or not it took effect', () => {
    const h = good();
    h.ops.push(op(5, 'c', 1, { type: 'set', path: '/k', data: 'lost', version: -1 }, 14, undefined, undefined));
    expect(kinds(h)).toEqual([]);
  });

  it('flags a session that reads older than it has seen', () => {
    const h = good();
    h.ops.push(op(5, 'b', 3, { type: 'get', path: '/k', watch: false }, 23, 24, { err: Err.OK, zxid: 1, data: 'x', version: 0 }));
    h.events.push(reply(h.ops[4]!));
    expect(kinds(h)).toEqual(['stale-read']);
  });

  it('flags a read after a sync that misses a write answered before the sync', () => {
    const h = good();
    h.ops.push(
      op(5, 'c', 1, { type: 'sync' }, 21, 22, { err: Err.OK, zxid: 1 }),
      op(6, 'c', 2, { type: 'get', path: '/k', watch: false }, 21, 23, { err: Err.OK, zxid: 1, data: 'x', version: 0 }),
    );
    h.events.push(reply(h.ops[4]!), reply(h.ops[5]!));
    expect(kinds(h)).toEqual(['stale-read']);
    h.ops[4]!.call = 15;
    expect(kinds(h)).toEqual([]);
  });

  it('flags a read that does not match the tree at its zxid', () => {
    const h = good();
    h.ops[3]!.result = { err: Err.OK, zxid: 2, data: 'x', version: 0 };
    expect(kinds(h)).toEqual(['read-mismatch']);
  });

  it('flags replies out of the order their requests were sent', () => {
    const h = good();
    h.ops.push(op(5, 'b', 3, { type: 'get', path: '/k', watch: false }, 23, 24, { err: Err.OK, zxid: 2, data: 'y', version: 1 }));
    h.events.push(reply(h.ops[4]!), { ...reply(h.ops[3]!), at: 25 });
    expect(kinds(h)).toContain('fifo');
  });

  it('flags a reply that reflects a change before the watch event it fired', () => {
    const h = good();
    const [watch] = h.events.splice(2, 1);
    h.events.push(watch!);
    expect(kinds(h)).toEqual(['watch-order']);
  });

  it('flags members that end with different trees', () => {
    const h = good();
    h.ensemble.final[1]!.digest = 'e';
    expect(kinds(h)).toEqual(['digests-differ']);
  });

  it('flags a member that ends behind a write a client was told of', () => {
    const h = good();
    h.ensemble.final[1]!.lastZxid = 1;
    expect(kinds(h)).toEqual(['lost-write']);
  });

  it('flags a member life that applied what the ensemble at rest does not hold', () => {
    const h = good();
    h.ensemble.applied.set('m3#0', [...h.ensemble.applied.get('m1#0')!, txn(3, 'a', 9, setData('/k', 'z', 2))]);
    expect(kinds(h)).toEqual(['logs-diverge', 'logs-diverge']);
  });

  it('flags two leaders of one epoch', () => {
    const h = good();
    h.ensemble.leaders.push({ epoch: 1, member: 'm2', at: 5 });
    expect(kinds(h)).toEqual(['two-leaders']);
  });

  it('flags a session expired by a member that was not leading', () => {
    const h = good();
    h.ensemble.expiries.push({ session: 'b', by: 'm2', leading: false, at: 30 });
    expect(kinds(h)).toEqual(['expiry-not-by-leader']);
  });

  describe('configuration safety', () => {
    // Static voters 1, 2, 3; the second transaction changes them to 1, 4, 5.
    const config = 'server.1=zooid-1:2888:3888:participant;0.0.0.0:2181\nserver.4=zooid-4:2888:3888:participant;0.0.0.0:2181\nserver.5=zooid-5:2888:3888:participant;0.0.0.0:2181\nversion=2';
    function reconfigured(holders: string[][]): History {
      const h = good();
      const log = [txn(1, 'a', 1, create('/k', 'x')), txn(2, 'a', 2, { type: 'reconfig', data: bytes(config) }), txn(3, 'a', 3, setData('/k', 'y', 1))];
      h.ops = h.ops.slice(0, 1);
      h.events = h.events.slice(0, 1);
      h.ensemble.voters = ['1', '2', '3'];
      h.ensemble.applied = new Map([['1#0', log], ['4#0', log.slice()]]);
      h.ensemble.final = [{ member: '1', lastZxid: 3, digest: 'd' }, { member: '4', lastZxid: 3, digest: 'd' }];
      holders.forEach((held, i) => h.ensemble.holders.set(i + 1, held));
      return h;
    }

    it('passes commits on a quorum of the voters in force, and a change on both quorums', () => {
      expect(kinds(reconfigured([['1', '2'], ['1', '3', '4'], ['4', '5']]))).toEqual([]);
    });

    it('flags a transaction committed while durable on less than a quorum of the voters', () => {
      expect(kinds(reconfigured([['1', '4'], ['1', '3', '4'], ['4', '5']]))).toEqual(['no-quorum']);
      // After the change, the old voters no longer count.
      expect(kinds(reconfigured([['1', '2'], ['1', '3', '4'], ['2', '3', '4']]))).toEqual(['no-quorum']);
    });

    it('flags a configuration change committed without a quorum of the old voters, or of the new', () => {
      expect(kinds(reconfigured([['1', '2'], ['1', '4', '5'], ['4', '5']]))).toEqual(['no-quorum']);
      expect(kinds(reconfigured([['1', '2'], ['1', '2', '3'], ['4', '5']]))).toEqual(['no-quorum']);
    });

    it('flags a member that took as committed a configuration the committed log does not hold', () => {
      const h = reconfigured([]);
      h.ensemble.configs.push({ member: '4', version: 2, text: config, at: 5 });
      expect(kinds(h)).toEqual([]);
      h.ensemble.configs.push({ member: '2', version: 3, text: config.replace('version=2', 'version=3'), at: 6 });
      expect(kinds(h)).toEqual(['config-not-committed']);
    });
  });
});
