/**
 * Promise 9 (bad input gets the ZooKeeper error or a closed connection, is
 * logged once, and never crashes a process or corrupts state) and promise 8
 * (a client that will not read is disconnected without stalling others),
 * against one running cluster of real processes.
 */
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_BUFFER, Err, FRAME_MARGIN, OpCode, encodeConnectRequest, encodeRequest, frame } from '@zooid/protocol';
import { startStandalone, waitFor, type Standalone } from './harness.js';
import { RawClient, openSocket, req, socketClosed } from './support/raw-client.js';
import { alive, residentBytes, warnings } from './support/procs.js';

let zk: Standalone;
let port: number;
let healthy: RawClient;
let probe = 0;

beforeAll(async () => {
  zk = await startStandalone({ tickTime: 500 });
  port = zk.ports[0]!;
  healthy = await RawClient.connect(port, { timeOut: 10_000 });
  expect((await healthy.call(OpCode.create, req.create('/rb', 'base'))).err).toBe(Err.OK);
});

afterAll(async () => {
  if (process.env.ZOOID_TEST_DUMP) {
    console.log('GATEWAY\n' + zk.gateways[0]!.output().slice(-20000));
    console.log('MEMBER\n' + zk.member.output().slice(-20000));
  }
  healthy?.destroy();
  await zk?.stop();
});

/** After each bad input: the healthy session still writes and reads, and nothing died. */
async function assertHealthy(): Promise<void> {
  expect(alive(zk.member), `member died:\n${zk.member.output().slice(-3000)}`).toBe(true);
  expect(alive(zk.gateways[0]!), `gateway died:\n${zk.gateways[0]!.output().slice(-3000)}`).toBe(true);
  const path = `/rb/healthy-${probe++}`;
  const c = await healthy.call(OpCode.create, req.create(path, path));
  expect(c.err).toBe(Err.OK);
  const g = await healthy.call(OpCode.getData, req.getData(path));
  expect(g.err).toBe(Err.OK);
  expect(Buffer.from((g.body as { data: Uint8Array }).data).toString()).toBe(path);
  expect(healthy.outOfOrder).toEqual([]);
  // A fresh session works too: the gateway still accepts and hands out sessions.
  const fresh = await RawClient.connect(port, { timeOut: 4000 });
  expect((await fresh.call(OpCode.exists, req.exists(path))).err).toBe(Err.OK);
  await fresh.close();
}

/** Exactly one warning line about this connection (matched by its local port) in the gateway's log. */
async function loggedOnceByGateway(s: Socket | RawClient | number, ...needles: (string | RegExp)[]): Promise<void> {
  const local = typeof s === 'number' ? s : s.localPort!;
  const gw = zk.gateways[0]!;
  await waitFor(`a gateway log line for connection :${local}`, () => warnings(gw, `:${local}"`, ...needles).length > 0, 5000);
  // Give a per-byte or per-frame logger the chance to show itself before counting.
  await new Promise((r) => setTimeout(r, 200));
  expect(warnings(gw, `:${local}"`, ...needles)).toHaveLength(1);
}

/** Exactly one warning line about this session in the member's log. */
async function loggedOnceByMember(sessionId: bigint, ...needles: (string | RegExp)[]): Promise<void> {
  const id = sessionId.toString(16);
  await waitFor(`a member log line for session ${id}`, () => warnings(zk.member, id, ...needles).length > 0, 5000);
  await new Promise((r) => setTimeout(r, 200));
  expect(warnings(zk.member, id, ...needles)).toHaveLength(1);
}

function connectFrame(): Buffer {
  return frame(encodeConnectRequest({ protocolVersion: 0, lastZxidSeen: 0, timeOut: 4000, sessionId: 0n, passwd: new Uint8Array(16), readOnly: false }));
}

