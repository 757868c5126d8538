/**
 * Frames captured from a real Apache ZooKeeper 3.8 and real clients (see
 * fixtures/capture.mjs): each one must decode to what the session did and
 * re-encode to the very same bytes.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { Err, OpCode, Xid } from '../src/constants.js';
import {
  decodeConnectRequest,
  decodeConnectResponse,
  encodeConnectRequest,
  encodeConnectResponse,
} from '../src/connect.js';
import { JuteReader } from '../src/jute.js';
import type { ConnectRequest, ConnectResponse, MultiResult, ReplyHeader } from '../src/records.js';
import { decodeReply, encodeNotification, encodeReply, readReplyHeader, type ReplyOp } from '../src/replies.js';
import { decodeRequest, encodeRequest, readRequestHeader, type Request } from '../src/requests.js';

interface Fixture {
  server: string;
  client: string;
  frames: { conn: number; dir: 'c2s' | 's2c'; hex: string }[];
}

type Frame =
  | { kind: 'connectRequest'; conn: number; bytes: Buffer; value: ConnectRequest }
  | { kind: 'connectResponse'; conn: number; bytes: Buffer; value: ConnectResponse }
  | { kind: 'request'; conn: number; bytes: Buffer; xid: number; request: Request; left: number }
  | { kind: 'reply'; conn: number; bytes: Buffer; hdr: ReplyHeader; type: number; body: unknown; left: number };

/** The first frame each way on a connection is the handshake; replies find their opcode by (connection, xid). */
function decodeSession(name: string): Frame[] {
  const fixture = JSON.parse(readFileSync(new URL(`fixtures/${name}.json`, import.meta.url), 'utf8')) as Fixture;
  expect(fixture.server).toMatch(/^Apache ZooKeeper 3\.8\./);
  const started = new Set<string>();
  const pending = new Map<string, number>();
  return fixture.frames.map(({ conn, dir, hex }): Frame => {
    const bytes = Buffer.from(hex, 'hex');
    if (!started.has(`${conn}${dir}`)) {
      started.add(`${conn}${dir}`);
      return dir === 'c2s'
        ? { kind: 'connectRequest', conn, bytes, value: decodeConnectRequest(bytes) }
        : { kind: 'connectResponse', conn, bytes, value: decodeConnectResponse(bytes) };
    }
    const r = new JuteReader(bytes);
    if (dir === 'c2s') {
      const { xid, type } = readRequestHeader(r);
      pending.set(`${conn}:${xid}`, type);
      const request = decodeRequest(type, r);
      return { kind: 'request', conn, bytes, xid, request, left: r.remaining };
    }
    const hdr = readReplyHeader(r);
    const type = hdr.xid === Xid.notification ? OpCode.notification : pending.get(`${conn}:${hdr.xid}`);
    if (type === undefined) throw new Error(`reply to unknown xid ${hdr.xid}`);
    const body = hdr.err === 0 ? decodeReply(type as ReplyOp, r) : undefined;
    return { kind: 'reply', conn, bytes, hdr, type, body, left: r.remaining };
  });
}

function reencode(f: Frame): Buffer {
  switch (f.kind) {
    case 'connectRequest':
      return encodeConnectRequest(f.value);
    case 'connectResponse':
      return encodeConnectResponse(f.value);
    case 'request':
      return encodeRequest({ xid: f.xid, type: f.request.type }, f.request.req as never);
    case 'reply':
      return f.hdr.xid === Xid.notification
        ? encodeNotification(f.body as never)
        : encodeReply(f.hdr, f.type as ReplyOp, f.body as never);
  }
}

const requests = (frames: Frame[]) => frames.filter((f) => f.kind === 'request');
const replies = (frames: Frame[]) => frames.filter((f) => f.kind === 'reply');
const requestsOf = (frames: Frame[], type: number) => requests(frames).filter((f) => f.request.type === type);
function replyTo(frames: Frame[], req: Extract<Frame, { kind: 'request' }>) {
  const reply = replies(frames).find((f) => f.conn === req.conn && f.hdr.xid === req.xid);
  if (!reply) throw new Error(`no reply to xid ${req.xid}`);
  return reply;
}
function only<T>(items: T[]): T {
  expect(items).toHaveLength(1);
  return items[0]!;
}
const pathOf = (f: Extract<Frame, { kind: 'request' }>) => (f.request.req as { path?: string } | undefined)?.path;
const requestFor = (frames: Frame[], type: number, path: string) => only(requestsOf(frames, type).filter((f) => pathOf(f) === path));

