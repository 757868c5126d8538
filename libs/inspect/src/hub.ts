import { pack, presenceConfig, senderOf, subjects, unpack, type InspectMessage, type Presence, type Vote } from '@zooid/protocol';
import type { Logger, NatsConnection } from '@zooid/runtime';
import { flatValue, hex, zxidLag } from './values.js';
import type { ClusterView, LogEntry, ServiceView, VoteView } from './view.js';

/** A service not heard from (presence) for this long is shown as gone. */
export const GONE_AFTER_MS = 3_000;
/** …and forgotten after this long. */
const FORGET_AFTER_MS = 10 * 60_000;
const VOTE_TTL_MS = 10_000;
const LOG_SIZE = 2_000;
const POLL_MS = 2_000;

interface Known {
  presence?: Presence;
  seen: number;
  inspect?: InspectMessage;
  mntr?: Record<string, unknown>;
  wasGone: boolean;
}

export interface HubListener {
  /** The view changed (called at most every `minIntervalMs`). */
  view?(v: ClusterView): void;
  log?(entries: LogEntry[]): void;
  defs?(defs: Record<string, unknown>): void;
}

export interface HubOptions {
  cluster: string;
  /** Asks a member over the bus (the gateway's admin ask, which also measures the round trip). */
  ask: (id: string, ask: { command: 'mntr' }) => Promise<unknown>;
  minIntervalMs?: number;
}

/**
 * The gateway's picture of the cluster for the inspector: who is there
 * (presence), what each service's machines are doing (inspect messages), the
 * election's votes, and a log of lifecycle events. Listeners — the page's
 * event streams, the Stately bridge — get coalesced updates.
 */
