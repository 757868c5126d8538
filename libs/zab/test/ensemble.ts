import { SimulatedClock, createActor } from 'xstate';
import type { Broadcast, LogEntry, ToLeader, ToLearner } from '@zooid/protocol';
import { History } from '../src/history.js';
import type { DurableState, Effect, Effects } from '../src/core/effects.js';
import { LeaderCore } from '../src/core/leader.js';
import { LearnerCore } from '../src/core/learner.js';
import { makeZxid } from '../src/quorum.js';
import { learnerWithin, roleLimits, zabRoleMachine, type RoleReport } from '../src/role-machine.js';

export const timing = { tickTime: 100, initLimit: 10, syncLimit: 5 };

export const entry = (zxid: number): LogEntry => [zxid, new Uint8Array([zxid & 0xff])];

/** A member's disk as the cores see it: epochs, the log, what is fsynced, what is applied. */
export class Disk {
  acceptedEpoch = 0;
  acceptedLeader: string | undefined;
  currentEpoch = 0;
  log: number[] = [];
  durable = 0;
  applied = 0;
  /** The zxid of the snapshot the log follows. */
  base = 0;
  history: History;

  constructor(zxids: number[] = [], epochs = { accepted: 0, current: 0 }) {
    this.acceptedEpoch = epochs.accepted;
    this.currentEpoch = epochs.current;
    this.history = new History(0);
    this.append(zxids);
    this.durable = this.last;
  }

  get last(): number {
    return this.log.at(-1) ?? this.base;
  }

  state(): DurableState {
    return { acceptedEpoch: this.acceptedEpoch, acceptedLeader: this.acceptedLeader, currentEpoch: this.currentEpoch, lastLogged: this.last };
  }

  append(zxids: number[]): void {
    for (const z of zxids) {
      this.log.push(z);
      this.history.append(entry(z));
    }
  }

  truncateAfter(zxid: number): void {
    this.log = this.log.filter((z) => z <= zxid);
    this.history = new History(this.base);
    for (const z of this.log) this.history.append(entry(z));
    this.durable = Math.min(this.durable, zxid);
  }
}

type Msg = { to: string; kind: 'learner'; msg: ToLearner } | { to: 'leader'; kind: 'leader'; msg: ToLeader } | { to: '*'; kind: 'broadcast'; msg: Broadcast };

/**
 * A leader and learners wired by an in-memory bus the test controls: every
 * message waits in `queue` until delivered, so a test can drop, reorder or
 * hold any of them. Effects are executed as a host would, at once: epochs
 * and logs are written and fsynced synchronously unless `slowDisk` holds the
 * fsync of a learner's log. Each learner stint runs under the real
 * lifecycle machine on the ensemble's simulated clock, which keeps its
 * initLimit and syncLimit as the services' hosts do.
 */
export class Ensemble {
  readonly disks = new Map<string, Disk>();
  readonly learners = new Map<string, LearnerCore>();
  leader!: LeaderCore;
  queue: Msg[] = [];
  readonly effects = new Map<string, Effect[]>();
  readonly slowDisk = new Set<string>();
  now = 0;
  private attempt = 1;
  private readonly clock = new SimulatedClock();
  private readonly reports = new Map<LearnerCore, RoleReport>();
  readonly syncModes = new Map<string, string>();

  constructor(
    readonly leaderId: string,
    readonly voters: string[],
    disks: Record<string, Disk>,
  ) {
    for (const [id, d] of Object.entries(disks)) this.disks.set(id, d);
  }

  startLeader(): void {
    const d = this.disks.get(this.leaderId)!;
    this.leader = new LeaderCore({ id: this.leaderId, voters: this.voters, maxMessageBytes: 1 << 20, ...timing }, d.state(), d.history);
    this.runLeader(this.leader.start(this.now));
  }

  startLearner(id: string, voter = true): LearnerCore {
    const d = this.disks.get(id)!;
    const core = new LearnerCore({ id, voter, leader: voter ? this.leaderId : undefined, attempt: this.attempt++, leaderGoneMs: 1000, ...timing }, d.state());
    this.learners.set(id, core);
    createActor(zabRoleMachine(voter ? 'follower' : 'observer'), {
      clock: this.clock,
      input: {
        limits: roleLimits(timing),
        host: (report) => {
          this.reports.set(core, report);
          return { expire: (reason) => this.runLearner(id, core.leave(reason)), stop: () => this.reports.delete(core) };
        },
      },
    }).start();
    this.runLearner(id, core.start(this.now));
    return core;
  }

  log(id: string): Effect[] {
    let l = this.effects.get(id);
    if (!l) this.effects.set(id, (l = []));
    return l;
  }

