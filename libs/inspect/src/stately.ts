import type { Logger } from '@zooid/runtime';
import type { InspectorHub } from './hub.js';
import type { ServiceView } from './view.js';
import { flatValue } from './values.js';

/** The part of @statelyai/inspect's Inspector the bridge uses. */
export interface StatelyInspector {
  actor(actor: string, snapshot?: { status?: string; value?: unknown; context?: unknown }, info?: { definition?: string; parentId?: string; rootId?: string }): void;
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
 * Mirrors what the hub sees into the Stately inspector: every actor of every
 * service, registered with its machine's definition, then its snapshots and
 * the events that moved it. Runs in the gateway, so the members need no
 * internet access and no flag.
 */
export function bridgeToStately(hub: InspectorHub, inspector: StatelyInspector, log?: Logger): () => void {
  const registered = new Map<string, string>();
  const sync = (s: ServiceView) => {
    for (const a of s.actors) {
      const id = actorId(s, a.key);
      const value = a.counts ? Object.keys(a.counts)[0] : a.value;
      const snap = { status: a.status, value, context: a.context ?? {} };
      const flat = flatValue(value) + '|' + a.status;
      const prev = registered.get(id);
      if (prev === undefined) {
        const def = hub.defs.get(a.machine);
        const parent = a.key.includes('/') ? actorId(s, a.key.slice(0, a.key.lastIndexOf('/'))) : undefined;
        inspector.actor(id, snap, { definition: def ? JSON.stringify(def) : undefined, parentId: parent, rootId: actorId(s, a.key.split('/')[0]!) });
      } else if (prev !== flat) {
        inspector.snapshot(id, snap);
      }
      registered.set(id, flat);
    }
  };
  const unsubscribe = hub.subscribe({
    log: (entries) => {
      for (const e of entries) {
        if (!e.machine || !e.actor) continue;
        const id = actorId({ kind: e.kind, id: e.service }, e.actor);
        if (registered.has(id)) inspector.event(id, { type: e.type });
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
