/**
 * A session that re-attaches on a new connection (another gateway, after a
 * bus or gateway hiccup) while writes of its old connection are in flight:
 * their answers belong to the old connection and are dropped, and the new
 * connection's requests still wait behind those writes.
 */
import { describe, expect, it } from 'vitest';
import { Err, JuteReader, OpCode, decodeConnectResponse, decodeRequest, encodeRequest, readReplyHeader, type ConnectAsk, type Forwarded, type LearnerToGw } from '@zooid/protocol';
import { DataTree, Preparer, txnType } from '@zooid/tree';
import { Replica } from '../src/replica.js';

const turn = () => new Promise((r) => setImmediate(r));

const ask = (sessionId: bigint, passwd: Uint8Array): ConnectAsk => ({ lastZxidSeen: 0, timeOut: 10000, sessionId, passwd, readOnly: false, hasReadOnlyByte: true, ip: '127.0.0.1' });

/** A replica and a stand-in leader that commits what it forwards, when told to. */
async function setup() {
  const forwarded: Forwarded[] = [];
  const sent: [gateway: string, entry: LearnerToGw][] = [];
  const tree = new DataTree();
  const replica = new Replica(
    {
      id: 'L',
      tickTime: 2000,
      minSessionTimeout: 4000,
      maxSessionTimeout: 40000,
      tree: {},
      forward: (entries) => forwarded.push(...entries),
      send: (gw, entries) => sent.push(...entries.map((e): [string, LearnerToGw] => [gw, e])),
      warn: () => undefined,
    },
    tree,
  );
  const preparer = new Preparer(tree, {});
  let zxid = 0;
  /** Commits the oldest forwarded entries, as the leader would; syncs are answered in their place. */
  const commit = (n = forwarded.length) => {
    for (const e of forwarded.splice(0, n)) {
      zxid++;
      if (e[0] === 's') {
        replica.committed({ sessionId: e[2], cxid: 0, zxid, time: 0, type: OpCode.createSession }, { type: 'createSession', sessionId: e[2], timeout: e[3], verifier: e[4] });
        continue;
      }
      const [, , sessionId, cxid, op, body] = e;
      const req = decodeRequest(op, new JuteReader(body)).req;
      if (op === OpCode.sync) {
        zxid--;
        replica.synced(sessionId, cxid, (req as { path: string }).path);
        continue;
      }
      const txn = preparer.prepare(op, req, { sessionId, ids: [] }, zxid, 0);
      replica.committed({ sessionId, cxid, zxid, time: 0, type: txnType(txn) }, txn);
      preparer.applied(zxid);
    }
  };
  replica.fromGateway('gw1', [['c', 1, ask(0n, new Uint8Array(16))]]);
  await turn();
  const create = forwarded[0]!;
  expect(create[0]).toBe('s');
  const sessionId = create[2] as bigint;
  commit();
  await turn();
  // The password reaches only the client, in its ConnectResponse; the leader got what verifies it.
  const answer = sent.find(([, e]) => e[0] === 'c')![1] as Extract<LearnerToGw, { 0: 'c' }>;
  const passwd = decodeConnectResponse(answer[3]).passwd;
  sent.length = 0;
  return { replica, forwarded, sent, sessionId, passwd, commit };
}

/** What one (gateway, conn) was sent: replies as [xid, err], closes as 'x'. */
function to(sent: [string, LearnerToGw][], gateway: string, conn: number): (string | [number, number])[] {
  return sent
    .filter(([gw, e]) => gw === gateway && e[1] === conn)
    .map(([, e]) => {
      if (e[0] !== 'o') return e[0];
      const h = readReplyHeader(new JuteReader(e[2]));
      return [h.xid, h.err];
    });
}

const create = (xid: number, path: string) => encodeRequest({ xid, type: OpCode.create }, { path, data: Buffer.from('x'), acl: [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }], flags: 0 });
const exists = (xid: number, path: string) => encodeRequest({ xid, type: OpCode.exists }, { path, watch: false });
const sync = (xid: number, path: string) => encodeRequest({ xid, type: OpCode.sync }, { path });
const closeSession = (xid: number) => encodeRequest({ xid, type: OpCode.closeSession }, undefined);

describe('a session that moves to a new connection with writes in flight', () => {
  it('drops the old connection\'s replies and answers the new connection\'s requests after them, in order', async () => {
    const { replica, forwarded, sent, sessionId, passwd, commit } = await setup();
    replica.fromGateway('gw1', [
      ['r', 1, sessionId, create(1184, '/a')],
      ['r', 1, sessionId, create(1185, '/b')],
    ]);
    await turn();
    expect(forwarded.map((e) => e[3])).toEqual([1184, 1185]);

    // The client reconnects through another gateway and asks at once.
    replica.fromGateway('gw2', [['c', 7, ask(sessionId, passwd)]]);
    replica.fromGateway('gw2', [['r', 7, sessionId, exists(1, '/a')]]);
    await turn();
    expect(to(sent, 'gw1', 1)).toEqual(['x']);
    expect(to(sent, 'gw2', 7)).toEqual(['c']);

    // The first write commits: nobody is answered, the read still waits behind the second.
    commit(1);
    await turn();
    expect(to(sent, 'gw2', 7)).toEqual(['c']);
    commit(1);
    await turn();
    // Only the new connection's own xid, and it sees both writes it waited for.
    expect(to(sent, 'gw2', 7)).toEqual(['c', [1, Err.OK]]);
    expect(to(sent, 'gw1', 1)).toEqual(['x']);
    expect(replica.tree.getNode('/b')).toBeDefined();
  });

  it('drops a sync answer of the old connection and keeps the new connection\'s writes behind it', async () => {
    const { replica, forwarded, sent, sessionId, passwd, commit } = await setup();
    replica.fromGateway('gw1', [['r', 1, sessionId, sync(40, '/')]]);
    await turn();
    replica.fromGateway('gw2', [['c', 2, ask(sessionId, passwd)]]);
    replica.fromGateway('gw2', [
      ['r', 2, sessionId, create(1, '/c')],
      ['r', 2, sessionId, exists(2, '/c')],
    ]);
    await turn();
    // Writes are pipelined behind the sync; the read waits for them all.
    expect(forwarded.map((e) => e[3])).toEqual([40, 1]);
    commit();
    await turn();
    expect(to(sent, 'gw2', 2)).toEqual(['c', [1, Err.OK], [2, Err.OK]]);
    expect(to(sent, 'gw1', 1)).toEqual(['x']);
  });

  it('does not answer an old connection\'s closeSession on the new one; the session\'s end still closes it', async () => {
    const { replica, forwarded, sent, sessionId, passwd, commit } = await setup();
    replica.fromGateway('gw1', [['r', 1, sessionId, closeSession(9)]]);
    await turn();
    replica.fromGateway('gw2', [['c', 3, ask(sessionId, passwd)]]);
    await turn();
    expect(forwarded.map((e) => e[4])).toEqual([OpCode.closeSession]);
    commit();
    await turn();
    expect(to(sent, 'gw2', 3)).toEqual(['c', 'x']);
    expect(replica.sessionCount).toBe(0);
  });

  it('answers on the connection a write came on when the session did not move', async () => {
    const { replica, sent, sessionId, commit } = await setup();
    replica.fromGateway('gw1', [['r', 1, sessionId, create(5, '/d')]]);
    await turn();
    commit();
    await turn();
    expect(to(sent, 'gw1', 1)).toEqual([[5, Err.OK]]);
  });
});
