import { describe, expect, it } from 'vitest';
import { OpCode, encodeRequest, type Forwarded, type GwToLearner, type LearnerToGw } from '@zooid/protocol';
import { DataTree } from '@zooid/tree';
import { Replica, type ReplicaOptions } from '../src/replica.js';

const turn = () => new Promise((r) => setImmediate(r));

/** A replica with one session attached through gateway 'gw' (one that acknowledges replies when `acks`), and what it sends. */
async function attached(opts: Partial<ReplicaOptions> = {}, acks?: boolean) {
  const forwarded: Forwarded[][] = [];
  const sent: LearnerToGw[] = [];
  const warned: string[] = [];
  const tree = new DataTree();
  const replica = new Replica(
    {
      id: 'L',
      tickTime: 2000,
      minSessionTimeout: 4000,
      maxSessionTimeout: 40000,
      tree: {},
      forward: (entries) => forwarded.push(entries),
      send: (_gw, entries) => sent.push(...entries),
      warn: (_fields, msg) => warned.push(msg),
      ...opts,
    },
    tree,
  );
  replica.fromGateway('gw', [['c', 1, { lastZxidSeen: 0, timeOut: 10000, sessionId: 0n, passwd: new Uint8Array(16), readOnly: false, hasReadOnlyByte: true, ip: '127.0.0.1', acks }]]);
  await turn();
  const create = forwarded.shift()![0]!;
  expect(create[0]).toBe('s');
  const sessionId = create[2] as bigint;
  replica.committed({ sessionId, cxid: 0, zxid: 1, time: 0, type: OpCode.createSession }, { type: 'createSession', sessionId, timeout: 10000, verifier: create[4] as Uint8Array });
  return { replica, forwarded, sent, warned, sessionId };
}

const setData = (xid: number, path: string) => encodeRequest({ xid, type: OpCode.setData }, { path, data: Buffer.from('x'), version: -1 });
const getData = (xid: number, path: string) => encodeRequest({ xid, type: OpCode.getData }, { path, watch: false });
const exists = (xid: number, path: string) => encodeRequest({ xid, type: OpCode.exists }, { path, watch: true });
/** The xids of the replies sent, and their bytes as the gateway counts them. */
const replies = (sent: LearnerToGw[]) => sent.flatMap((e) => (e[0] === 'o' ? [{ xid: Buffer.from(e[2]).readInt32BE(0), bytes: e[2].length + 4 }] : []));

describe('a session\'s requests on a learner', () => {
  it('sends consecutive writes to the leader together, without waiting for each commit', async () => {
    const { replica, forwarded, sessionId } = await attached();
    replica.fromGateway('gw', [
      ['r', 1, sessionId, setData(1, '/zookeeper')],
      ['r', 1, sessionId, setData(2, '/zookeeper')],
      ['r', 1, sessionId, setData(3, '/zookeeper')],
    ]);
    await turn();
    expect(forwarded.flat().map((e) => e[3])).toEqual([1, 2, 3]);
  });

  it('holds a read, and the writes after it, behind a write in flight (FIFO order)', async () => {
    const { replica, forwarded, sent, sessionId } = await attached();
    sent.length = 0;
    replica.fromGateway('gw', [
      ['r', 1, sessionId, setData(1, '/zookeeper')],
      ['r', 1, sessionId, getData(2, '/zookeeper')],
      ['r', 1, sessionId, setData(3, '/zookeeper')],
    ]);
    await turn();
    expect(forwarded.flat().map((e) => e[3])).toEqual([1]);
    expect(sent.filter((e) => e[0] === 'o')).toEqual([]);
  });
});

describe('the reply window', () => {
  it('stops serving reads once a window of replies is unacknowledged, and goes on in order as acks come', async () => {
    const window = 300;
    const { replica, forwarded, sent, sessionId } = await attached({ replyWindow: window }, true);
    sent.length = 0;
    replica.fromGateway('gw', [...Array.from({ length: 20 }, (_, i): GwToLearner => ['r', 1, sessionId, getData(i + 1, '/zookeeper')]), ['r', 1, sessionId, setData(21, '/zookeeper')]]);
    await turn();
    const first = replies(sent);
    const held = first.reduce((n, r) => n + r.bytes, 0);
    // Up to the window and one reply over it, no more.
    expect(held).toBeGreaterThanOrEqual(window);
    expect(held - first.at(-1)!.bytes).toBeLessThan(window);
    // The write waits behind the reads it followed.
    expect(forwarded.flat()).toEqual([]);
    let acked = 0;
    for (let round = 0; round < 20 && replies(sent).length < 20; round++) {
      const total = replies(sent).reduce((n, r) => n + r.bytes, 0);
      replica.fromGateway('gw', [['a', 1, sessionId, total - acked]]);
      acked = total;
      await turn();
    }
    expect(replies(sent).map((r) => r.xid)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(forwarded.flat().map((e) => e[3])).toEqual([21]);
  });

  it('does not hold a session whose gateway does not acknowledge (an older gateway)', async () => {
    const { replica, sent, sessionId } = await attached({ replyWindow: 300 });
    sent.length = 0;
    replica.fromGateway('gw', Array.from({ length: 20 }, (_, i): GwToLearner => ['r', 1, sessionId, getData(i + 1, '/zookeeper')]));
    await turn();
    expect(replies(sent)).toHaveLength(20);
  });
});

describe('the watch limit', () => {
  it('closes the connection of a request that takes the session over the limit, logged once', async () => {
    const { replica, sent, warned, sessionId } = await attached({ maxSessionWatches: 3 });
    sent.length = 0;
    replica.fromGateway('gw', [1, 2, 3, 1].map((n, i): GwToLearner => ['r', 1, sessionId, exists(i + 1, `/w${n}`)]));
    await turn();
    expect(replies(sent).map((r) => r.xid)).toEqual([1, 2, 3, 4]);
    expect(sent.some((e) => e[0] === 'x')).toBe(false);
    replica.fromGateway('gw', [['r', 1, sessionId, exists(5, '/w4')], ['r', 1, sessionId, getData(6, '/zookeeper')]]);
    await turn();
    expect(replies(sent).map((r) => r.xid)).toEqual([1, 2, 3, 4, 5]);
    expect(sent.filter((e) => e[0] === 'x')[0]).toEqual(['x', 1, 'too many watches']);
    expect(warned.filter((m) => m.includes('more watches than allowed'))).toHaveLength(1);
  });
});