  runLeader(fx: Effects): void {
    const d = this.disks.get(this.leaderId)!;
    for (const e of fx) {
      this.log(this.leaderId).push(e);
      switch (e.type) {
        case 'persistEpoch':
          if (e.kind === 'accepted') [d.acceptedEpoch, d.acceptedLeader] = [e.epoch, e.leader];
          else d.currentEpoch = e.epoch;
          break;
        case 'send':
          this.queue.push({ to: e.to, kind: 'learner', msg: e.msg });
          break;
        case 'broadcast':
          this.queue.push({ to: '*', kind: 'broadcast', msg: e.msg });
          break;
        case 'commit':
          d.applied = Math.max(d.applied, e.zxid);
          break;
        case 'prepareSync': {
          if (e.plan.mode === 'snap') {
            this.runLeader(this.leader.syncPrepared(e.to, e.attempt, { plan: e.plan, txns: [], snapshot: { zxid: d.last, bytes: new Uint8Array(d.log.length) } }));
            break;
          }
          // What left memory is read back from the log; the core tops it up from memory.
          const from = e.plan.mode === 'diff' ? e.plan.from : e.plan.truncTo;
          const read = from < d.history.memoryBase ? d.log.filter((zx) => zx > from && zx <= d.history.memoryBase).map(entry) : [];
          this.runLeader(this.leader.syncPrepared(e.to, e.attempt, { plan: e.plan, txns: read }));
          break;
        }
      }
    }
    if (this.leader.due) this.runLeader(this.leader.flush(this.now));
  }

  runLearner(id: string, fx: Effects): void {
    const d = this.disks.get(id)!;
    const core = this.learners.get(id)!;
    for (const e of fx) {
      this.log(id).push(e);
      const report = this.reports.get(core);
      switch (e.type) {
        case 'phase':
          report?.phase(e.phase, e.epoch);
          break;
        case 'end':
          report?.end(e.reason);
          break;
        case 'persistEpoch':
          if (e.kind === 'accepted') [d.acceptedEpoch, d.acceptedLeader] = [e.epoch, e.leader];
          else d.currentEpoch = e.epoch;
          break;
        case 'toLeader':
          this.queue.push({ to: 'leader', kind: 'leader', msg: e.msg });
          break;
        case 'log':
          d.append(e.entries.map(([z]) => z));
          if (!this.slowDisk.has(id)) this.fsync(id);
          break;
        case 'commit':
          d.applied = Math.max(d.applied, Math.min(e.zxid, d.last));
          break;
        case 'install': {
          const m = e.sync;
          this.syncModes.set(id, m.mode);
          if (m.mode === 'trunc') d.truncateAfter(m.truncTo);
          if (m.mode === 'snap') {
            d.log = [];
            d.base = m.snapZxid;
            d.history = new History(m.snapZxid);
            d.applied = m.snapZxid;
          }
          d.append(m.txns.map(([z]) => z).filter((z) => z > d.last));
          d.durable = d.last;
          this.runLearner(id, core.installed(d.last, this.now));
          break;
        }
      }
    }
  }

  /** The learner's disk catches up: everything appended is durable. */
  fsync(id: string): void {
    const d = this.disks.get(id)!;
    d.durable = d.last;
    this.runLearner(id, this.learners.get(id)!.durable(d.durable));
  }

  /** Delivers queued messages (those `keep` accepts; the rest are lost) until the bus is quiet. */
  deliver(keep: (m: Msg) => boolean = () => true, limit = 10_000): void {
    for (let n = 0; this.queue.length > 0 && n < limit; n++) {
      const m = this.queue.shift()!;
      if (!keep(m)) continue;
      this.deliverOne(m);
    }
  }

  deliverOne(m: Msg): void {
    if (m.kind === 'leader') return this.runLeader(this.leader.step(m.msg, this.now));
    if (m.kind === 'learner') {
      const core = this.learners.get(m.to);
      if (core) this.runLearner(m.to, core.step(m.msg, this.now));
      return;
    }
    for (const [id, core] of this.learners) this.runLearner(id, core.broadcast(m.msg, this.leaderId, this.now));
  }

  /** Advances the clock by `ms`, ticking every core each `step` ms (and delivering unless told not to). */
  advance(ms: number, opts: { step?: number; deliver?: boolean; keep?: (m: Msg) => boolean } = {}): void {
    const step = opts.step ?? timing.tickTime / 2;
    for (let t = 0; t < ms; t += step) {
      this.now += step;
      this.clock.increment(step);
      this.runLeader(this.leader.tick(this.now));
      for (const [id, core] of this.learners) {
        this.runLearner(id, core.tick(this.now));
        const within = learnerWithin(core, this.now, roleLimits(timing));
        if (within !== undefined) this.reports.get(core)?.live(within);
      }
      if (opts.deliver !== false) this.deliver(opts.keep);
    }
  }

  /** The leader proposes `n` new transactions of its epoch, as its pipeline would: log, propose, fsync. */
  propose(n: number): number[] {
    const d = this.disks.get(this.leaderId)!;
    const epoch = this.leader.epoch;
    const zxids: number[] = [];
    for (let i = 0; i < n; i++) {
      const last = d.last;
      zxids.push(last >= makeZxid(epoch, 0) ? last + 1 : makeZxid(epoch, 1));
      d.append([zxids.at(-1)!]);
    }
    this.runLeader(this.leader.propose(zxids.map(entry)));
    d.durable = d.last;
    this.runLeader(this.leader.durable(d.durable, this.now));
    return zxids;
  }

  ended(id: string): string | undefined {
    const e = this.effects.get(id)?.find((x) => x.type === 'end');
    return e?.type === 'end' ? e.reason : undefined;
  }
}
