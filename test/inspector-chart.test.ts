/**
 * Every state machine in the code base can be drawn by the inspector: its
 * definition (as services publish it) lays out with elkjs and renders as SVG
 * with the active state marked. A new machine added without being listed
 * here fails the inventory test.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import ELK from 'elkjs/lib/elk.bundled.js';
import { memberMachine } from '@zooid/follower';

import { sessionMachine } from '@zooid/session-gw';
import { electionMachine, zabRoleMachine } from '@zooid/zab';
import { observerProcessMachine } from '@zooid/observer';
import { activeIds, flatValue, layoutMachine, renderSvg, scalars, toElkGraph, zxidLag, type StateJson } from '@zooid/inspect';

const root = join(import.meta.dirname, '..');

/** Each machine of the code base, with a state it can be in. */
const machines: { name: string; file: string; machine: { id: string; toJSON(): unknown }; sample: unknown }[] = [
  { name: 'memberMachine', file: 'services/follower/src/member-machine.ts', machine: memberMachine, sample: 'leading' },
  { name: 'electionMachine', file: 'libs/zab/src/election-machine.ts', machine: electionMachine, sample: { looking: { ballot: 'finalizing', rebroadcast: 'waiting' } } },
  { name: "zabRoleMachine('leader')", file: 'libs/zab/src/role-machine.ts', machine: zabRoleMachine('leader'), sample: 'broadcast' },
  { name: "zabRoleMachine('follower')", file: 'libs/zab/src/role-machine.ts', machine: zabRoleMachine('follower'), sample: { establishing: 'synchronization' } },
  { name: "zabRoleMachine('observer')", file: 'libs/zab/src/role-machine.ts', machine: zabRoleMachine('observer'), sample: { establishing: 'discovery' } },
  { name: 'observerProcessMachine', file: 'services/observer/src/observer-machine.ts', machine: observerProcessMachine, sample: 'resting' },
  { name: 'sessionMachine', file: 'services/session-gw/src/session-machine.ts', machine: sessionMachine, sample: 'connected' },
];

/** As it travels on the bus: JSON (functions drop out). */
const definition = (m: { toJSON(): unknown }) => JSON.parse(JSON.stringify(m.toJSON())) as StateJson;

function stateIds(s: StateJson): string[] {
  return Object.values(s.states ?? {}).flatMap((c) => [c.id, ...stateIds(c)]);
}

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (name === 'node_modules' || name === 'dist' || name === 'test') continue;
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

describe('inspector statecharts', () => {
  it('knows every machine in the code base', () => {
    const defining = [...sources(join(root, 'libs')), ...sources(join(root, 'services'))]
      .filter((f) => /\bcreateMachine\(/.test(readFileSync(f, 'utf8')))
      .map((f) => relative(root, f))
      .sort();
    expect(defining).toEqual([...new Set(machines.map((m) => m.file))].sort());
  });

  const elk = new ELK();
  for (const { name, machine, sample } of machines) {
    it(`lays out and draws ${name}`, async () => {
      const def = definition(machine);
      const chart = await layoutMachine(elk, def);
      expect(chart.width).toBeGreaterThan(0);
      expect(chart.height).toBeGreaterThan(0);
      // Every state is placed, inside the drawing.
      for (const id of stateIds(def)) {
        const n = chart.nodes.find((x) => x.id === id);
        expect(n, id).toBeDefined();
        expect(n!.width).toBeGreaterThan(0);
        expect(n!.height).toBeGreaterThan(0);
        expect(n!.x).toBeGreaterThanOrEqual(0);
        expect(n!.y).toBeGreaterThanOrEqual(0);
        expect(n!.x + n!.width).toBeLessThanOrEqual(chart.width + 0.5);
        expect(n!.y + n!.height).toBeLessThanOrEqual(chart.height + 0.5);
      }
      // Every transition between states is routed: one edge per target, each with a path.
      const { graph } = toElkGraph(def);
      expect(chart.edges.length).toBe(graph.edges!.length);
      for (const e of chart.edges) {
        expect(e.points.length, `${e.source} → ${e.target}`).toBeGreaterThanOrEqual(2);
        for (const p of e.points) expect(Number.isFinite(p.x) && Number.isFinite(p.y)).toBe(true);
      }
      // The SVG marks the active states (a leaf, or each region's leaf and their parents), and only them.
      const active = [...activeIds(def.id, sample)];
      const svg = renderSvg(chart, { active: new Set(active) });
      expect(svg.startsWith('<svg')).toBe(true);
      for (const leaf of active.filter((id) => !active.some((other) => other.startsWith(id + '.')))) {
        expect(svg).toContain(`class="state state active" data-state="${leaf}"`);
      }
      expect(svg.match(/ active"/g)?.length).toBe(active.length);
      for (const id of stateIds(def)) expect(svg).toContain(`data-state="${id}"`);
    });
  }

  it('labels transitions with their events and guards, and lists the ones from any state', async () => {
    const chart = await layoutMachine(elk, definition(memberMachine));
    expect(chart.edges.map((e) => e.label)).toEqual(expect.arrayContaining(['ELECTED [electedSelf]', 'ELECTED', 'done: role']));
    expect(chart.global).toEqual(['STOP → stopped']);
    const session = await layoutMachine(elk, definition(sessionMachine));
    expect(session.edges.map((e) => e.label)).toContain('after connectDeadline');
    // Counts for a group of like actors (a gateway's sessions) become badges.
    expect(renderSvg(session, { counts: { 'session.connected': 7 } })).toMatch(/<g class="badge">.*>7<\/text>/);
  });
});

describe('inspector values', () => {
  it('flattens state values and finds the active state nodes', () => {
    expect(flatValue('looking')).toBe('looking');
    expect(flatValue({ a: 'b', c: { d: 'e' } })).toBe('a.b,c.d.e');
    expect([...activeIds('m', { a: 'b' })]).toEqual(['m.a', 'm.a.b']);
  });

  it('keeps the scalar context fields only', () => {
    expect(scalars({ id: '1', round: 2, ok: true, fn: () => 1, obj: {}, big: 255n })).toEqual({ id: '1', round: 2, ok: true, big: '0xff' });
    expect(scalars(undefined)).toBeUndefined();
  });

  it('measures lag within an epoch only', () => {
    const e2 = 2 * 2 ** 32;
    expect(zxidLag(e2 + 10, e2 + 7)).toBe(3);
    expect(zxidLag(e2 + 10, 2 ** 32 + 50)).toBeUndefined();
  });
});