describe('bad frames before a session exists', () => {
  it('closes on random garbage (a negative length prefix) and logs it once', async () => {
    const s = await openSocket(port);
    const garbage = randomBytes(4096);
    garbage[0] = 0x80 | garbage[0]!;
    s.write(garbage);
    await socketClosed(s);
    await loggedOnceByGateway(s, 'bad frame');
    await assertHealthy();
  });

  it('closes on a well-framed body of garbage and logs it once', async () => {
    const body = randomBytes(200);
    // protocolVersion, then a lastZxidSeen no jute long can carry as a zxid
    body.writeUInt32BE(0x7fffffff, 4);
    const s = await openSocket(port);
    s.write(frame(body));
    await socketClosed(s);
    await loggedOnceByGateway(s, 'bad frame');
    await assertHealthy();
  });

  it('closes on a truncated ConnectRequest', async () => {
    const s = await openSocket(port);
    s.write(frame(encodeConnectRequest({ protocolVersion: 0, lastZxidSeen: 0, timeOut: 4000, sessionId: 0n, passwd: new Uint8Array(16) }).subarray(0, 14)));
    await socketClosed(s);
    await loggedOnceByGateway(s, 'bad frame');
    await assertHealthy();
  });

  it('treats a request sent before the handshake as a bad ConnectRequest', async () => {
    const s = await openSocket(port);
    s.write(frame(encodeRequest({ xid: 1, type: OpCode.getData }, { path: '/rb', watch: false })));
    await socketClosed(s);
    await loggedOnceByGateway(s, 'bad frame');
    await assertHealthy();
  });

  it('logs a connection that closes in the middle of a frame, once', async () => {
    const s = await openSocket(port);
    const head = Buffer.alloc(4 + 40);
    head.writeInt32BE(100, 0);
    s.write(head);
    // one byte at a time: a per-byte logger would show up in the count
    for (let i = 0; i < 20; i++) s.write(Buffer.from([i]));
    const local = s.localPort!;
    s.end();
    await socketClosed(s);
    await loggedOnceByGateway(local, /middle of a frame|mid-frame|truncated/i);
    await assertHealthy();
  });

  for (const [name, length] of [
    ['0x7fffffff', 0x7fffffff],
    ['jute.maxbuffer + 2 KiB', DEFAULT_MAX_BUFFER + 2048],
  ] as const) {
    it(`closes on an oversized length prefix (${name}) without waiting for the body`, async () => {
      const s = await openSocket(port);
      const prefix = Buffer.alloc(4);
      prefix.writeInt32BE(length, 0);
      s.write(prefix);
      s.write(randomBytes(1024));
      // The server must refuse on the prefix alone: we never send the rest.
      await socketClosed(s, 5000);
      await loggedOnceByGateway(s, 'bad frame');
      await assertHealthy();
    });
  }
});

describe('a connect from a client that claims to have seen the future', () => {
  it('is refused as ZooKeeper refuses it, and what it sends behind the connect is never buffered', async () => {
    const gw = zk.gateways[0]!.child.pid!;
    const before = residentBytes(gw);
    const s = await openSocket(port);
    s.on('error', () => undefined);
    // Epoch 0x10000: no member has logged anything like it.
    s.write(frame(encodeConnectRequest({ protocolVersion: 0, lastZxidSeen: 0x10000 * 2 ** 32, timeOut: 4000, sessionId: 0n, passwd: new Uint8Array(16), readOnly: false })));
    // 200 MB of well-framed requests behind it, written without waiting for any answer.
    const big = frame(encodeRequest({ xid: 1, type: OpCode.setData }, { path: '/rb', data: randomBytes(DEFAULT_MAX_BUFFER - 1024), version: -1 }));
    for (let i = 0; i < 200 && !s.destroyed; i++) s.write(big);
    await socketClosed(s);
    await waitFor('the member to log the refusal', () => warnings(zk.member, 'refusing a connect', '0x1000000000000').length > 0, 5000);
    expect(warnings(zk.member, 'refusing a connect', '0x1000000000000')).toHaveLength(1);
    s.destroy();
    // The gateway stopped reading after the connect: the flood stayed in the socket buffers.
    expect(residentBytes(gw) - before).toBeLessThan(64 * 1024 * 1024);
    await assertHealthy();
  });
});