/** The frames whose re-encoding differs from what was captured. */
function mismatches(frames: Frame[]): Frame[] {
  return frames.filter((f) => !reencode(f).equals(f.bytes));
}

describe.each(['java-client', 'kazoo', 'node-zookeeper-client'])('captured session: %s', (name) => {
  const frames = decodeSession(name);

  it('decodes every frame, consuming each to its last byte', () => {
    expect(frames.length).toBeGreaterThan(40);
    for (const f of frames) if (f.kind === 'request' || f.kind === 'reply') expect(f.left).toBe(0);
  });

  it('sends error replies as the header alone', () => {
    const errors = replies(frames).filter((f) => f.hdr.err !== 0);
    expect(errors.length).toBeGreaterThan(3);
    for (const f of errors) expect(f.bytes.length).toBe(16);
  });

  it('sends notifications with xid -1, zxid -1, err 0', () => {
    const notes = replies(frames).filter((f) => f.type === OpCode.notification);
    expect(notes.length).toBeGreaterThan(1);
    for (const f of notes) expect(f.hdr).toEqual({ xid: -1, zxid: -1, err: 0 });
  });

  it('answers auth with xid -4 and zxid 0', () => {
    const auths = replies(frames).filter((f) => f.type === OpCode.auth);
    expect(auths.length).toBeGreaterThan(0);
    for (const f of auths) expect(f.hdr).toEqual({ xid: Xid.auth, zxid: 0, err: 0 });
  });
});

