/**
 * No fault lost in translation, with real processes: a nats-server, one
 * member and two gateways.
 *
 * - A session that reconnects through the other gateway while a write of its
 *   old connection is in flight is answered only for what it sent on the new
 *   connection (kazoo died of "xids do not match, expected 1 received 1184").
 * - Batches lost at the end of a burst, in either direction between gateway
 *   and learner (dropped by the test-only ZOOID_TEST_DROP_* hooks), cost the
 *   client its connection within a heartbeat — not a stall until unrelated
 *   traffic or a 10 s timer reveals the loss — and it goes on with its session.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { Err, OpCode, subjects, unpack, type GatewayBatch } from '@zooid/protocol';
import { startStandalone, waitFor, type Standalone } from './harness.js';
import { logLines } from './support/procs.js';
import { RawClient, req, type Reply } from './support/raw-client.js';

const TICK = 200;
/**
 * How long a lost batch may hold a client up: a few heartbeats (half a tick
 * each) and a reconnect, far below anything else that would reveal the loss
 * (the gateway's 10 s connect deadline; here, with one client, nothing at all).
 */
const LOSS_NOTICED_MS = 2000;

/** Resolves with the reply, or 'closed' when the connection closes first; rejects after the deadline. */
function replyOrClose(c: RawClient, p: Promise<Reply>, deadlineMs: number, what: string): Promise<Reply | 'closed'> {
  let timer: NodeJS.Timeout | undefined;
  const closed = c.closed.then(() => 'closed' as const);
  return Promise.race([
    p.catch(() => closed),
    closed,
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: neither a reply nor a close within ${deadlineMs} ms`)), deadlineMs))),
  ]).finally(() => clearTimeout(timer));
}

describe('a session that moves while a write of its old connection is in flight', () => {
  let zk: Standalone;
  let spy: NatsConnection;

  beforeAll(async () => {
    zk = await startStandalone({ tickTime: TICK, gateways: 2 });
    spy = await connect({ servers: zk.nats.url });
  });

  afterAll(async () => {
    await spy?.close();
    await zk?.stop();
  });

  it('answers the new connection only for its own requests, after the old write', async () => {
    const a = await RawClient.connect(zk.ports[0]!, { timeOut: 10_000 });
    const session = a.sessionId;
    // What reaches the member: the old write first, then the reconnect.
    const seen: string[] = [];
    spy.subscribe(subjects().learnerIn('*', '*'), {
      callback: (err, msg) => {
        if (err) return;
        for (const e of unpack<GatewayBatch>(msg.data)[3]) {
          if (e[0] === 'r' && BigInt(e[2]) === session) seen.push('write');
          if (e[0] === 'c' && BigInt(e[2].sessionId) === session) seen.push('reconnect');
        }
      },
    });
    await spy.flush();
    const member = zk.member.child.pid!;
    // Frozen, the member takes the write and the reconnect together when it wakes:
    // the write is forwarded, not committed, when the session moves.
    process.kill(member, 'SIGSTOP');
    let b: RawClient | undefined;
    try {
      const write = a.callWithXid(1184, OpCode.create, req.create('/moved', 'old connection'));
      await waitFor('the write on the bus', () => seen.includes('write'), 2000, 5);
      const resumed = a.resume(zk.ports[1]!, { deadlineMs: 10_000 });
      await waitFor('the reconnect on the bus', () => seen.includes('reconnect'), 2000, 5);
      expect(seen).toEqual(['write', 'reconnect']);
      process.kill(member, 'SIGCONT');
      b = (await resumed).client;
      expect(b, 'the session resumed through the other gateway').toBeDefined();
      const first = await b!.call(OpCode.exists, req.exists('/moved'));
      // The old connection was told to go, and never got its answer on the new one.
      await a.closed;
      await expect(write).rejects.toThrow();
      expect(b!.incoming.filter((m) => m.kind === 'other'), 'replies to xids the new connection never sent').toEqual([]);
      expect(first.xid).toBe(1);
      expect(first.err).toBe(Err.OK);
      // The write of the old connection took effect before the new connection's read.
      expect(first.body).not.toBeNull();
    } finally {
      process.kill(member, 'SIGCONT');
      a.destroy();
      b?.destroy();
    }
  });
});

describe('batches lost at the end of a burst', () => {
  let zk: Standalone;

  beforeAll(async () => {
    // Every 4th batch a gateway receives from the learner and every 5th the
    // learner receives from a gateway is dropped. One client sends one
    // request at a time, so each lost batch is the last of its burst.
    zk = await startStandalone({
      tickTime: TICK,
      gateways: 1,
      gatewayEnv: { ZOOID_TEST_DROP_LEARNER_BATCH_EVERY: '4' },
      memberEnv: { ZOOID_TEST_DROP_GATEWAY_BATCH_EVERY: '5' },
    });
  });

  afterAll(async () => {
    await zk?.stop();
  });

  it('cost the client its connection within a heartbeat or two, and it goes on with its session', async () => {
    const port = zk.ports[0]!;
    let stalls = 0;
    let worstMs = 0;
    /** Connects (or resumes) until a handshake is answered; each attempt is answered or closed within the deadline. */
    const handshake = async (prior?: RawClient): Promise<RawClient> => {
      for (;;) {
        const t0 = Date.now();
        const { client } = prior ? await prior.resume(port, { deadlineMs: LOSS_NOTICED_MS }) : await RawClient.handshake(port, { timeOut: 10_000, deadlineMs: LOSS_NOTICED_MS });
        if (client) return client;
        stalls++;
        worstMs = Math.max(worstMs, Date.now() - t0);
      }
    };
    const first = await handshake();
    let c = first;
    let answered = 0;
    for (let i = 0; i < 40; i++) {
      const t0 = Date.now();
      const r = await replyOrClose(c, c.call(OpCode.create, req.create(`/lossy-${i}`, `v${i}`)), LOSS_NOTICED_MS, `create /lossy-${i}`);
      if (r === 'closed') {
        stalls++;
        worstMs = Math.max(worstMs, Date.now() - t0);
        c = await handshake(c);
        continue;
      }
      expect(r.err).toBe(Err.OK);
      answered++;
    }
    console.log(`[bus-loss] 40 creates: ${answered} answered, ${stalls} connections lost to dropped batches, the longest wait for the close ${worstMs} ms`);
    expect(c.sessionId).toBe(first.sessionId);
    expect(answered).toBeGreaterThan(0);
    // Both directions lost batches, and both were noticed.
    const [gateway] = zk.gateways;
    expect(logLines(gateway!).filter((l) => l.msg === 'batches from a learner were lost; closing its connections').length).toBeGreaterThan(0);
    expect(logLines(zk.member).filter((l) => l.msg === 'batches from a gateway were lost; closing its connections here').length).toBeGreaterThan(0);
    c.destroy();
  });
});

describe('the first batch of a series lost', () => {
  let zk: Standalone;

  beforeAll(async () => {
    // The member drops the first batch it hears from the gateway (the client's
    // connect), and the gateway the first it hears from the member: each is
    // the start of a series, which numbers alone cannot tell from its middle.
    zk = await startStandalone({
      tickTime: TICK,
      gateways: 1,
      memberEnv: { ZOOID_TEST_DROP_GATEWAY_BATCH_NTH: '1' },
      gatewayEnv: { ZOOID_TEST_DROP_LEARNER_BATCH_NTH: '1' },
    });
  });

  afterAll(async () => {
    await zk?.stop();
  });

  it('is noticed within a heartbeat or two: the connect it carried is closed, and the next one is served', async () => {
    const port = zk.ports[0]!;
    const t0 = Date.now();
    const lost = await RawClient.handshake(port, { timeOut: 10_000, deadlineMs: LOSS_NOTICED_MS });
    expect(lost.client, 'the connect whose batch was lost was answered').toBeUndefined();
    const noticedMs = Date.now() - t0;
    const { client } = await RawClient.handshake(port, { timeOut: 10_000, deadlineMs: LOSS_NOTICED_MS });
    expect(client, 'the next connect was not answered').toBeDefined();
    expect((await client!.call(OpCode.create, req.create('/after-first-loss', 'x'))).err).toBe(Err.OK);
    console.log(`[bus-loss] a lost first batch closed its connect after ${noticedMs} ms`);
    await waitFor('the member saying so', () => logLines(zk.member).some((l) => l.msg === 'batches from a gateway were lost; closing its connections here'));
    await client!.close();
  });
});
