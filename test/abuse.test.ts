/**
 * Promise 8 under abuse (issue 12): one client that will not play fair costs
 * a bounded amount of memory, and a well-behaved neighbour reading beside it
 * keeps being served, with no error and no lost session. Memory is measured
 * as each process's peak resident size (VmHWM, reset before each abuse), so
 * a burst between two looks cannot hide.
 */
import { randomBytes } from 'node:crypto';
import { connect as natsConnect, type NatsConnection } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_BUFFER, Err, OpCode, encodeConnectRequest, encodeRequest, frame, unpack, type LearnerBatch } from '@zooid/protocol';
import { fourLetter, startStandalone, waitFor, type Standalone } from './harness.js';
import { RawClient, openSocket, req, socketClosed } from './support/raw-client.js';
import { alive, childPids, peakGrowth, warnings } from './support/procs.js';

const MiB = 1024 * 1024;
/** Watches one session may hold, low so that the test reaches it quickly. */
const WATCH_LIMIT = 100;
/** Requests all connections may have outstanding: above one connection's 1,000, so that one abuser alone stays under it. */
const GLOBAL_LIMIT = 1500;

let zk: Standalone;
let port: number;
let big: Buffer;
let neighbour: RawClient;

beforeAll(async () => {
  zk = await startStandalone({
    tickTime: 500,
    memberArgs: ['--max-session-watches', String(WATCH_LIMIT)],
    gatewayEnv: { ZOOID_GLOBAL_OUTSTANDING_LIMIT: String(GLOBAL_LIMIT) },
  });
  port = zk.ports[0]!;
  const setup = await RawClient.connect(port, { timeOut: 20_000 });
  big = randomBytes(DEFAULT_MAX_BUFFER - 1024);
  expect((await setup.call(OpCode.create, req.create('/ab-big', big))).err).toBe(Err.OK);
  expect((await setup.call(OpCode.create, req.create('/ab-small', 'small'))).err).toBe(Err.OK);
  await setup.close();
  neighbour = await RawClient.connect(port, { timeOut: 10_000 });
});

afterAll(async () => {
  neighbour?.destroy();
  await zk?.stop();
});

/** Member, gateway and the bus server: every process the abuse could swell. */
function pids(): Record<string, number> {
  return { member: zk.member.child.pid!, gateway: zk.gateways[0]!.child.pid!, nats: childPids(zk.nats.child.pid!)[0]! };
}

