import type { AnyActorRef, InspectionEvent } from 'xstate';
import { pack, subjects, type InspectActor, type InspectEvent, type InspectMessage, type Presence } from '@zooid/protocol';
import type { Logger, NatsConnection } from '@zooid/runtime';
import { flatValue, scalars } from './values.js';

export interface PublisherOptions {
  cluster: string;
  kind: Presence['kind'];
  id: string;
  /** Least time between two messages: changes in between are coalesced, the latest state wins. */
  minIntervalMs?: number;
  /** A message at least this often, so an inspector that just joined sees the state. */
  heartbeatMs?: number;
  /** Lifecycle events carried by one message; the rest are counted as dropped. */
  maxEvents?: number;
}

/** What the publisher needs of a machine: xstate's StateMachine has all three. */
interface MachineLike {
  id: string;
  toJSON(): unknown;
}

const logicOf = (ref: AnyActorRef): unknown => (ref as unknown as { logic?: unknown }).logic;

const isMachine = (logic: unknown): logic is MachineLike =>
  typeof logic === 'object' && logic !== null && typeof (logic as MachineLike).toJSON === 'function' && 'root' in logic;

/**
 * Publishes one service's actors on `<cluster>.inspect.<kind>.<id>`.
 *
 * Inspection events only append to a bounded list and schedule a flush; the
 * flush reads each tracked actor's current snapshot, so however many
 * transitions happen in between, one message carries the latest state.
 * Messages go out at most every `minIntervalMs` and at least every
 * `heartbeatMs`. Nothing here runs per client request: the machines only see
 * lifecycle events.
 */
export class InspectPublisher {
  private readonly roots = new Map<string, AnyActorRef>();
  private readonly names = new WeakMap<AnyActorRef, string>();
  private readonly sources: (() => InspectActor[])[] = [];
  private readonly defs = new Map<string, unknown>();
  private readonly sentDefs = new Set<string>();
  private readonly last = new WeakMap<AnyActorRef, string>();
  private events: InspectEvent[] = [];
  private dropped = 0;
  private seq = 0;
  private lastSent = 0;
  private flushTimer: NodeJS.Timeout | undefined;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly hello: { unsubscribe(): void };
  private allDefs = true;
  private beats = 0;
  private stopped = false;
  private readonly subject: string;
  private readonly minInterval: number;
  private readonly maxEvents: number;

  constructor(
    private readonly nc: NatsConnection,
    private readonly opts: PublisherOptions,
    private readonly log?: Logger,
  ) {
    const subj = subjects(opts.cluster);
    this.subject = subj.inspect(opts.kind, opts.id);
    this.minInterval = opts.minIntervalMs ?? 250;
    this.maxEvents = opts.maxEvents ?? 64;
    const heartbeatMs = opts.heartbeatMs ?? 2000;
    this.heartbeat = setInterval(() => {
      // Every so often the definitions ride along too, in case a hello was lost.
      if (++this.beats % 15 === 0) this.allDefs = true;
      if (Date.now() - this.lastSent >= heartbeatMs - 10) this.flush();
    }, heartbeatMs);
    this.heartbeat.unref();
    this.hello = nc.subscribe(subj.inspectHello, {
      callback: () => {
        this.allDefs = true;
        this.schedule();
      },
    });
  }

  /**
   * The `inspect` option for `createActor`. Events of the whole actor system
   * (invoked children included) are logged under their actor's path; `name`
   * labels the root (for many like actors, such as client sessions); `keep`
   * leaves out events not worth a line.
   */
  observer(name?: string, keep?: (e: InspectEvent) => boolean): (ev: InspectionEvent) => void {
    return (ev) => {
      if (this.stopped || ev.type !== '@xstate.snapshot') return;
      const ref = ev.actorRef as AnyActorRef;
      const logic = logicOf(ref);
      if (!isMachine(logic)) return;
      const to = flatValue((ev.snapshot as { value?: unknown }).value);
      const from = this.last.get(ref);
      this.last.set(ref, to);
      const e: InspectEvent = { at: Date.now(), actor: this.keyOf(ref, name), machine: logic.id, type: ev.event.type, from, to };
      if (keep && !keep(e)) return;
      if (this.events.length >= this.maxEvents) this.dropped++;
      else this.events.push(e);
      this.schedule();
    };
  }