describe('bad requests inside a session', () => {
  it('closes on an oversized length prefix after the handshake', async () => {
    const c = await RawClient.connect(port, { timeOut: 4000 });
    const prefix = Buffer.alloc(4);
    prefix.writeInt32BE(DEFAULT_MAX_BUFFER + FRAME_MARGIN + 1, 0);
    c.socket.write(prefix);
    await socketClosed(c.socket, 5000);
    await loggedOnceByGateway(c, 'bad frame');
    await assertHealthy();
  });

  it('logs a session connection cut in the middle of a frame, once', async () => {
    const c = await RawClient.connect(port, { timeOut: 4000 });
    const partial = frame(encodeRequest({ xid: 7, type: OpCode.getData }, { path: '/rb', watch: false })).subarray(0, 9);
    c.socket.write(partial);
    const local = c.socket.localPort!;
    c.socket.end();
    await socketClosed(c.socket);
    await loggedOnceByGateway(local, /middle of a frame|mid-frame|truncated/i);
    await assertHealthy();
  });

  it('answers an unknown opcode with UNIMPLEMENTED and closes, like ZooKeeper', async () => {
    const c = await RawClient.connect(port, { timeOut: 4000 });
    const r = await c.callRaw(9999, Buffer.from('whatever'));
    expect(r.err).toBe(Err.UNIMPLEMENTED);
    await socketClosed(c.socket);
    await loggedOnceByMember(c.sessionId, '9999');
    await assertHealthy();
  });

  it('answers a malformed read body with MARSHALLINGERROR or a close, logged once', async () => {
    const c = await RawClient.connect(port, { timeOut: 4000 });
    // getData whose path claims 100 bytes and has 3
    const body = Buffer.from([0, 0, 0, 100, 0x2f, 0x72, 0x62]);
    const r = await c.callRaw(OpCode.getData, body).catch(() => undefined);
    if (r) expect(r.err).toBe(Err.MARSHALLINGERROR);
    else await socketClosed(c.socket);
    await loggedOnceByMember(c.sessionId, /malformed|marshal/i);
    c.destroy();
    await assertHealthy();
  });

  it('answers a malformed write body with MARSHALLINGERROR or a close, logged once, and writes nothing', async () => {
    const c = await RawClient.connect(port, { timeOut: 4000 });
    const before = await healthy.call(OpCode.getChildren, req.children('/rb'));
    // create whose ACL vector claims a million entries
    const good = encodeRequest({ xid: 0, type: OpCode.create }, req.create('/rb/marshal', 'x')).subarray(8);
    const bad = Buffer.from(good.subarray(0, good.length - 4 - 4 - 4 - 4 - 9 - 6));
    const aclCount = Buffer.alloc(4);
    aclCount.writeInt32BE(1_000_000, 0);
    const r = await c.callRaw(OpCode.create, Buffer.concat([bad, aclCount])).catch(() => undefined);
    if (r) expect(r.err).toBe(Err.MARSHALLINGERROR);
    else await socketClosed(c.socket);
    await loggedOnceByMember(c.sessionId, /malformed|marshal/i);
    const after = await healthy.call(OpCode.getChildren, req.children('/rb'));
    expect((after.body as { children: string[] }).children).not.toContain('marshal');
    expect((after.body as { children: string[] }).children.length).toBe((before.body as { children: string[] }).children.length);
    c.destroy();
    await assertHealthy();
  });

  it('answers invalid paths with BADARGUMENTS and keeps the session', async () => {
    const c = await RawClient.connect(port, { timeOut: 4000 });
    const bad = ['', 'rb', '/rb/', '//', '/rb//x', '/rb/./x', '/rb/../x', '/rb/.', '/rb\u0000x', '/rb/\u0001'];
    // setData validates the path before anything else (PrepRequestProcessor)
    for (const path of bad) {
      const r = await c.call(OpCode.setData, req.setData(path, 'x'));
      expect({ path, err: r.err }).toEqual({ path, err: Err.BADARGUMENTS });
    }
    // create checks for a slash and NUL, then the parent, then the whole path
    for (const path of ['', 'rb', '/rb/', '//', '/rb/.', '/rb\u0000x', '/rb/..']) {
      const r = await c.call(OpCode.create, req.create(path, 'x'));
      expect({ path, err: r.err }).toEqual({ path, err: Err.BADARGUMENTS });
    }
    for (const path of ['/rb//x', '/rb/./x']) {
      const r = await c.call(OpCode.create, req.create(path, 'x'));
      expect({ path, err: r.err }).toEqual({ path, err: Err.NONODE });
    }
    // exists refuses NUL; the session is still usable afterwards
    expect((await c.call(OpCode.exists, req.exists('/rb\u0000'))).err).toBe(Err.BADARGUMENTS);
    // one line per refused request, not per byte and not none
    const refused = bad.length + 7 + 1;
    const id = c.sessionId.toString(16);
    await waitFor('a log line per refused request', () => warnings(zk.member, id, /BADARGUMENTS/).length >= refused, 5000);
    expect(warnings(zk.member, id, /BADARGUMENTS/)).toHaveLength(refused);
    expect((await c.call(OpCode.getData, req.getData('/rb'))).err).toBe(Err.OK);
    expect(c.isClosed).toBe(false);
    expect(c.outOfOrder).toEqual([]);
    const kids = await c.call(OpCode.getChildren, req.children('/rb'));
    expect((kids.body as { children: string[] }).children.every((k) => k.startsWith('healthy-'))).toBe(true);
    await c.close();
    await assertHealthy();
  });

  it('refuses a setData larger than jute.maxbuffer and leaves the node as it was', async () => {
    const c = await RawClient.connect(port, { timeOut: 10_000 });
    expect((await c.call(OpCode.create, req.create('/rb-big', 'small'))).err).toBe(Err.OK);
    // Fits in a frame (maxbuffer + margin) but is over the data limit.
    const r = await c.call(OpCode.setData, req.setData('/rb-big', Buffer.alloc(DEFAULT_MAX_BUFFER + 1, 7))).catch(() => undefined);
    if (r) expect(r.err).toBe(Err.BADARGUMENTS);
    // Larger than a frame may be: the connection goes.
    const c2 = await RawClient.connect(port, { timeOut: 10_000 });
    await c2.call(OpCode.setData, req.setData('/rb-big', Buffer.alloc(DEFAULT_MAX_BUFFER + 2048, 7))).catch(() => undefined);
    await socketClosed(c2.socket);
    await loggedOnceByGateway(c2, 'bad frame');
    const g = await healthy.call(OpCode.getData, req.getData('/rb-big'));
    expect(Buffer.from((g.body as { data: Uint8Array }).data).toString()).toBe('small');
    c.destroy();
    await assertHealthy();
  });

  it('stores and serves a node of exactly jute.maxbuffer bytes', async () => {
    const c = await RawClient.connect(port, { timeOut: 10_000 });
    const data = randomBytes(DEFAULT_MAX_BUFFER);
    const w = await c.call(OpCode.create, req.create('/rb-max', data));
    expect(w.err).toBe(Err.OK);
    const g = await c.call(OpCode.getData, req.getData('/rb-max'));
    expect(g.err).toBe(Err.OK);
    expect(Buffer.from((g.body as { data: Uint8Array }).data).equals(data)).toBe(true);
    // Two in one turn: the replies travel together on the bus.
    const [a, b] = await Promise.all([c.call(OpCode.getData, req.getData('/rb-max')), c.call(OpCode.getData, req.getData('/rb-max'))]);
    expect([a.err, b.err]).toEqual([Err.OK, Err.OK]);
    await c.close();
    await assertHealthy();
  });
});