/** The neighbour reads a small znode every 20 ms while `abuse` runs; what it saw. */
async function besideNeighbour(abuse: () => Promise<void>): Promise<{ reads: number; errors: string[] }> {
  let stop = false;
  let reads = 0;
  const errors: string[] = [];
  const probe = (async () => {
    while (!stop) {
      try {
        const r = await neighbour.call(OpCode.getData, req.getData('/ab-small'));
        if (r.err !== Err.OK) errors.push(`err ${r.err}`);
        reads++;
      } catch (err) {
        errors.push(String(err));
        return;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  })();
  try {
    await abuse();
  } finally {
    stop = true;
    await probe;
  }
  return { reads, errors };
}

function expectHealthy(seen: { reads: number; errors: string[] }): void {
  expect(seen.errors).toEqual([]);
  expect(seen.reads).toBeGreaterThan(0);
  expect(neighbour.isClosed).toBe(false);
  expect(neighbour.outOfOrder).toEqual([]);
  expect(alive(zk.member)).toBe(true);
  expect(alive(zk.gateways[0]!)).toBe(true);
}

function mib(growth: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(growth).map(([k, v]) => [k, Math.round(v / MiB)]));
}

describe('backpressure (promise 8)', () => {
  it('1,000 pipelined reads of a 1 MB znode by a client that never reads cost tens of MB, not GB', async () => {
    let seen = { reads: 0, errors: [] as string[] };
    const growth = await peakGrowth(pids(), async () => {
      seen = await besideNeighbour(async () => {
        const abuser = await RawClient.connect(port, { timeOut: 10_000 });
        abuser.socket.pause();
        for (let i = 0; i < 1000; i++) void abuser.call(OpCode.getData, req.getData('/ab-big'));
        // It takes none of its replies: the gateway gives up on it, and until then it holds its reply window.
        await waitFor('the gateway to drop the client that does not read', () => warnings(zk.gateways[0]!, 'not reading', `:${abuser.localPort}"`).length > 0, 30_000);
        abuser.destroy();
      });
    });
    console.log('peak growth, MiB, 1,000 unread 1 MB replies:', mib(growth));
    expectHealthy(seen);
    for (const [name, bytes] of Object.entries(growth)) expect(bytes, name).toBeLessThan(64 * MiB);
  });

  it('holds a pipelining client that reads back to its window and outstanding limit, and loses or reorders nothing', async () => {
    const nc: NatsConnection = await natsConnect({ servers: zk.nats.url });
    // Every learner → gateway message, to see the batch bound hold.
    let largest = 0;
    const sub = nc.subscribe('zooid.gw.gw0.in.*', {
      callback: (_err, msg) => {
        const [, , , entries] = unpack<LearnerBatch>(msg.data);
        if (entries.length > 1) largest = Math.max(largest, msg.data.length);
      },
    });
    const c = await RawClient.connect(port, { timeOut: 20_000 });
    const seen = await besideNeighbour(async () => {
      c.socket.pause();
      const bigReads = Array.from({ length: 100 }, () => c.call(OpCode.getData, req.getData('/ab-big')));
      // Past the gateway's 1,000 outstanding requests, behind the big ones.
      const smallReads = Array.from({ length: 2500 }, () => c.call(OpCode.exists, req.exists('/ab-small')));
      await waitFor('replies to pile up unread', () => c.socket.readableLength > 0, 10_000);
      c.socket.resume();
      const got = await Promise.all(bigReads);
      for (const r of got) {
        expect(r.err).toBe(Err.OK);
        expect(Buffer.from((r.body as { data: Uint8Array }).data).equals(big)).toBe(true);
      }
      expect((await Promise.all(smallReads)).every((r) => r.err === Err.OK)).toBe(true);
    });
    expectHealthy(seen);
    expect(c.outOfOrder).toEqual([]);
    expect(c.isClosed).toBe(false);
    expect(warnings(zk.gateways[0]!, `:${c.localPort}"`)).toEqual([]);
    // Small replies share messages up to --gateway-batch-bytes (1 MiB); a 1 MB reply goes alone.
    expect(largest).toBeGreaterThan(0);
    expect(largest).toBeLessThanOrEqual(MiB + 64 * 1024);
    sub.unsubscribe();
    await nc.close();
    await c.close();
  });
});

describe('no buffering before a session exists', () => {
  it('a connect from the future followed by 1,000 frames of 1 MB costs the gateway nothing', async () => {
    let seen = { reads: 0, errors: [] as string[] };
    const growth = await peakGrowth(pids(), async () => {
      seen = await besideNeighbour(async () => {
        const s = await openSocket(port);
        s.on('error', () => undefined);
        s.write(frame(encodeConnectRequest({ protocolVersion: 0, lastZxidSeen: 0x20000 * 2 ** 32, timeOut: 4000, sessionId: 0n, passwd: new Uint8Array(16), readOnly: false })));
        const flood = frame(encodeRequest({ xid: 1, type: OpCode.setData }, { path: '/ab-small', data: randomBytes(DEFAULT_MAX_BUFFER - 1024), version: -1 }));
        for (let i = 0; i < 1000 && !s.destroyed; i++) s.write(flood);
        await socketClosed(s, 15_000);
        s.destroy();
      });
    });
    console.log('peak growth, MiB, 1,000 frames of 1 MB before a session:', mib(growth));
    expectHealthy(seen);
    expect(growth.gateway).toBeLessThan(16 * MiB);
    expect(growth.member).toBeLessThan(16 * MiB);
    // The flood was never read, so it was never written: /ab-small is as it was.
    const r = await neighbour.call(OpCode.getData, req.getData('/ab-small'));
    expect(Buffer.from((r.body as { data: Uint8Array }).data).toString()).toBe('small');
  });
});

describe('limits', () => {
  it('a session that sets more watches than --max-session-watches loses its connection, logged once; its neighbour is untouched', async () => {
    const c = await RawClient.connect(port, { timeOut: 10_000 });
    const seen = await besideNeighbour(async () => {
      const within = await Promise.all(Array.from({ length: WATCH_LIMIT }, (_, i) => c.call(OpCode.exists, req.exists(`/ab-w-${i}`, true))));
      expect(within.map((r) => r.err)).toEqual(within.map(() => Err.NONODE));
      // Setting one it already holds adds nothing.
      expect((await c.call(OpCode.exists, req.exists('/ab-w-0', true))).err).toBe(Err.NONODE);
      void c.call(OpCode.exists, req.exists(`/ab-w-${WATCH_LIMIT}`, true));
      await c.closed;
    });
    expectHealthy(seen);
    const id = c.sessionId.toString(16);
    await waitFor('the member to log the breach', () => warnings(zk.member, 'more watches than allowed', id).length > 0, 5000);
    expect(warnings(zk.member, 'more watches than allowed', id)).toHaveLength(1);
  });

  it('connections together past --global-outstanding-limit: those holding more than their share stop being read, the neighbour does not', async () => {
    /** The gateway's count of a connection's unanswered requests, from `cons`. */
    const queued = async (c: RawClient) => {
      const line = (await fourLetter(port, 'cons')).split('\n').find((l) => l.includes(`:${c.localPort}[`));
      return Number(/queued=(\d+)/.exec(line ?? '')?.[1] ?? -1);
    };
    const a = await RawClient.connect(port, { timeOut: 10_000 });
    const b = await RawClient.connect(port, { timeOut: 10_000 });
    let aHeld = -1;
    let bHeld = -1;
    const seen = await besideNeighbour(async () => {
      // Each takes none of its 1 MB replies: past the reply window, its reads wait on the learner, outstanding.
      a.socket.pause();
      b.socket.pause();
      for (let i = 0; i < 1000; i++) void a.call(OpCode.getData, req.getData('/ab-big'));
      await waitFor('the first connection to hold its 1,000', async () => (await queued(a)) >= 990, 10_000);
      for (let i = 0; i < 1000; i++) void b.call(OpCode.getData, req.getData('/ab-big'));
      await waitFor('the gateway-wide limit to be reached', () => warnings(zk.gateways[0]!, 'globalOutstandingLimit reached').length > 0, 10_000);
      [aHeld, bHeld] = [await queued(a), await queued(b)];
      a.destroy();
      b.destroy();
    });
    expectHealthy(seen);
    // The second stopped being read once both together reached the limit, well before its own 1,000.
    expect(bHeld).toBeGreaterThan(0);
    expect(bHeld).toBeLessThan(1000);
    expect(aHeld + bHeld).toBeLessThanOrEqual(GLOBAL_LIMIT + 1);
    expect(warnings(zk.gateways[0]!, 'globalOutstandingLimit reached')).toHaveLength(1);
  });
});
