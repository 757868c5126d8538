/**
 * Publishing for the inspector over a real nats-server: however fast an
 * actor moves, its service sends a few messages a second, the latest state
 * wins, the events that did not fit are counted, and the machine's
 * definition rides along the first time and after an inspector's hello.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { createActor, createMachine } from 'xstate';
import { startNatsServer, type ManagedNats } from '@zooid/cli';
import { pack, subjects, unpack, type InspectMessage } from '@zooid/protocol';
import { InspectPublisher } from '@zooid/inspect';

let nats: ManagedNats;
let nc: NatsConnection;

beforeAll(async () => {
  nats = await startNatsServer();
  nc = await connect({ servers: nats.url });
});

afterAll(async () => {
  await nc?.close();
  await nats?.stop();
});

const toggle = createMachine({
  id: 'toggle',
  initial: 'off',
  states: { off: { on: { FLIP: 'on' } }, on: { on: { FLIP: 'off' } } },
});

describe('inspect publishing', () => {
  it('coalesces: a burst of transitions is a few messages, the latest state wins', async () => {
    const subj = subjects('t1');
    const got: InspectMessage[] = [];
    const sub = nc.subscribe(subj.inspect('member', 'x'), { callback: (_e, m) => got.push(unpack<InspectMessage>(m.data)) });
    const pub = new InspectPublisher(nc, { cluster: 't1', kind: 'member', id: 'x', minIntervalMs: 250, heartbeatMs: 60_000, maxEvents: 50 });
    const actor = createActor(toggle, { inspect: pub.observer() });
    pub.track('toggle', actor);
    actor.start();
    const started = Date.now();
    for (let i = 0; i < 2001; i++) actor.send({ type: 'FLIP' });
    await new Promise((r) => setTimeout(r, 1200));
    const elapsed = Date.now() - started;
    pub.stop();
    sub.unsubscribe();

    expect(got.length).toBeGreaterThanOrEqual(1);
    // At most one message per 250 ms (plus the final one on stop).
    expect(got.length).toBeLessThanOrEqual(Math.ceil(elapsed / 250) + 1);
    const last = got.at(-1)!;
    expect(last.actors).toEqual([{ key: 'toggle', machine: 'toggle', value: 'on', status: 'active' }]);
    // 2002 snapshots (init + 2001 flips): each message carries at most 50 events and counts the rest.
    const carried = got.reduce((n, m) => n + m.events.length, 0);
    const dropped = got.reduce((n, m) => n + m.dropped, 0);
    expect(carried + dropped).toBe(2002);
    expect(Math.max(...got.map((m) => m.events.length))).toBeLessThanOrEqual(50);
    expect(got[0]!.events[0]).toMatchObject({ actor: 'toggle', machine: 'toggle', type: 'xstate.init', to: 'off' });
    expect(got[0]!.events[1]).toMatchObject({ type: 'FLIP', from: 'off', to: 'on' });
    // The definition comes with the first message only.
    expect(Object.keys(got[0]!.defs ?? {})).toEqual(['toggle']);
    expect(got.slice(1).every((m) => m.defs === undefined)).toBe(true);
    expect(got.map((m) => m.seq)).toEqual(got.map((_, i) => i + 1));
  });

  it('sends the definitions again when an inspector says hello, and a heartbeat when idle', async () => {
    const subj = subjects('t2');
    const got: InspectMessage[] = [];
    const sub = nc.subscribe(subj.inspect('observer', 'y'), { callback: (_e, m) => got.push(unpack<InspectMessage>(m.data)) });
    const pub = new InspectPublisher(nc, { cluster: 't2', kind: 'observer', id: 'y', minIntervalMs: 50, heartbeatMs: 300 });
    const actor = createActor(toggle, { inspect: pub.observer() });
    pub.track('toggle', actor);
    actor.start();
    await new Promise((r) => setTimeout(r, 200));
    const before = got.length;
    nc.publish(subj.inspectHello, pack({ at: Date.now() }));
    await new Promise((r) => setTimeout(r, 200));
    expect(got.slice(before).some((m) => m.defs?.toggle)).toBe(true);
    const n = got.length;
    await new Promise((r) => setTimeout(r, 800));
    // Idle: heartbeats only, a few per second at most.
    expect(got.length - n).toBeGreaterThanOrEqual(2);
    expect(got.length - n).toBeLessThanOrEqual(4);
    pub.stop();
    sub.unsubscribe();
  });
});