describe('large requests in bursts', () => {
  it('carries many near-limit writes and reads issued in one turn (the bus splits what it must)', async () => {
    const c = await RawClient.connect(port, { timeOut: 20_000 });
    const n = 12;
    const blobs = Array.from({ length: n }, () => randomBytes(900 * 1024));
    const creates = blobs.map((b, i) => c.call(OpCode.create, req.create(`/rb-burst-${i}`, b)));
    expect((await Promise.all(creates)).map((r) => r.err)).toEqual(blobs.map(() => Err.OK));
    const reads = blobs.map((_, i) => c.call(OpCode.getData, req.getData(`/rb-burst-${i}`)));
    const got = await Promise.all(reads);
    for (let i = 0; i < n; i++) {
      expect(got[i]!.err).toBe(Err.OK);
      expect(Buffer.from((got[i]!.body as { data: Uint8Array }).data).equals(blobs[i]!)).toBe(true);
    }
    // Every blob twice in one turn: ~21 MiB of replies, well over the
    // learner's 4 MiB reply window, to a client that reads them.
    const again = await Promise.all([...blobs, ...blobs].map((_, i) => c.call(OpCode.getData, req.getData(`/rb-burst-${i % n}`))));
    for (let i = 0; i < 2 * n; i++) {
      expect(again[i]!.err).toBe(Err.OK);
      expect(Buffer.from((again[i]!.body as { data: Uint8Array }).data).equals(blobs[i % n]!)).toBe(true);
    }
    expect(c.outOfOrder).toEqual([]);
    expect(warnings(zk.gateways[0]!, 'not reading', `:${c.localPort}"`)).toEqual([]);
    await Promise.all(blobs.map((_, i) => c.call(OpCode.delete, req.delete(`/rb-burst-${i}`))));
    await c.close();
    await assertHealthy();
  });
});

