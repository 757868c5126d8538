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
import { RawClient, req } from './support/raw-client.js';

const TICK = 200;

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
    spy.subscribe(subjects().learnerIn('*'), {
      callback: (err, msg) => {
        if (err) return;
        for (const e of unpack<GatewayBatch>(msg.data)[2]) {
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
