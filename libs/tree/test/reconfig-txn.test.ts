import { describe, expect, it } from 'vitest';
import { EventType, Err, JuteReader, OpCode, decodeRequest, encodeReply, encodeRequest, readRequestHeader, type Stat } from '@zooid/protocol';
import { DataTree, decodeSnapshot, decodeTxn, encodeSnapshot, encodeTxn, formatConfig, parseConfig, txnType, type ReconfigTxn, type TxnHeader } from '../src/index.js';
import { Harness } from './harness.js';

const CONFIG = '/zookeeper/config';
const THREE = parseConfig(
  'server.1=zk1:2888:3888:participant;0.0.0.0:2181\nserver.2=zk2:2888:3888:participant;0.0.0.0:2181\nserver.3=zk3:2888:3888:participant;0.0.0.0:2181\nversion=100000000',
);

describe('the reconfig txn', () => {
  const data = Buffer.from(formatConfig({ ...THREE, version: 0x100000002 }), 'utf8');
  const txn: ReconfigTxn = { type: 'reconfig', data };
  const hdr: TxnHeader = { sessionId: 0x100000923710000n, cxid: 4, zxid: 0x100000002, time: 1_700_000_000_123, type: txnType(txn) };

  it('is logged under OpCode.reconfig and round-trips through the codec', () => {
    expect(hdr.type).toBe(OpCode.reconfig);
    const buf = encodeTxn(hdr, txn);
    expect(decodeTxn(buf)).toEqual({ hdr, txn });
    expect(() => decodeTxn(buf.subarray(0, buf.length - 1))).toThrow(RangeError);
  });

  it("sets /zookeeper/config's data, leaves its version at -1 and answers a GetDataResponse, byte for byte", () => {
    const tree = new DataTree();
    const r = tree.apply(hdr, txn);
    expect(r.err).toBe(Err.OK);
    const stat = {
      czxid: 0,
      mzxid: 0x100000002,
      ctime: 0,
      mtime: 1_700_000_000_123,
      version: -1,
      cversion: 0,
      aversion: -1,
      ephemeralOwner: 0n,
      dataLength: data.length,
      numChildren: 0,
      pzxid: 0,
    };
    expect(r.response).toEqual({ data, stat });
    const reply = encodeReply({ xid: 4, zxid: 0x100000002, err: 0 }, OpCode.reconfig, r.response as { data: Uint8Array; stat: Stat });
    const expected = Buffer.alloc(16 + 4 + data.length + 68);
    let o = expected.writeInt32BE(4, 0);
    o = expected.writeBigInt64BE(0x100000002n, o);
    o = expected.writeInt32BE(0, o);
    o = expected.writeInt32BE(data.length, o);
    o += data.copy(expected, o);
    o = expected.writeBigInt64BE(0n, o); // czxid
    o = expected.writeBigInt64BE(0x100000002n, o); // mzxid
    o = expected.writeBigInt64BE(0n, o); // ctime
    o = expected.writeBigInt64BE(1_700_000_000_123n, o); // mtime
    o = expected.writeInt32BE(-1, o); // version
    o = expected.writeInt32BE(0, o); // cversion
    o = expected.writeInt32BE(-1, o); // aversion
    o = expected.writeBigInt64BE(0n, o); // ephemeralOwner
    o = expected.writeInt32BE(data.length, o);
    o = expected.writeInt32BE(0, o); // numChildren
    expected.writeBigInt64BE(0n, o); // pzxid
    expect(reply.toString('hex')).toBe(expected.toString('hex'));
  });

  it('fires a data watch on /zookeeper/config and is what getConfig (getData of the config path) then reads', () => {
    const h = new Harness();
    const s = h.session();
    expect(h.read(s, OpCode.getData, { path: CONFIG, watch: true }).err).toBe(Err.OK);
    const r = h.commit(h.internal(txn, s.sessionId));
    expect(r.notifications.map((n) => [n.sessionId, n.event.type, n.event.path])).toEqual([[s.sessionId, EventType.NodeDataChanged, CONFIG]]);
    const read = h.read(s, OpCode.getData, { path: CONFIG, watch: false });
    expect(read.response).toMatchObject({ data, stat: { version: -1, mzxid: r.zxid } });
    expect(parseConfig(Buffer.from((read.response as { data: Uint8Array }).data).toString('utf8'))).toEqual({ ...THREE, version: 0x100000002 });
  });

  it('survives a snapshot: a restarted member reads its configuration back from the tree', () => {
    const tree = new DataTree();
    tree.apply(hdr, txn);
    const back = decodeSnapshot(encodeSnapshot(tree));
    expect(back.digest()).toBe(tree.digest());
    expect(Buffer.from(back.getNode(CONFIG)!.data!).toString('utf8')).toBe(data.toString('utf8'));
  });
});

describe('the wire records', () => {
  it('decodes the ReconfigRequest zkCli sends for `reconfig -add server.4=zk4:2888:3888;2181`', () => {
    const joining = 'server.4=zk4:2888:3888;2181';
    const frame = Buffer.concat([
      Buffer.from('0000000700000010', 'hex'), // xid 7, opcode 16
      Buffer.from([0, 0, 0, joining.length]),
      Buffer.from(joining),
      Buffer.from('ffffffffffffffff', 'hex'), // leavingServers, newMembers: null
      Buffer.from('ffffffffffffffff', 'hex'), // curConfigId -1
    ]);
    const body = { joiningServers: joining, leavingServers: null, newMembers: null, curConfigId: -1 };
    expect(encodeRequest({ xid: 7, type: OpCode.reconfig }, body).toString('hex')).toBe(frame.toString('hex'));
    const r = new JuteReader(frame);
    expect(readRequestHeader(r)).toEqual({ xid: 7, type: OpCode.reconfig });
    expect(decodeRequest(OpCode.reconfig, r)).toEqual({ type: OpCode.reconfig, req: body });
  });
});