export class InspectorHub {
  private readonly known = new Map<string, Known>();
  private readonly votes = new Map<string, VoteView>();
  readonly defs = new Map<string, unknown>();
  private readonly logRing: LogEntry[] = [];
  private logN = 0;
  private pendingLog: LogEntry[] = [];
  private readonly listeners = new Set<HubListener>();
  private readonly subs: { unsubscribe(): void }[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private dirty = false;
  private flushTimer: NodeJS.Timeout | undefined;
  private lastFlush = 0;
  private lastHello = 0;
  private readonly subj;
  private readonly minInterval: number;

  constructor(
    private readonly nc: NatsConnection,
    private readonly opts: HubOptions,
    private readonly log?: Logger,
  ) {
    this.subj = subjects(opts.cluster);
    this.minInterval = opts.minIntervalMs ?? 250;
  }

  start(): void {
    const on = <T>(subject: string, fn: (m: T, subject: string) => void) =>
      this.subs.push(
        this.nc.subscribe(subject, {
          callback: (err, msg) => {
            if (err) return;
            try {
              fn(unpack<T>(msg.data), msg.subject);
            } catch (e) {
              this.log?.debug({ err: e, subject }, 'inspector dropped a message');
            }
          },
        }),
      );
    // Each service is believed only on its own subjects, which the bus lets no one else publish on.
    on<Presence>(this.subj.presenceAll, (p, s) => s === this.subj.presence(p.kind, p.id) && this.onPresence(p));
    on<InspectMessage>(this.subj.inspectAll, (m, s) => s === this.subj.inspect(m.kind, m.id) && this.onInspect(m));
    on<Vote>(this.subj.electionAll, (v, s) => v.from === senderOf(s) && this.onVote(v));
    this.hello();
    this.timers.push(setInterval(() => this.housekeeping(), 500));
    this.timers.push(setInterval(() => void this.poll(), POLL_MS));
    for (const t of this.timers) t.unref();
  }

  stop(): void {
    for (const s of this.subs) s.unsubscribe();
    for (const t of this.timers) clearInterval(t);
    clearTimeout(this.flushTimer);
    this.listeners.clear();
  }

  subscribe(l: HubListener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }

  /** The most recent log entries, oldest first. */
  recentLog(limit = 500): LogEntry[] {
    return this.logRing.slice(-limit);
  }

  /** Serving learners, the leader first: whom to read the tree from. */
  readers(): string[] {
    const v = this.view();
    const serving = v.members.filter((m) => m.serving && !m.gone);
    serving.sort((a, b) => (a.id === v.leader ? -1 : b.id === v.leader ? 1 : 0));
    return serving.map((m) => m.id);
  }

  view(): ClusterView {
    const now = Date.now();
    const members: ServiceView[] = [];
    const gateways: ServiceView[] = [];
    for (const [key, k] of this.known) {
      const p = k.presence;
      if (!p) continue;
      const gone = now - k.seen > GONE_AFTER_MS;
      const s: ServiceView = {
        kind: p.kind,
        id: p.id,
        role: gone ? 'gone' : p.role,
        serving: p.serving && !gone,
        gone,
        pid: p.pid,
        host: p.host,
        epoch: p.epoch,
        zxid: hex(p.zxid),
        sessions: p.sessions,
        clientPort: p.clientPort,
        adminPort: p.adminPort,
        lastSeen: k.seen,
        actors: gone ? [] : (k.inspect?.actors ?? []),
      };
      const config = presenceConfig(p);
      if (config) {
        s.config = hex(config.version);
        s.voting = config.voting;
      }
      const role = s.actors.find((a) => a.key.endsWith('/role'));
      if (role && p.kind !== 'gateway') s.phase = flatValue(role.value);
      if (k.mntr && !gone) {
        s.watches = Number(k.mntr.watchCount ?? 0);
        s.znodes = Number(k.mntr.nodeCount ?? 0);
      }
      void key;
      (p.kind === 'gateway' ? gateways : members).push(s);
    }
    const leaders = members.filter((m) => m.role === 'leading' && !m.gone);
    leaders.sort((a, b) => b.epoch - a.epoch);
    const leader = leaders[0];
    const leaderZxid = leader ? Number(leader.zxid) : undefined;
    for (const m of members) {
      if (leaderZxid !== undefined && !m.gone) m.lag = zxidLag(leaderZxid, Number(m.zxid));
    }
    const byId = (a: ServiceView, b: ServiceView) => (a.kind === b.kind ? a.id.localeCompare(b.id, undefined, { numeric: true }) : a.kind === 'member' ? -1 : 1);
    members.sort(byId);
    gateways.sort(byId);
    const looking = members.filter((m) => !m.gone && m.role === 'looking').map((m) => m.id);
    const votes = [...this.votes.values()].filter((v) => now - v.at < VOTE_TTL_MS).sort((a, b) => a.from.localeCompare(b.from, undefined, { numeric: true }));
    const live = members.filter((m) => !m.gone);
    return {
      cluster: this.opts.cluster,
      at: now,
      leader: leader?.id,
      members,
      gateways,
      election: { looking, votes },
      totals: {
        sessions: Number(leader ? (this.known.get(`member/${leader.id}`)?.mntr?.sessions ?? 0) : 0),
        watches: live.reduce((n, m) => n + (m.watches ?? 0), 0),
        znodes: leader?.znodes ?? live[0]?.znodes ?? 0,
        connections: gateways.filter((g) => !g.gone).reduce((n, g) => n + g.sessions, 0),
      },
    };
  }

  private entry(p: { kind: Presence['kind']; id: string }): Known {
    const key = `${p.kind}/${p.id}`;
    let k = this.known.get(key);
    if (!k) this.known.set(key, (k = { seen: 0, wasGone: false }));
    return k;
  }

  private onPresence(p: Presence): void {
    const k = this.entry(p);
    const before = k.presence;
    if (!before || k.wasGone) this.note({ at: Date.now(), service: p.id, kind: p.kind, actor: 'presence', machine: '', type: before ? 'back' : 'joined', to: p.role });
    else if (before.role !== p.role) this.note({ at: Date.now(), service: p.id, kind: p.kind, actor: 'presence', machine: '', type: 'role', from: before.role, to: p.role });
    k.presence = p;
    k.seen = Date.now();
    k.wasGone = false;
    this.touch();
  }

  private onInspect(m: InspectMessage): void {
    const k = this.entry(m);
    k.inspect = m;
    let newDefs: Record<string, unknown> | undefined;
    for (const [id, d] of Object.entries(m.defs ?? {})) {
      if (this.defs.has(id) && JSON.stringify(this.defs.get(id)) === JSON.stringify(d)) continue;
      this.defs.set(id, d);
      (newDefs ??= {})[id] = d;
    }
    if (newDefs) for (const l of this.listeners) l.defs?.(newDefs);
    for (const a of m.actors) if (!this.defs.has(a.machine)) this.hello();
    for (const e of m.events) this.note({ at: e.at, service: m.id, kind: m.kind, actor: e.actor, machine: e.machine, type: e.type, from: e.from, to: e.to });
    if (m.dropped > 0) this.note({ at: m.at, service: m.id, kind: m.kind, actor: '', machine: '', type: `(${m.dropped} events not shown)` });
    this.touch();
  }

  private onVote(v: Vote): void {
    this.votes.set(v.from, { ...v, at: Date.now(), zxidHex: hex(v.zxid) });
    this.touch();
  }

  /** Asks every publisher for its definitions (at most every 2 s). */
  private hello(): void {
    const now = Date.now();
    if (now - this.lastHello < 2000) return;
    this.lastHello = now;
    this.nc.publish(this.subj.inspectHello, pack({ at: now }));
  }

  private note(e: Omit<LogEntry, 'n'>): void {
    const entry = { n: ++this.logN, ...e };
    this.logRing.push(entry);
    if (this.logRing.length > LOG_SIZE) this.logRing.splice(0, this.logRing.length - LOG_SIZE);
    this.pendingLog.push(entry);
  }

  private housekeeping(): void {
    const now = Date.now();
    for (const [key, k] of this.known) {
      if (now - k.seen > FORGET_AFTER_MS) {
        this.known.delete(key);
        continue;
      }
      if (k.presence && !k.wasGone && now - k.seen > GONE_AFTER_MS) {
        k.wasGone = true;
        this.note({ at: now, service: k.presence.id, kind: k.presence.kind, actor: 'presence', machine: '', type: 'gone', from: k.presence.role });
        this.touch();
      }
    }
  }

  /** Watch and znode counts, which presence does not carry. */
  private async poll(): Promise<void> {
    if (this.listeners.size === 0) return;
    const now = Date.now();
    await Promise.all(
      [...this.known.values()].map(async (k) => {
        const p = k.presence;
        if (!p || p.kind === 'gateway' || now - k.seen > GONE_AFTER_MS) return;
        try {
          k.mntr = (await this.opts.ask(p.id, { command: 'mntr' })) as Record<string, unknown>;
        } catch {
          // gone or busy: the next poll tries again
        }
      }),
    );
    this.touch();
  }

  private touch(): void {
    this.dirty = true;
    if (this.flushTimer) return;
    const wait = Math.max(0, this.lastFlush + this.minInterval - Date.now());
    this.flushTimer = setTimeout(() => this.flush(), wait);
    this.flushTimer.unref();
  }

  private flush(): void {
    this.flushTimer = undefined;
    this.lastFlush = Date.now();
    if (!this.dirty) return;
    this.dirty = false;
    const log = this.pendingLog;
    this.pendingLog = [];
    if (this.listeners.size === 0) return;
    const v = this.view();
    for (const l of this.listeners) {
      if (log.length) l.log?.(log);
      l.view?.(v);
    }
  }
}