describe('a client that stops reading (promise 8)', () => {
  it('is disconnected while another client keeps being served', async () => {
    const setup = await RawClient.connect(port, { timeOut: 10_000 });
    const big = randomBytes(512 * 1024);
    expect((await setup.call(OpCode.create, req.create('/rb-slow', big))).err).toBe(Err.OK);
    await setup.close();

    const slow = await RawClient.connect(port, { timeOut: 10_000 });
    slow.socket.pause();
    // 128 × 512 KiB = 64 MiB of replies the client will not read.
    for (let i = 0; i < 128; i++) void slow.call(OpCode.getData, req.getData('/rb-slow'));

    // Meanwhile another session's requests keep completing, one after another
    // (a gateway blocked on the slow client would hang them until the test's deadline).
    for (let n = 0; n < 20; n++) expect((await healthy.call(OpCode.setData, req.setData('/rb', `tick-${n}`))).err).toBe(Err.OK);

    await waitFor('the gateway to drop the slow client', () => warnings(zk.gateways[0]!, 'not reading', `:${slow.socket.localPort}"`).length > 0, 15_000);
    expect(warnings(zk.gateways[0]!, 'not reading', `:${slow.socket.localPort}"`)).toHaveLength(1);
    slow.socket.resume();
    await socketClosed(slow.socket, 15_000);
    await assertHealthy();
  });

  it('is disconnected when it takes none of its waiting replies for a while, though backpressure keeps them small', async () => {
    const setup = await RawClient.connect(port, { timeOut: 10_000 });
    const big = randomBytes(900 * 1024);
    expect((await setup.call(OpCode.create, req.create('/rb-stall', big))).err).toBe(Err.OK);
    await setup.close();

    const stalled = await RawClient.connect(port, { timeOut: 10_000 });
    stalled.socket.pause();
    // 24 × 900 KiB ≈ 21 MiB asked for; its learner sends a reply window's
    // worth (4 MiB), far under the gateway's 32 MiB hard cap, so only the
    // rule that waiting replies must move in time can catch it.
    for (let i = 0; i < 24; i++) void stalled.call(OpCode.getData, req.getData('/rb-stall'));

    const mine = () => warnings(zk.gateways[0]!, 'not reading', `:${stalled.localPort}"`);
    await waitFor('the gateway to drop the stalled client', () => mine().length > 0, 20_000);
    expect(mine()).toHaveLength(1);
    expect(mine()[0]).toMatchObject({ rule: 'no drain' });
    stalled.socket.resume();
    await socketClosed(stalled.socket, 15_000);
    await assertHealthy();
  });
});
