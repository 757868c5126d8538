import { describe, expect, it } from 'vitest';
import { AddWatchMode, CreateFlags, Err, OpCode, Perms, WatcherType, Xid } from '../src/constants.js';
import { JuteError, JuteReader, JuteWriter } from '../src/jute.js';
import { decodeReply, encodeNotification, encodeReply, readReplyHeader, type ReplyOp, type ResponseBodies } from '../src/replies.js';
import type { ACL, MultiOp, Stat } from '../src/records.js';
import { decodeRequest, encodeRequest, isRequestOp, readRequestHeader, type RequestBodies, type RequestOp } from '../src/requests.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

const stat: Stat = {
  czxid: 0x100000002,
  mzxid: 0x100000009,
  ctime: 1_700_000_000_123,
  mtime: 1_700_000_000_456,
  version: 3,
  cversion: -1,
  aversion: 2,
  ephemeralOwner: 0x1000a6bd0ae0000n,
  dataLength: 5,
  numChildren: 0,
  pzxid: 0x100000002,
};
const acl: ACL[] = [
  { perms: Perms.ALL, id: { scheme: 'world', id: 'anyone' } },
  { perms: Perms.READ | Perms.ADMIN, id: { scheme: 'digest', id: 'alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=' } },
];
const data = Buffer.from('hello');

const txnOps: MultiOp[] = [
  { type: OpCode.create, req: { path: '/m/a', data, acl, flags: CreateFlags.PERSISTENT } },
  { type: OpCode.create2, req: { path: '/m/b', data: null, acl, flags: CreateFlags.EPHEMERAL } },
  { type: OpCode.createContainer, req: { path: '/m/c', data: null, acl, flags: CreateFlags.CONTAINER } },
  { type: OpCode.createTTL, req: { path: '/m/t', data, acl, flags: CreateFlags.PERSISTENT_WITH_TTL, ttl: 5000 } },
  { type: OpCode.delete, req: { path: '/m/d', version: -1 } },
  { type: OpCode.setData, req: { path: '/m/a', data, version: 0 } },
  { type: OpCode.check, req: { path: '/m', version: 4 } },
];
const readOps: MultiOp[] = [
  { type: OpCode.getData, req: { path: '/m/a', watch: false } },
  { type: OpCode.getChildren, req: { path: '/m', watch: false } },
];

/** One sample body per opcode; the mapped type makes the table complete. */
const REQUESTS: { [K in RequestOp]: RequestBodies[K] } = {
  [OpCode.create]: { path: '/a', data, acl, flags: CreateFlags.EPHEMERAL_SEQUENTIAL },
  [OpCode.delete]: { path: '/a', version: 7 },
  [OpCode.exists]: { path: '/a', watch: true },
  [OpCode.getData]: { path: '/a', watch: false },
  [OpCode.setData]: { path: '/a', data: null, version: -1 },
  [OpCode.getACL]: { path: '/a' },
  [OpCode.setACL]: { path: '/a', acl, version: 2 },
  [OpCode.getChildren]: { path: '/', watch: true },
  [OpCode.sync]: { path: '/a' },
  [OpCode.ping]: undefined,
  [OpCode.getChildren2]: { path: '/a', watch: true },
  [OpCode.check]: { path: '/a', version: 1 },
  [OpCode.multi]: txnOps,
  [OpCode.create2]: { path: '/b', data: Buffer.alloc(0), acl, flags: CreateFlags.PERSISTENT },
  [OpCode.reconfig]: { joiningServers: null, leavingServers: '2,3', newMembers: null, curConfigId: -1 },
  [OpCode.checkWatches]: { path: '/a', type: WatcherType.Data },
  [OpCode.removeWatches]: { path: '/a', type: WatcherType.Any },
  [OpCode.createContainer]: { path: '/c', data, acl, flags: CreateFlags.CONTAINER },
  [OpCode.createTTL]: { path: '/t', data, acl, flags: CreateFlags.PERSISTENT_SEQUENTIAL_WITH_TTL, ttl: 2 ** 40 },
  [OpCode.multiRead]: readOps,
  [OpCode.auth]: { type: 0, scheme: 'digest', auth: Buffer.from('alice:secret') },
  [OpCode.setWatches]: { relativeZxid: 0x500000001, dataWatches: ['/a'], existWatches: [], childWatches: ['/', '/b'] },
  [OpCode.sasl]: { token: Buffer.from([1, 2, 3]) },
  [OpCode.getEphemerals]: { prefixPath: '/app' },
  [OpCode.getAllChildrenNumber]: { path: '/a' },
  [OpCode.setWatches2]: {
    relativeZxid: 9,
    dataWatches: [],
    existWatches: ['/x'],
    childWatches: [],
    persistentWatches: ['/p'],
    persistentRecursiveWatches: ['/r', '/s'],
  },
  [OpCode.addWatch]: { path: '/a', mode: AddWatchMode.PERSISTENT_RECURSIVE },
  [OpCode.whoAmI]: undefined,
  [OpCode.closeSession]: undefined,
};

