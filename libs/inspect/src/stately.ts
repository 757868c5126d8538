import type { Logger } from '@zooid/runtime';
import type { InspectorHub } from './hub.js';
import type { StateJson } from './chart.js';
import type { ServiceView } from './view.js';
import { flatValue } from './values.js';

/** What Stately's inspector takes for an actor: its session id, parent, and machine config. */
interface ActorRefLike {
  sessionId: string;
  id: string;
  _parent?: ActorRefLike;
  logic: { config: unknown };
}

/** The part of @statelyai/inspect's Inspector the bridge uses. */
export interface StatelyInspector {
  actor(actor: ActorRefLike, snapshot?: { status?: string; value?: unknown; context?: unknown }): void;
  snapshot(actor: string, snapshot: { status?: string; value?: unknown; context?: unknown }, info?: { event?: { type: string } }): void;
  event(actor: string, event: { type: string }, info?: { source?: string }): void;
  stop(): void;
}

/**
 * Creates the Stately inspector for a `--stately` value: `sky` sends to
 * Stately's hosted inspector (it prints a link to open), a `ws://` or
 * `wss://` URL to a WebSocket inspector server. Loaded only when asked for.
 */
export async function createStatelyInspector(target: string): Promise<StatelyInspector> {
  const mod = await import('@statelyai/inspect');
  if (target === 'sky') return mod.createSkyInspector() as unknown as StatelyInspector;
  if (/^wss?:\/\//.test(target)) return mod.createWebSocketInspector({ url: target }) as unknown as StatelyInspector;
  throw new Error(`--stately takes "sky" or a ws:// URL, got ${target}`);
}

const actorId = (s: { kind: string; id: string }, key: string) => `${s.kind}:${s.id}/${key}`;

/**
 * xstate's machine JSON (what services publish) back into a machine config,
 * which is what Stately's inspector draws: targets by state id, `after` for
 * delayed transitions, other events (done, error) under `on`.
 */
export function toStatelyConfig(def: StateJson, root = true): Record<string, unknown> {
  const out: Record<string, unknown> = { id: def.id };
  if (def.type === 'parallel' || def.type === 'final' || def.type === 'history') out.type = def.type;
  const states = Object.values(def.states ?? {});
  if (states.length) {
    const init = def.initial?.target?.[0];
    if (init) out.initial = init.split('.').pop();
    out.states = Object.fromEntries(states.map((c) => [c.key, toStatelyConfig(c, false)]));
  }
  const on: Record<string, unknown[]> = {};
  const after: Record<string, unknown[]> = {};
  for (const t of def.transitions ?? []) {
    const guard = typeof t.guard === 'string' ? t.guard : (t.guard as { type?: string } | undefined)?.type;
    const tr = { target: t.target?.length ? t.target : undefined, ...(guard ? { guard } : {}) };
    if (t.delay !== undefined && t.eventType.startsWith('xstate.after.')) (after[String(t.delay)] ??= []).push(tr);
    else (on[t.eventType] ??= []).push(tr);
  }
  if (Object.keys(on).length) out.on = on;
  if (Object.keys(after).length) out.after = after;
  const invoke = (def.invoke ?? []).map((i) => ({ src: typeof i.src === 'string' ? i.src : 'actor', id: i.id }));
  if (invoke.length) out.invoke = invoke;
  void root;
  return out;
}

/**
 * Mirrors what the hub sees into the Stately inspector: every actor of every
 * service, registered with its machine, then its snapshots and the events
 * that moved it. Runs in the gateway, so the members need no internet access
 * and no flag.
 */
export function bridgeToStately(hub: InspectorHub, inspector: StatelyInspector, log?: Logger): () => void {
  const refs = new Map<string, ActorRefLike>();
  const shown = new Map<string, string>();
  const ref = (s: ServiceView, key: string, machine: string): ActorRefLike => {
    const id = actorId(s, key);
    let r = refs.get(id);
    if (!r) {
      const def = hub.defs.get(machine) as StateJson | undefined;
      const parentKey = key.includes('/') ? key.slice(0, key.lastIndexOf('/')) : undefined;
      r = { sessionId: id, id: key, logic: { config: def ? toStatelyConfig(def) : { id: machine } }, _parent: parentKey ? refs.get(actorId(s, parentKey)) : undefined };
      refs.set(id, r);
    }
    return r;
  };
  const sync = (s: ServiceView) => {
    for (const a of s.actors) {
      const id = actorId(s, a.key);
      const value = a.counts ? undefined : a.value;
      const snap = { status: a.status, value, context: a.counts ? { sessions: a.counts } : (a.context ?? {}) };
      const flat = (a.counts ? JSON.stringify(a.counts) : flatValue(value)) + '|' + a.status;
      const prev = shown.get(id);
      if (prev === undefined) inspector.actor(ref(s, a.key, a.machine), snap);
      else if (prev !== flat) inspector.snapshot(id, snap);
      shown.set(id, flat);
    }
  };
  const unsubscribe = hub.subscribe({
    log: (entries) => {
      for (const e of entries) {
        if (!e.machine || !e.actor) continue;
        const id = actorId({ kind: e.kind, id: e.service }, e.actor);
        if (shown.has(id)) inspector.event(id, { type: e.type });
      }
    },
    view: (v) => {
      for (const s of [...v.members, ...v.gateways]) if (!s.gone) sync(s);
    },
  });
  log?.info('mirroring the cluster to the Stately inspector');
  return () => {
    unsubscribe();
    inspector.stop();
  };
}