  /** A long-lived actor whose state (and its children's) every message carries, under `name`. */
  track(name: string, actor: AnyActorRef): void {
    this.roots.set(name, actor);
    this.names.set(actor, name);
    this.schedule();
  }

  /** Actors summarised by the service itself, e.g. how many client sessions are in each state. */
  source(fn: () => InspectActor[]): void {
    this.sources.push(fn);
  }

  /** A machine whose definition the inspector should have even before an actor of it runs. */
  define(machine: MachineLike): void {
    this.learn(machine);
  }

  stop(): void {
    if (this.stopped) return;
    this.flush();
    this.stopped = true;
    clearInterval(this.heartbeat);
    clearTimeout(this.flushTimer);
    this.hello.unsubscribe();
  }

  /** Soon, but not sooner than minIntervalMs after the previous message. */
  private schedule(): void {
    if (this.flushTimer || this.stopped) return;
    const wait = Math.max(0, this.lastSent + this.minInterval - Date.now());
    this.flushTimer = setTimeout(() => this.flush(), wait);
    this.flushTimer.unref();
  }

  private flush(): void {
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    if (this.stopped) return;
    const actors: InspectActor[] = [];
    for (const [name, ref] of this.roots) this.walk(ref, name, actors);
    for (const fn of this.sources) {
      try {
        actors.push(...fn());
      } catch (err) {
        this.log?.warn({ err }, 'inspect source failed');
      }
    }
    const msg: InspectMessage = {
      kind: this.opts.kind,
      id: this.opts.id,
      seq: ++this.seq,
      at: Date.now(),
      actors,
      events: this.events,
      dropped: this.dropped,
    };
    const defs = this.pendingDefs();
    if (defs) msg.defs = defs;
    this.events = [];
    this.dropped = 0;
    this.lastSent = msg.at;
    try {
      this.nc.publish(this.subject, pack(msg));
    } catch (err) {
      // A closed or reconnecting bus: the next message carries the state again.
      this.log?.debug({ err }, 'inspect publish failed');
    }
  }

  private pendingDefs(): Record<string, unknown> | undefined {
    const out: Record<string, unknown> = {};
    let any = false;
    for (const [id, json] of this.defs) {
      if (!this.allDefs && this.sentDefs.has(id)) continue;
      out[id] = json;
      this.sentDefs.add(id);
      any = true;
    }
    this.allDefs = false;
    return any ? out : undefined;
  }

  private learn(machine: MachineLike): void {
    if (this.defs.has(machine.id)) return;
    // xstate's own JSON: functions drop out, names of guards, actions and actors stay.
    this.defs.set(machine.id, JSON.parse(JSON.stringify(machine.toJSON())));
  }

  private walk(ref: AnyActorRef, key: string, out: InspectActor[]): void {
    const logic = logicOf(ref);
    if (!isMachine(logic)) return;
    this.learn(logic);
    const snap = ref.getSnapshot() as { value?: unknown; status: string; context?: unknown; children?: Record<string, AnyActorRef | undefined> };
    const a: InspectActor = { key, machine: logic.id, value: snap.value, status: snap.status };
    const ctx = scalars(snap.context);
    if (ctx) a.context = ctx;
    out.push(a);
    for (const [id, child] of Object.entries(snap.children ?? {})) if (child) this.walk(child, `${key}/${id}`, out);
  }

  private keyOf(ref: AnyActorRef, name: string | undefined): string {
    const named = this.names.get(ref);
    if (named) return named;
    const parent = (ref as { _parent?: AnyActorRef })._parent;
    if (!parent) return name ?? (logicOf(ref) as MachineLike).id;
    return `${this.keyOf(parent, name)}/${ref.id}`;
  }
}