const RESPONSES: { [K in ReplyOp]: ResponseBodies[K] } = {
  [OpCode.notification]: { type: 3, state: 3, path: '/a' },
  [OpCode.create]: { path: '/a0000000001' },
  [OpCode.delete]: undefined,
  [OpCode.exists]: { stat },
  [OpCode.getData]: { data, stat },
  [OpCode.setData]: { stat },
  [OpCode.getACL]: { acl, stat },
  [OpCode.setACL]: { stat },
  [OpCode.getChildren]: { children: ['a', 'b', 'ünï'] },
  [OpCode.sync]: { path: '/a' },
  [OpCode.ping]: undefined,
  [OpCode.getChildren2]: { children: [], stat },
  [OpCode.check]: { stat },
  [OpCode.multi]: [
    { type: OpCode.create, path: '/m/a' },
    { type: OpCode.create2, path: '/m/b', stat },
    { type: OpCode.delete },
    { type: OpCode.setData, stat },
    { type: OpCode.check },
  ],
  [OpCode.create2]: { path: '/b', stat },
  [OpCode.reconfig]: { data: Buffer.from('server.1=h:2888:3888:participant;0.0.0.0:2181\nversion=100000000'), stat },
  [OpCode.checkWatches]: undefined,
  [OpCode.removeWatches]: undefined,
  [OpCode.createContainer]: { path: '/c', stat },
  [OpCode.createTTL]: { path: '/t', stat },
  [OpCode.multiRead]: [
    { type: OpCode.getData, data: null, stat },
    { type: OpCode.getChildren, children: ['x'] },
    { type: OpCode.error, err: Err.NONODE },
  ],
  [OpCode.auth]: undefined,
  [OpCode.setWatches]: undefined,
  [OpCode.sasl]: { token: Buffer.from('challenge') },
  [OpCode.getEphemerals]: { ephemerals: ['/app/e1', '/app/e2'] },
  [OpCode.getAllChildrenNumber]: { totalNumber: 42 },
  [OpCode.setWatches2]: undefined,
  [OpCode.addWatch]: { err: 0 },
  [OpCode.whoAmI]: { clientInfo: [{ authProvider: 'ip', user: '127.0.0.1' }, { authProvider: 'digest', user: 'alice' }] },
  [OpCode.closeSession]: undefined,
};

const requestOps = Object.keys(REQUESTS).map(Number) as RequestOp[];
const replyOps = Object.keys(RESPONSES).map(Number) as ReplyOp[];

function encodeSampleRequest(type: RequestOp): Buffer {
  return encodeRequest({ xid: 77, type }, REQUESTS[type] as never);
}

function encodeSampleReply(type: ReplyOp): Buffer {
  return encodeReply({ xid: 77, zxid: 0x300000004, err: 0 }, type, RESPONSES[type] as never);
}