describe('captured session: java-client (ZooKeeper 3.8 Java client)', () => {
  const frames = decodeSession('java-client');

  it('re-encodes every frame byte for byte', () => {
    expect(mismatches(frames)).toEqual([]);
  });

  it('handshakes with the readOnly byte both ways', () => {
    const [first, firstReply] = frames;
    expect(first).toMatchObject({ kind: 'connectRequest', value: { sessionId: 0n, lastZxidSeen: 0, timeOut: 3000, readOnly: false } });
    expect(first!.bytes.length).toBe(45);
    expect(firstReply).toMatchObject({ kind: 'connectResponse', value: { protocolVersion: 0, timeOut: 3000, readOnly: false } });
    expect(firstReply!.bytes.length).toBe(37);
    const sessionId = (firstReply as Extract<Frame, { kind: 'connectResponse' }>).value.sessionId;
    const reconnects = frames.filter((f) => f.kind === 'connectRequest' && f.conn > 0);
    expect(reconnects).toHaveLength(2);
    for (const f of reconnects) expect(f).toMatchObject({ value: { sessionId, readOnly: false } });
  });

  it('creates with every mode and opcode', () => {
    const flags = requests(frames)
      .filter((f) => ([OpCode.create, OpCode.create2, OpCode.createContainer, OpCode.createTTL] as number[]).includes(f.request.type))
      .map((f) => [f.request.type, (f.request.req as { flags: number }).flags]);
    expect(flags).toEqual(expect.arrayContaining([[1, 0], [15, 0], [1, 1], [1, 2], [15, 3], [19, 4], [21, 5], [21, 6]]));
    const ttl = requestFor(frames, OpCode.createTTL, '/j/t');
    expect(ttl.request.req).toMatchObject({ ttl: 60000, data: Buffer.from('ttl') });
  });

  it('answers createContainer and createTTL with a Create2Response', () => {
    for (const [type, path] of [[OpCode.createContainer, '/j/c'], [OpCode.createTTL, '/j/t']] as const) {
      const reply = replyTo(frames, requestFor(frames, type, path));
      expect(reply.body).toMatchObject({ path, stat: { ephemeralOwner: 0n, dataLength: 3 } });
    }
  });

  it('reports the session as the owner of ephemeral nodes', () => {
    const sessionId = (frames[1] as Extract<Frame, { kind: 'connectResponse' }>).value.sessionId;
    const reply = replyTo(frames, requestFor(frames, OpCode.create2, '/j/es-'));
    expect(reply.body).toMatchObject({ path: '/j/es-0000000003', stat: { ephemeralOwner: sessionId } });
  });

  it('records a committed transaction: create2-tagged results for container and TTL creates', () => {
    const [committed] = requestsOf(frames, OpCode.multi);
    expect((committed!.request.req as { type: number }[]).map((op) => op.type)).toEqual([1, 19, 21, 5, 13, 2]);
    const results = replyTo(frames, committed!).body as MultiResult[];
    expect(results.map((r) => r.type)).toEqual([1, 15, 15, 5, 13, 2]);
  });

  it('records a failed transaction as per-op errors under err 0', () => {
    const failed = requestsOf(frames, OpCode.multi)[1]!;
    const reply = replyTo(frames, failed);
    expect(reply.hdr.err).toBe(0);
    expect(reply.body).toEqual([
      { type: -1, err: Err.OK },
      { type: -1, err: Err.BADVERSION },
      { type: -1, err: Err.RUNTIMEINCONSISTENCY },
    ]);
  });

  it('records multiRead with a per-op error', () => {
    const reply = replyTo(frames, only(requestsOf(frames, OpCode.multiRead)));
    expect(reply.body).toMatchObject([
      { type: OpCode.getData, data: Buffer.from('m2') },
      { type: OpCode.getChildren, children: ['inner'] },
      { type: -1, err: Err.NONODE },
    ]);
  });

  it('sends null server lists in reconfig and gets RECONFIGDISABLED from a standalone server', () => {
    const req = only(requestsOf(frames, OpCode.reconfig));
    expect(req.request.req).toEqual({
      joiningServers: null,
      leavingServers: null,
      newMembers: 'server.1=127.0.0.1:2888:3888;2181',
      curConfigId: -1,
    });
    expect(replyTo(frames, req).hdr.err).toBe(Err.RECONFIGDISABLED);
  });

  it('answers addWatch with an ErrorResponse{0} body', () => {
    for (const req of requestsOf(frames, OpCode.addWatch)) {
      const reply = replyTo(frames, req);
      expect(reply.body).toEqual({ err: 0 });
      expect(reply.bytes.length).toBe(20);
    }
  });

  it('re-arms watches on reconnect with ordinary xids: setWatches, then setWatches2 once persistent ones exist', () => {
    const sw = only(requestsOf(frames, OpCode.setWatches));
    expect(sw.xid).toBeGreaterThan(0);
    expect(sw.request.req).toEqual({ relativeZxid: expect.any(Number), dataWatches: ['/j'], existWatches: ['/j/later'], childWatches: ['/j/c'] });
    const sw2 = only(requestsOf(frames, OpCode.setWatches2));
    expect(sw2.request.req).toMatchObject({ persistentWatches: ['/j/p2'], persistentRecursiveWatches: ['/j'] });
    expect(replyTo(frames, sw2).bytes.length).toBe(16);
  });

  it('pings with xid -2 and gets the last zxid back', () => {
    const pings = requestsOf(frames, OpCode.ping);
    expect(pings.length).toBeGreaterThan(0);
    for (const p of pings) {
      expect(p.xid).toBe(Xid.ping);
      expect(p.bytes.length).toBe(8);
      expect(replyTo(frames, p).hdr).toMatchObject({ xid: Xid.ping, err: 0, zxid: expect.any(Number) });
    }
  });

  it('lists who the session is', () => {
    const reply = replyTo(frames, only(requestsOf(frames, OpCode.whoAmI)));
    expect(reply.body).toEqual({
      clientInfo: [
        { authProvider: 'digest', user: 'alice' },
        { authProvider: 'ip', user: '127.0.0.1' },
      ],
    });
  });

  it('covers the 3.5+ reads and watch removal', () => {
    expect(replyTo(frames, only(requestsOf(frames, OpCode.getAllChildrenNumber))).body).toEqual({ totalNumber: 8 });
    const ephemerals = requestsOf(frames, OpCode.getEphemerals);
    expect(ephemerals.map((f) => f.request.req)).toEqual([{ prefixPath: '/j' }, { prefixPath: '/' }]);
    expect(replyTo(frames, ephemerals[0]!).body).toEqual({ ephemerals: ['/j/es-0000000003', '/j/e'] });
    expect(only(requestsOf(frames, OpCode.checkWatches)).request.req).toEqual({ path: '/j/m', type: 2 });
    expect(only(requestsOf(frames, OpCode.removeWatches)).request.req).toEqual({ path: '/j', type: 3 });
  });

  it('replaces an auth ACL with the digest identity', () => {
    const acl = replies(frames).filter((f) => f.type === OpCode.getACL).map((f) => (f.body as { acl: unknown }).acl);
    expect(acl).toContainEqual([
      { perms: 31, id: { scheme: 'digest', id: 'alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=' } },
      { perms: 1, id: { scheme: 'world', id: 'anyone' } },
    ]);
  });

  it('closes the session with an empty reply', () => {
    const close = only(requestsOf(frames, OpCode.closeSession));
    expect(replyTo(frames, close).bytes.length).toBe(16);
  });
});

