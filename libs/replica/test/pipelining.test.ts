import { describe, expect, it } from 'vitest';
import { OpCode, encodeRequest, type Forwarded, type LearnerToGw } from '@zooid/protocol';
import { DataTree } from '@zooid/tree';
import { Replica } from '../src/replica.js';

const turn = () => new Promise((r) => setImmediate(r));

/** A replica with one session attached through gateway 'gw', and what it sends. */
async function attached() {
  const forwarded: Forwarded[][] = [];
  const sent: LearnerToGw[] = [];
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
      warn: () => undefined,
    },
    tree,
  );
  replica.fromGateway('gw', [['c', 1, { lastZxidSeen: 0, timeOut: 10000, sessionId: 0n, passwd: new Uint8Array(16), readOnly: false, hasReadOnlyByte: true, ip: '127.0.0.1' }]]);
  await turn();
  const create = forwarded.shift()![0]!;
  expect(create[0]).toBe('s');
  const sessionId = create[2] as bigint;
  replica.committed({ sessionId, cxid: 0, zxid: 1, time: 0, type: OpCode.createSession }, { type: 'createSession', sessionId, timeout: 10000, verifier: create[4] as Uint8Array });
  return { replica, forwarded, sent, sessionId };
}

const setData = (xid: number, path: string) => encodeRequest({ xid, type: OpCode.setData }, { path, data: Buffer.from('x'), version: -1 });
const getData = (xid: number, path: string) => encodeRequest({ xid, type: OpCode.getData }, { path, watch: false });

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