describe('requests', () => {
  it.each(requestOps)('round-trips opcode %i', (type) => {
    const r = new JuteReader(encodeSampleRequest(type));
    expect(readRequestHeader(r)).toEqual({ xid: 77, type });
    expect(decodeRequest(type, r)).toEqual({ type, req: REQUESTS[type] });
    expect(r.remaining).toBe(0);
  });

  it.each(requestOps)('reports every truncation of opcode %i as a JuteError', (type) => {
    const body = encodeSampleRequest(type).subarray(8);
    for (let cut = 0; cut < body.length; cut++) {
      expect(() => decodeRequest(type, new JuteReader(body.subarray(0, cut)))).toThrow(JuteError);
    }
  });

  it('lays out a create request field by field', () => {
    const bytes = encodeRequest(
      { xid: 1, type: OpCode.create },
      { path: '/a', data: Buffer.from('v'), acl: [acl[0]!], flags: CreateFlags.EPHEMERAL },
    );
    expect(bytes).toEqual(
      hex(`00000001 00000001  00000002 2f61  00000001 76
           00000001 0000001f 00000005 776f726c64 00000006 616e796f6e65  00000001`),
    );
  });

  it('knows which opcodes a client may send', () => {
    expect(isRequestOp(OpCode.getData)).toBe(true);
    expect(isRequestOp(OpCode.closeSession)).toBe(true);
    for (const op of [OpCode.notification, OpCode.createSession, OpCode.deleteContainer, OpCode.error, 10, 9999]) {
      expect(isRequestOp(op)).toBe(false);
    }
    expect(() => decodeRequest(9999, new JuteReader(Buffer.alloc(0)))).toThrow(JuteError);
  });

  it('leaves bytes after the record unread, as ZooKeeper does', () => {
    const r = new JuteReader(Buffer.concat([encodeSampleRequest(OpCode.sync).subarray(8), hex('dead')]));
    expect(decodeRequest(OpCode.sync, r)).toEqual({ type: OpCode.sync, req: { path: '/a' } });
    expect(r.remaining).toBe(2);
  });
});

describe('multi requests', () => {
  const opHeader = (type: number) => new JuteWriter().writeInt(type).writeBool(false).writeInt(-1).finish();
  const end = hex('ffffffff 01 ffffffff');

  it('frames each op with MultiHeader{type, false, -1} and ends with {-1, true, -1}', () => {
    const bytes = encodeRequest({ xid: 1, type: OpCode.multi }, [{ type: OpCode.check, req: { path: '/', version: 2 } }]);
    expect(bytes.subarray(8)).toEqual(Buffer.concat([opHeader(OpCode.check), hex('00000001 2f 00000002'), end]));
  });

  it('accepts an empty transaction', () => {
    expect(decodeRequest(OpCode.multi, new JuteReader(end))).toEqual({ type: OpCode.multi, req: [] });
  });

  it('refuses reads inside multi and writes inside multiRead', () => {
    const getData = Buffer.concat([opHeader(OpCode.getData), hex('00000001 2f 00'), end]);
    const del = Buffer.concat([opHeader(OpCode.delete), hex('00000001 2f ffffffff'), end]);
    expect(() => decodeRequest(OpCode.multi, new JuteReader(getData))).toThrow(/not allowed in multi/);
    expect(() => decodeRequest(OpCode.multiRead, new JuteReader(del))).toThrow(/not allowed in multiRead/);
    expect(decodeRequest(OpCode.multiRead, new JuteReader(getData)).req).toEqual([
      { type: OpCode.getData, req: { path: '/', watch: false } },
    ]);
  });

  it.each([OpCode.sync, OpCode.ping, OpCode.multi, OpCode.error, 12345])('refuses op type %i inside a multi', (type) => {
    const bytes = Buffer.concat([opHeader(type), hex('00000001 2f'), end]);
    expect(() => decodeRequest(OpCode.multi, new JuteReader(bytes))).toThrow(JuteError);
  });

  it('needs the end marker', () => {
    const bytes = encodeSampleRequest(OpCode.multi).subarray(8);
    expect(() => decodeRequest(OpCode.multi, new JuteReader(bytes.subarray(0, bytes.length - 9)))).toThrow(JuteError);
  });
});

describe('replies', () => {
  it.each(replyOps)('round-trips the reply to opcode %i', (type) => {
    const r = new JuteReader(encodeSampleReply(type));
    expect(readReplyHeader(r)).toEqual({ xid: 77, zxid: 0x300000004, err: 0 });
    expect(decodeReply(type, r)).toEqual(RESPONSES[type]);
    expect(r.remaining).toBe(0);
  });

  it.each(replyOps)('reports every truncation of the reply to opcode %i as a JuteError', (type) => {
    const body = encodeSampleReply(type).subarray(16);
    for (let cut = 0; cut < body.length; cut++) {
      expect(() => decodeReply(type, new JuteReader(body.subarray(0, cut)))).toThrow(JuteError);
    }
  });

  it('sends the header alone when err is set, whatever the opcode', () => {
    const hdr = { xid: 5, zxid: 0x10, err: Err.NONODE };
    const expected = hex('00000005 0000000000000010 ffffff9b');
    expect(encodeReply(hdr, OpCode.getData, RESPONSES[OpCode.getData])).toEqual(expected);
    expect(encodeReply(hdr, OpCode.getData)).toEqual(expected);
    expect(encodeReply({ ...hdr, err: Err.UNIMPLEMENTED }, 9999)).toEqual(hex('00000005 0000000000000010 fffffffa'));
  });

  it('refuses to send a success reply without its body', () => {
    expect(() => encodeReply({ xid: 1, zxid: 1, err: 0 }, OpCode.getData)).toThrow(/needs a body/);
    expect(() => encodeReply({ xid: 1, zxid: 1, err: 0 }, 9999)).toThrow(/no reply layout/);
    expect(encodeReply({ xid: Xid.ping, zxid: 1, err: 0 }, OpCode.ping)).toEqual(hex('fffffffe 0000000000000001 00000000'));
  });

  it('sends notifications with xid -1 and zxid -1', () => {
    expect(encodeNotification({ type: 2, state: 3, path: '/a' })).toEqual(
      hex('ffffffff ffffffffffffffff 00000000  00000002 00000003 00000002 2f61'),
    );
  });
});