describe('captured session: kazoo', () => {
  const frames = decodeSession('kazoo');

  it('re-encodes every frame byte for byte, except kazoo writing "" as a null string', () => {
    const differing = mismatches(frames);
    expect(differing).toHaveLength(1);
    const f = only(differing);
    expect(f).toMatchObject({ kind: 'request', request: { type: OpCode.setACL } });
    // Id('auth', ''): kazoo sends the id as length -1, we send the same "" as length 0.
    const auth = '000000046175746800000000';
    expect(f.bytes.toString('hex')).toBe(reencode(f).toString('hex').replace(auth, '0000000461757468ffffffff'));
  });

  it('creates with create2 when it wants the stat', () => {
    const req = requestFor(frames, OpCode.create2, '/k/with-stat');
    expect(replyTo(frames, req).body).toMatchObject({ path: '/k/with-stat', stat: { dataLength: 2 } });
  });

  it('carries non-ASCII paths and data as UTF-8', () => {
    const req = requestFor(frames, OpCode.create, '/k/ünicöde-€');
    expect((req.request.req as unknown as { data: Buffer }).data.toString('utf8')).toBe('été');
    expect(replyTo(frames, req).body).toEqual({ path: '/k/ünicöde-€' });
  });

  it('records its transactions, committed and rolled back', () => {
    const [committed, failed] = requestsOf(frames, OpCode.multi);
    expect((replyTo(frames, committed!).body as MultiResult[]).map((r) => r.type)).toEqual([1, 5, 13, 2]);
    expect(replyTo(frames, failed!).body).toEqual([
      { type: -1, err: Err.OK },
      { type: -1, err: Err.BADVERSION },
    ]);
  });

  it('restarts its xids on a new connection', () => {
    const second = requests(frames).filter((f) => f.conn === 1 && f.xid > 0);
    expect(second[0]!.xid).toBe(1);
  });
});

describe('captured session: node-zookeeper-client', () => {
  const frames = decodeSession('node-zookeeper-client');

  it('handshakes the 3.4 way: no readOnly byte in the request, and none in the response', () => {
    const [req, resp] = frames;
    expect(req).toMatchObject({ kind: 'connectRequest' });
    expect(req!.bytes.length).toBe(44);
    expect('readOnly' in (req as Extract<Frame, { kind: 'connectRequest' }>).value).toBe(false);
    expect(resp).toMatchObject({ kind: 'connectResponse' });
    expect(resp!.bytes.length).toBe(36);
    expect('readOnly' in (resp as Extract<Frame, { kind: 'connectResponse' }>).value).toBe(false);
  });

  it('gets BADARGUMENTS for a path outside the BMP', () => {
    const req = requestFor(frames, OpCode.create, '/n/emoji-\u{1F600}');
    expect(replyTo(frames, req).hdr.err).toBe(Err.BADARGUMENTS);
  });

  it('re-encodes every frame byte for byte, except a string the server wrote in Java modified UTF-8', () => {
    const f = only(mismatches(frames));
    if (f.kind !== 'reply') throw new Error('expected a reply');
    expect(f.type).toBe(OpCode.getACL);
    // The client sent the ACL id in UTF-8 (4 bytes for U+1F600); ZooKeeper
    // sends it back with each UTF-16 surrogate as 3 bytes, which is not UTF-8.
    const sent = requestFor(frames, OpCode.create, '/n/acl');
    expect(sent.bytes.toString('hex')).toContain(Buffer.from('gr\u{1F600}n:x').toString('hex'));
    expect(f.bytes.toString('hex')).toContain(Buffer.from('gr').toString('hex') + 'eda0bdedb880');
    const ids = (f.body as { acl: { id: { id: string } }[] }).acl.map((a) => a.id.id);
    expect(ids[0]).toMatch(/^gr\uFFFD+n:x$/);
  });
});
