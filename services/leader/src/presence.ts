import { hostname } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pack, subjects, unpack, type AdminAsk, type HeapReport, type Presence } from '@zooid/protocol';
import type { Logger, NatsConnection } from '@zooid/runtime';
import type { MemberStore } from './member-store.js';
import { nodeInfo } from './admin.js';

/** What a member or observer process reports about its current role stint. */
export interface RoleView {
  currentEpoch: number;
  sessionCount: number;
  serving: boolean;
  admin(ask: AdminAsk): Record<string, unknown>;
}

/**
 * The bus side every member and observer process shares: a presence
 * announcement (once a second, and whenever `announce` is called) and the
 * admin statistics four-letter words ask for.
 */
export function memberPlumbing(
  nc: NatsConnection,
  cluster: string,
  log: Logger,
  me: {
    kind: Presence['kind'];
    id: string;
    store: MemberStore;
    role: () => string;
    current: () => RoleView | undefined;
    /** The committed configuration's version, whether this member votes in it, and its voters (voting members only). */
    config?: () => NonNullable<Presence['config']>;
    /** The member's Prometheus metrics as JSON, for the `metrics` ask. */
    metrics?: { json(): Promise<unknown> };
  },
) {
  const subj = subjects(cluster);
  // A member that stops its event loop misses heartbeats and serves nobody: how long it did, for `zooid status` and the bench.
  const delay = monitorEventLoopDelay({ resolution: 10 });
  delay.enable();
  const announce = () => {
    const r = me.current();
    const p: Presence = {
      kind: me.kind,
      id: me.id,
      role: me.role(),
      pid: process.pid,
      host: hostname(),
      epoch: r?.currentEpoch || me.store.epochs.readCurrent(),
      zxid: me.store.tree.lastZxid,
      logged: me.store.lastLogged,
      sessions: r?.sessionCount ?? 0,
      serving: r?.serving ?? false,
      stallMs: Math.round(delay.max / 1e6),
    };
    delay.reset();
    if (me.config) p.config = me.config();
    nc.publish(subj.presence(me.kind, me.id), pack(p));
  };
  const admin = nc.subscribe(subj.admin(me.id), {
    callback: (err, msg) => {
      if (err) return;
      try {
        const ask = unpack<AdminAsk>(msg.data);
        // The inspector's asks: answered in any role, from the member's own tree.
        if (ask.command === 'ping') {
          msg.respond(pack({ id: me.id }));
          return;
        }
        if (ask.command === 'tree') {
          msg.respond(pack(nodeInfo(me.store.tree, ask.path ?? '/')));
          return;
        }
        if (ask.command === 'heap') {
          void heapReport(() => me.store.snapshotInProgress).then((r) => msg.respond(pack(r)));
          return;
        }
        if (ask.command === 'metrics') {
          void (me.metrics?.json() ?? Promise.resolve([])).then((m) => msg.respond(pack(m)), (err) => log.warn({ err }, 'metrics failed'));
          return;
        }
        const r = me.current();
        msg.respond(pack(r ? r.admin(ask) : { serverState: me.role(), zxid: me.store.tree.lastZxid, nodeCount: me.store.tree.nodeCount }));
      } catch (e) {
        log.warn({ err: e }, 'bad admin request');
      }
    },
  });
  const timer = setInterval(announce, 1000);
  return {
    announce,
    stop: () => {
      clearInterval(timer);
      delay.disable();
      admin.unsubscribe();
    },
  };
}

/**
 * Memory now, after a full collection if the process was started with
 * `--expose-gc` — but none while a snapshot is in progress: whoever asks
 * waits for the steady state between snapshots and asks again, and two full
 * collections of a heap of millions of znodes per ask would mostly slow
 * the snapshot it waits for.
 */
async function heapReport(snapshotting: () => boolean): Promise<HeapReport> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const collect = gc !== undefined && !snapshotting();
  if (collect) {
    gc();
    // V8 frees dead ArrayBuffers' memory on a background thread after a collection, and counts it in
    // `external` until then (tens of MiB after a burst of writes): a second collection a turn later waits for that.
    await new Promise((resolve) => setImmediate(resolve));
    gc();
  }
  const m = process.memoryUsage();
  return { collected: collect, heapUsed: m.heapUsed, external: m.external, rss: m.rss, snapshotting: snapshotting() };
}