describe('multi replies', () => {
  const zero = { xid: 1, zxid: 2, err: 0 };

  it('sends a failed transaction as one ErrorResponse per op, with err 0 in the ReplyHeader', () => {
    const bytes = encodeReply(zero, OpCode.multi, [
      { type: OpCode.error, err: Err.OK },
      { type: OpCode.error, err: Err.BADVERSION },
      { type: OpCode.error, err: Err.RUNTIMEINCONSISTENCY },
    ]);
    expect(bytes.subarray(16)).toEqual(
      hex(`ffffffff 00 00000000 00000000
           ffffffff 00 ffffff99 ffffff99
           ffffffff 00 fffffffe fffffffe
           ffffffff 01 ffffffff`),
    );
  });

  it('tags every create result that carries a Stat as create2', () => {
    const bytes = encodeReply(zero, OpCode.multi, [
      { type: OpCode.createContainer, path: '/c', stat },
      { type: OpCode.createTTL, path: '/t', stat },
    ]);
    const r = new JuteReader(bytes.subarray(16));
    expect(decodeReply(OpCode.multi, r)).toEqual([
      { type: OpCode.create2, path: '/c', stat },
      { type: OpCode.create2, path: '/t', stat },
    ]);
  });

  it('refuses result types a client could not decode', () => {
    const bytes = hex('00000013 00 00000000 00000001 2f  ffffffff 01 ffffffff');
    expect(() => decodeReply(OpCode.multi, new JuteReader(bytes))).toThrow(/not valid in a multi response/);
  });
});

/** A small deterministic PRNG (mulberry32) so failures reproduce. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Decoding garbage may succeed or throw JuteError; anything else is a bug. */
function expectOnlyJuteErrors(decode: (r: JuteReader) => unknown, input: Buffer): void {
  try {
    decode(new JuteReader(input));
  } catch (e) {
    if (!(e instanceof JuteError)) throw new Error(`${String(e)} on input ${input.toString('hex')}`);
  }
}

describe('garbage input', () => {
  const random = prng(0x5eed);
  const garbage = (n: number) => Buffer.from(Array.from({ length: n }, () => Math.floor(random() * 256)));
  /** Valid encodings with a few bytes overwritten: deeper into the decoders than pure noise. */
  const mutate = (valid: Buffer) => {
    const b = Buffer.from(valid);
    for (let i = 0; i < 3; i++) b[Math.floor(random() * b.length)] = Math.floor(random() * 256);
    return b;
  };

  it.each(requestOps)('only ever raises JuteError for request opcode %i', (type) => {
    const valid = encodeSampleRequest(type).subarray(8);
    for (let i = 0; i < 300; i++) {
      expectOnlyJuteErrors((r) => decodeRequest(type, r), garbage(Math.floor(random() * 48)));
      if (valid.length > 0) expectOnlyJuteErrors((r) => decodeRequest(type, r), mutate(valid));
    }
  });

  it.each(replyOps)('only ever raises JuteError for the reply to opcode %i', (type) => {
    const valid = encodeSampleReply(type).subarray(16);
    for (let i = 0; i < 300; i++) {
      expectOnlyJuteErrors((r) => decodeReply(type, r), garbage(Math.floor(random() * 48)));
      if (valid.length > 0) expectOnlyJuteErrors((r) => decodeReply(type, r), mutate(valid));
    }
  });
});
