/**
 * The opt-in bridge to the Stately inspector: what the gateway's hub sees is
 * handed to @statelyai/inspect's Inspector — each actor registered once with
 * its machine's definition, then its snapshots and events. Checked against
 * the real library with an adapter that records what it would send (no
 * network: the real targets are Stately's hosted inspector or a WebSocket).
 */
import { describe, expect, it } from 'vitest';
import { createMachine } from 'xstate';
import { createInspector, type StatelyInspectionEvent } from '@statelyai/inspect';
import { memberMachine } from '@zooid/follower';
import { bridgeToStately, createStatelyInspector, type ClusterView, type HubListener, type InspectorHub, type StatelyInspector } from '@zooid/inspect';

function fakeHub() {
  const listeners = new Set<HubListener>();
  const hub = {
    defs: new Map<string, unknown>([['member', JSON.parse(JSON.stringify(memberMachine.toJSON()))]]),
    subscribe(l: HubListener) {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
  return { hub: hub as unknown as InspectorHub, listeners };
}

function view(value: string): ClusterView {
  const member = {
    kind: 'member' as const,
    id: '2',
    role: value,
    serving: true,
    gone: false,
    pid: 1,
    host: 'h',
    epoch: 1,
    zxid: '0x0',
    sessions: 0,
    lastSeen: 0,
    actors: [{ key: 'member', machine: 'member', value, status: 'active', context: { id: '2' } }],
  };
  return { cluster: 'zooid', at: 0, members: [member], gateways: [], election: { looking: [], votes: [] }, totals: { sessions: 0, watches: 0, znodes: 0, connections: 0 } };
}

describe('Stately bridge', () => {
  it('registers each actor with its definition, then sends snapshots and events', () => {
    const sent: StatelyInspectionEvent[] = [];
    const inspector = createInspector({ send: (e) => void sent.push(e) }) as unknown as StatelyInspector;
    const { hub, listeners } = fakeHub();
    const stop = bridgeToStately(hub, inspector);
    const [l] = [...listeners];
    l!.view!(view('looking'));
    l!.view!(view('looking'));
    l!.log!([{ n: 1, at: 0, service: '2', kind: 'member', actor: 'member', machine: 'member', type: 'ELECTED', from: 'looking', to: 'leading' }]);
    l!.view!(view('leading'));
    stop();
    expect(listeners.size).toBe(0);

    const actors = sent.filter((e) => e.type === '@xstate.actor');
    expect(actors).toHaveLength(1);
    const actor = actors[0] as Extract<StatelyInspectionEvent, { type: '@xstate.actor' }>;
    expect(actor.sessionId).toBe('member:2/member');
    // The definition is a machine config xstate (and so Stately's inspector) can build again.
    const config = JSON.parse(actor.definition!);
    expect(config).toMatchObject({ id: 'member', initial: 'looking' });
    const rebuilt = createMachine(config);
    expect(Object.keys(rebuilt.states).sort()).toEqual(['following', 'leading', 'looking', 'stopped']);
    expect(rebuilt.states.looking!.on.ELECTED!.map((t) => t.target?.[0]?.id)).toEqual(['member.leading', 'member.following']);
    expect(rebuilt.states.looking!.on.ELECTED![0]!.guard).toBe('electedSelf');
    expect(sent.filter((e) => e.type === '@xstate.event').map((e) => (e as { event: { type: string } }).event.type)).toEqual(['ELECTED']);
    const snaps = sent.filter((e) => e.type === '@xstate.snapshot') as { snapshot: { value: unknown } }[];
    expect(snaps.map((s) => s.snapshot.value)).toEqual(['leading']);
  });

  it('takes sky or a ws:// URL, nothing else', async () => {
    await expect(createStatelyInspector('http://example')).rejects.toThrow(/sky.*ws:\/\//);
  });
});
