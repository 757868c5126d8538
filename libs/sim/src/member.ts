import { BatchNumbers, OpCode, SeriesGaps, type Broadcast, type Forwarded, type GwToLearner, type LogEntry, type ToLeader, type ToLearner, type Vote } from '@zooid/protocol';
import { SessionTracker, WritePipeline, reconfigJudge } from '@zooid/leader';
import { Replica } from '@zooid/replica';
import { createActor, type Actor } from 'xstate';
import { DataTree, MemberConfig, Preparer, SnapshotEncoder, decodeSnapshot, decodeTxn, encodeTxn, formatConfig, staticConfigTxn, voterIds, type Ensemble, type TreeConfig } from '@zooid/tree';
import {
  electionMachine,
  EpochLeaders,
  History,
  LeaderCore,
  LearnerCore,
  hexZxid,
  leaderWithin,
  learnerWithin,
  makeZxid,
  roleLimits,
  zabRoleMachine,
  type RoleReport,
  type DurableState,
  type Effect,
  type Effects,
} from '@zooid/zab';
import type { SimBus } from './bus.js';
import { SimDisk } from './disk.js';
import type { AppliedTxn, EnsembleRecord } from './history.js';
import type { SimMsg } from './messages.js';
import { Proc } from './process.js';
import type { Rng } from './rng.js';
import { SkewedClock, type Scheduler } from './scheduler.js';

/** Mutations a planted-defect test switches on, one at a time; never set in a normal run. */
export interface Defects {
  /** The leader commits with one voter's ack fewer than a quorum: its own fsync also counts as another voter's ack. */
  oneAckShort?: boolean;
  /** A follower acks proposals as soon as they are appended, before they are on disk. */
  ackBeforeFsync?: boolean;
  /** A learner's host logs and applies the proposals of a broadcast from an older epoch than its leader's. */
  acceptOldEpoch?: boolean;
  /** A configuration change logged but not seen committed is ignored: elections and a new leader's epoch count only the committed voters. */
  ignorePendingConfig?: boolean;
  /** A learner's messages reach every member, not only the leader it follows: as when every leader read every learner's acks on the bus. */
  leadersShareAcks?: boolean;
}

export interface Timing {
  tickTime: number;
  initLimit: number;
  syncLimit: number;
}

const PROBE_TIMEOUT_MS = 200;
/** Nodes of a SNAP's snapshot encoded per turn: few, so that the tree changes while it is taken. */
const SNAPSHOT_STEP_NODES = 1;
const SNAPSHOT_STEP_MS = 15;

/** A role stint's lifecycle machine (its initLimit and syncLimit), and how its host reports to it. */
interface Stint {
  actor: Actor<ReturnType<typeof zabRoleMachine>>;
  report: RoleReport;
}

type Mode =
  | { kind: 'looking'; election: Actor<typeof electionMachine> }
  | { kind: 'leading'; core: LeaderCore; history: History; serving?: LeaderServing; stint: Stint }
  /** `leader`: whom the election chose (an observer has none): what this member answers a looking vote with. */
  | { kind: 'learning'; core: LearnerCore; leader?: string; attempt: number; fwdSeq: number; probe: number; stint: Stint }
  | { kind: 'idle' };

export interface World {
  sched: Scheduler;
  bus: SimBus<SimMsg>;
  /** The static ensemble (`--ensemble`): who votes until a reconfig commits. */
  voters: readonly string[];
  /** The member processes that take part in elections: the voters, and members a reconfig may add. */
  participants: readonly string[];
  /** Every member process, observers too: who hears a broadcast. */
  members: readonly string[];
  /** The trees' configuration: the super user that may reconfig. */
  tree: TreeConfig;
  timing: Timing;
  record: EnsembleRecord;
  defects: Defects;
  /** An invariant inside the real code threw: the run has failed. */
  fail: (member: string, err: unknown) => void;
  /** Which members' disks hold this transaction durably now (asked when it is first applied anywhere). */
  holders: (zxid: number, payload: Uint8Array) => string[];
}

/** A tree without a configuration: the sim's trees hold only what was committed, so a pending change is in the log alone. */
const NO_CONFIG = new DataTree();

/**
 * One member (voter or observer) as the services host it: the real Zab cores
 * for each role stint, the real election, the real Replica and DataTree, over
 * the simulated bus, disk and clock. Effects run in order, an epoch write
 * fsynced before anything after it; a core gets no new input until the list
 * it returned has run.
 */
export class Member {
  readonly proc: Proc;
  readonly disk: SimDisk;
  readonly clock: SkewedClock;
  private mode: Mode = { kind: 'idle' };
  private replica?: Replica;
  private entries: LogEntry[] = [];
  private snap?: { zxid: number; bytes: Uint8Array };
  private applied = 0;
  private lifeKey = '';
  private lives = 0;
  private round = 0;
  /** The leaders this life of the process has seen per epoch (the cores assert one each); a restart forgets them. */
  private epochLeaders = new EpochLeaders();
  private inputs: (() => Effects)[] = [];
  /** A SNAP's snapshot being encoded (as of zxid), and who waits for it. */
  private encoding?: { zxid: number; waiting: Array<(s: { zxid: number; bytes: Uint8Array }) => void> };
  private busy = false;
  private flushing = false;
  private touched = new Set<bigint>();
  /** The replica's gateway streams, with the services' own numbering (serveReplica's), new with each replica. */
  private numbers!: BatchNumbers;
  private gaps!: SeriesGaps;
  /** The last configuration this member knows committed, on its disk apart from the log (as MemberStore keeps it). */
  private config!: MemberConfig;
  serving = false;

  constructor(
    readonly id: string,
    /** Takes part in elections and follows as a voter would (an observer process does not). */
    readonly participant: boolean,
    private readonly w: World,
    private readonly rng: Rng,
    clock: { offsetMs: number; driftPpm: number },
  ) {
    this.proc = new Proc(id, w.sched);
    this.disk = new SimDisk(this.proc, rng.fork());
    this.clock = new SkewedClock(w.sched, clock.offsetMs, clock.driftPpm);
    w.bus.attach(this.proc, (from, msg) => this.guard(() => this.receive(from, msg)));
  }

  get now(): number {
    return this.clock.now();
  }

  get lastZxid(): number {
    return this.replica?.tree.lastZxid ?? 0;
  }

  get digest(): string | undefined {
    return this.replica?.tree.digest();
  }

  get role(): string {
    return this.mode.kind === 'leading' ? `leading ${this.mode.core.epoch}` : this.mode.kind;
  }

  private note(what: string): void {
    this.w.record.trace.push({ at: this.w.sched.now, member: this.id, what });
  }

  start(): void {
    this.note('starts');
    this.disk.recover();
    this.entries = [];
    this.snap = undefined;
    const snap = this.disk.readFile('snap');
    if (snap) this.snap = { zxid: Number(Buffer.from(snap).readBigUInt64BE(0)), bytes: snap.subarray(8) };
    for (const r of this.disk.records()) this.entries.push(decodeEntry(r));
    const stored = this.disk.readFile('config');
    this.config = new MemberConfig(stored && Buffer.from(stored).toString('utf8'), this.snap ? decodeSnapshot(this.snap.bytes) : NO_CONFIG, (text, e, how) => {
      this.disk.writeFileNow('config', Buffer.from(text));
      this.w.record.configs.push({ member: this.id, version: e.version, text, at: this.w.sched.now });
      this.note(`takes configuration ${hexZxid(e.version)} as committed (${how}): voters ${voterIds(e).join(',')}`);
    });
    this.epochLeaders = new EpochLeaders();
    this.touched.clear();

    this.next();
    this.every(this.w.timing.tickTime / 2, () => this.tick());
  }

  /** Starts the process again after a crash (a no-op if something else already did). */
  restart(): void {
    if (this.proc.alive) return;
    this.proc.restart();
    this.start();
  }

  crash(): void {
    this.note('crashes');
    if (this.mode.kind === 'looking') this.mode.election.stop();
    if (this.mode.kind === 'leading' || this.mode.kind === 'learning') this.mode.stint.actor.stop();
    this.proc.crash();
    this.disk.crash();
    this.mode = { kind: 'idle' };
    this.replica = undefined;
    this.serving = false;
    this.inputs = [];
    this.busy = false;
    this.flushing = false;
    this.encoding = undefined;
  }

  private every(ms: number, fn: () => void): void {
    this.proc.after(ms, () => {
      this.guard(fn);
      this.every(ms, fn);
    });
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      // An assert in the real code stops the process; its supervisor starts it again.
      this.w.fail(this.id, err);
      this.crash();
      this.w.sched.after(1000, () => this.restart());
    }
  }

  // ------------------------------------------------------------ roles

  private get lastLogged(): number {
    return this.entries.at(-1)?.[0] ?? this.snap?.zxid ?? 0;
  }

  private durableState(): DurableState {
    const accepted = this.disk.readFile('accepted');
    const acceptedLeader = accepted && accepted.length > 4 ? Buffer.from(accepted).toString('utf8', 4) : undefined;
    return { acceptedEpoch: this.readEpoch('accepted'), acceptedLeader, currentEpoch: this.readEpoch('current'), lastLogged: this.lastLogged };
  }

  /** An epoch file: the epoch in 4 bytes, then (accepted) the leader's id it was accepted from. */
  private readEpoch(kind: string): number {
    const b = this.disk.readFile(kind);
    return b ? Buffer.from(b).readUInt32BE(0) : 0;
  }

  /** Who votes now: the committed configuration's voters. */
  private get voters(): string[] {
    return this.config.voters(this.w.voters);
  }

  /** A change in the log beyond the committed configuration (as MemberStore.pendingConfig): elections and establishing need its quorum too. */
  private pendingConfig(): Ensemble | undefined {
    if (this.w.defects.ignorePendingConfig) return undefined;
    const known = this.config.committed?.version ?? 0;
    return this.config.pending(NO_CONFIG, this.entries.filter(([z]) => z > known));
  }

  /** Looks for a leader (participant), or starts observing again (observer). */
  private next(): void {
    this.serving = false;
    if (!this.participant) return this.learn(undefined);
    const pending = this.pendingConfig();
    // The real election actor, its vote repeats and finalize wait on this process's simulated timers.
    const election = createActor(electionMachine, {
      input: {
        self: this.id,
        voters: this.voters,
        pending: pending && voterIds(pending),
        own: { leader: this.id, epoch: this.readEpoch('current'), zxid: this.lastLogged },
        round: ++this.round,
        publish: (v) => this.vote(v),
      },
      clock: this.timers,
    });
    const m: Mode = { kind: 'looking', election };
    this.mode = m;
    election.subscribe({
      complete: () =>
        this.proc.after(0, () =>
          this.guard(() => {
            if (this.mode !== m) return;
            const out = election.getSnapshot().output!;
            this.round = Math.max(this.round, out.round);
            this.decided(out.leader);
          }),
        ),
      error: (err) => this.w.fail(this.id, err),
    });
    election.start();
  }

  /** xstate's clock for this process: timers that a crash or pause affects like any other work here. */
  private readonly timers = {
    live: new Set<number>(),
    next: 0,
    setTimeout: (fn: (...args: unknown[]) => void, ms: number): number => {
      const id = ++this.timers.next;
      this.timers.live.add(id);
      this.proc.after(ms, () => {
        if (this.timers.live.delete(id)) this.guard(() => fn());
      });
      return id;
    },
    clearTimeout: (id: number): void => {
      this.timers.live.delete(id);
    },
  };

  /** As the member service publishes a vote: to every member, with the configuration it knows committed. */
  private vote(v: Vote): void {
    const c = this.config.committed;
    const vote = c ? { ...v, config: formatConfig(c) } : v;
    for (const m of this.w.participants) if (m !== this.id) this.send(m, { t: 'vote', vote });
  }

  private onVote(v: Vote): void {
    const m = this.mode;
    if (m.kind !== 'looking') {
      // A looking member learns who leads, so a restarted member joins instead of forcing an election.
      // As the member service: a following member answers with the leader it chose, in any phase of its stint.
      if (v.state === 'looking' && (m.kind === 'leading' || (m.kind === 'learning' && m.leader))) {
        const leader = m.kind === 'leading' ? this.id : m.leader!;
        const state = m.kind === 'leading' ? 'leading' : 'following';
        // As the member service: its own decided round, published to every voter.
        this.vote({ from: this.id, state, round: this.round, leader, epoch: this.readEpoch('current'), zxid: this.lastLogged });
      }
      return;
    }
    if (typeof v.config === 'string' && this.config.adopt(v.config)) {
      // Who votes changed under the election: start it again with the new voters, then count this vote.
      m.election.stop();
      this.next();
      return this.onVote(v);
    }
    // Decided: its outcome is taken on the next turn, and later votes have nothing to change.
    if (m.election.getSnapshot().status === 'active') m.election.send({ type: 'VOTE', vote: v });
  }

  private decided(leader: string): void {
    if (leader === this.id) this.lead();
    else this.learn(leader);
  }

  private lead(): void {
    // Few payloads in memory, and no log to read back: learners further behind are sent a SNAP.
    const history = new History(this.snap?.zxid ?? 0, { window: 24 });
    for (const e of this.entries) history.append(e);
    const pending = this.pendingConfig();
    const core = new LeaderCore(
      {
        id: this.id,
        voters: this.voters,
        ...this.w.timing,
        maxMessageBytes: 1 << 20,
        epochLeaders: this.epochLeaders,
        pendingConfig: pending && { zxid: pending.version, voters: voterIds(pending) },
      },
      this.durableState(),
      history,
    );
    this.rebuild();
    this.mode = { kind: 'leading', core, history, stint: this.stint('leader', core, (reason) => core.stepDown(reason)) };
    this.note(`leads (log to ${hexZxid(this.lastLogged)}; voters ${core.voters.join(',')}${pending ? `, pending ${hexZxid(pending.version)}: ${voterIds(pending).join(',')}` : ''})`);
    this.input(core, () => core.start(this.now));
  }

  private learn(leader: string | undefined): void {
    const attempt = this.rng.u32();
    const core = new LearnerCore(
      {
        id: this.id,
        voter: this.participant,
        leader,
        ...this.w.timing,
        attempt,
        leaderGoneMs: this.w.timing.tickTime * 2,
        epochLeaders: this.epochLeaders,
      },
      this.durableState(),
    );
    this.mode = { kind: 'learning', core, leader, attempt, fwdSeq: 0, probe: 0, stint: this.stint(this.participant ? 'follower' : 'observer', core, (reason) => core.leave(reason)) };
    this.note(`${leader ? `follows ${leader}` : 'observes'} (log to ${hexZxid(this.lastLogged)})`);
    this.input(core, () => core.start(this.now));
  }

  /** The real lifecycle machine of a stint, on this process's timers: a limit that runs out ends the stint through its core. */
  private stint(kind: 'leader' | 'follower' | 'observer', core: LeaderCore | LearnerCore, expire: (reason: string) => Effects): Stint {
    let report!: RoleReport;
    const actor = createActor(zabRoleMachine(kind), {
      input: {
        limits: roleLimits(this.w.timing),
        host: (r) => {
          report = r;
          return { expire: (reason) => this.input(core, () => expire(reason)), stop: () => {} };
        },
      },
      clock: this.timers,
    });
    actor.start();
    return { actor, report };
  }

  private ended(): void {
    this.replica?.detachAll('role ended');
    this.replica = undefined;
    this.serving = false;
    this.mode = { kind: 'idle' };
    this.inputs = [];
    this.proc.after(this.participant ? 0 : 100, () => this.guard(() => this.next()));
  }

  private tick(): void {
    const m = this.mode;
    // After traffic, each gateway hears our last batch number: a lost last batch shows within a heartbeat.
    if (this.serving && this.replica) for (const [gw, seq, series] of this.numbers.heartbeats()) this.send(gw, { t: 'out', series, seq, entries: [] });
    if (m.kind === 'leading') {
      this.input(m.core, () => m.core.tick(this.now));
      this.live(m.stint, leaderWithin(m.core, this.now, roleLimits(this.w.timing)));
      // As LeaderRole: a tick that ended the role expires nothing.
      if (m.serving && this.mode === m && m.core.serving) {
        m.serving.tracker.touch(this.touched, this.now);
        // The leader's session clock: a session not heard of for its timeout is closed by a transaction.
        for (const id of m.serving.tracker.expired(this.now)) {
          this.w.record.expiries.push({ session: id.toString(16), by: this.id, leading: m.core.serving, at: this.w.sched.now });
          m.serving.pipeline.submitInternal(id, OpCode.closeSession, undefined);
        }
      }
      this.touched.clear();
    } else if (m.kind === 'learning') {
      this.input(m.core, () => m.core.tick(this.now));
      this.live(m.stint, learnerWithin(m.core, this.now, roleLimits(this.w.timing)));
      if (this.touched.size > 0 && m.core.leader) {
        this.send(m.core.leader, { t: 'touch', sessions: [...this.touched] });
        this.touched.clear();
      }
    }
  }

  /** As the services' hosts on every tick: how long the stint has left before its current limit runs out. */
  private live(stint: Stint, within: number | undefined): void {
    if (within !== undefined && stint.actor.getSnapshot().status === 'active') stint.report.live(within);
  }

  // ------------------------------------------------------------ effects

  /** Hands the core an input once the effects of the previous one have run. */
  private input(core: LeaderCore | LearnerCore, fn: () => Effects): void {
    this.inputs.push(() => (this.currentCore() === core ? fn() : []));
    this.pump();
  }

  private currentCore(): LeaderCore | LearnerCore | undefined {
    const m = this.mode;
    return m.kind === 'leading' || m.kind === 'learning' ? m.core : undefined;
  }

  private pump(): void {
    while (!this.busy && this.inputs.length > 0) this.run(this.inputs.shift()!(), 0);
    const m = this.mode;
    if (m.kind === 'leading' && m.core.due && !this.flushing) {
      // As the services do: one flush at the end of the turn carries what the turn's inputs produced.
      this.flushing = true;
      const core = m.core;
      this.proc.after(0, () =>
        this.guard(() => {
          this.flushing = false;
          this.input(core, () => (core.due ? core.flush(this.now) : []));
        }),
      );
    }
  }

  private run(fx: Effects, from: number): void {
    const core = this.currentCore();
    for (let i = from; i < fx.length; i++) {
      if (this.currentCore() !== core) return;
      const e = fx[i]!;
      if (e.type === 'persistEpoch') {
        const b = Buffer.alloc(4);
        b.writeUInt32BE(e.epoch);
        this.disk.writeFile(e.kind, e.kind === 'accepted' ? Buffer.concat([b, Buffer.from(e.leader)]) : b);
        this.busy = true;
        this.disk.fsync(() =>
          this.guard(() => {
            this.busy = false;
            this.run(fx, i + 1);
            this.pump();
          }),
        );
        return;
      }
      this.perform(e);
    }
  }

  private perform(e: Effect): void {
    const m = this.mode;
    switch (e.type) {
      case 'log':
        return this.logEntries(e.entries);
      case 'send':
        return this.send(e.to, { t: 'toLearner', msg: e.msg });
      case 'broadcast':
        for (const to of this.w.members) if (to !== this.id) this.send(to, { t: 'broadcast', msg: e.msg });
        return;
      case 'toLeader':
        return this.toLeader(e.msg);
      case 'commit':
        // A leader commits its pipeline's in-flight writes; before it serves, the logged tail of an earlier epoch.
        if (m.kind === 'leading' && m.serving) {
          m.serving.pipeline.commitUpTo(e.zxid);
          if (this.replica) this.config.noteCommitted(this.replica.tree, e.zxid);
        } else this.commitTo(e.zxid);
        // As MemberStore.holdHistory: the SNAP's sync carries every transaction after the snapshot from memory.
        if (m.kind === 'leading') m.history.release(Math.min(e.zxid, this.encoding?.zxid ?? e.zxid));
        return;
      case 'prepareSync': {
        if (m.kind !== 'leading') return;
        const core = m.core;
        // From memory; where the services would read their log further back, the core asks again for a SNAP (see lead()).
        if (e.plan.mode !== 'snap') return this.input(core, () => core.syncPrepared(e.to, e.attempt, { plan: e.plan, txns: [], snapshot: undefined }));
        return this.snapshot((snapshot) => this.input(core, () => core.syncPrepared(e.to, e.attempt, { plan: e.plan, txns: [], snapshot })));
      }
      case 'install':
        return this.install(e.sync);
      case 'answerSync':
        this.replica?.synced(e.sessionId, e.cxid, e.path);
        return;
      case 'probeLeader':
        return this.probe(e.leader, e.epoch);
      case 'phase':
        if (m.kind === 'leading' || m.kind === 'learning') m.stint.report.phase(e.phase, e.epoch);
        this.note(`${e.phase} in epoch ${e.epoch}`);
        if (e.phase === 'broadcast') {
          // Established: a quorum acknowledged this leader's epoch (one that only chose an epoch never led it).
          if (m.kind === 'leading') this.w.record.leaders.push({ epoch: e.epoch, member: this.id, at: this.w.sched.now });
          this.serving = true;
          if (m.kind === 'leading') m.serving = this.serveWrites(m.core, m.history, e.epoch);
        }
        return;
      case 'end':
        if (m.kind === 'leading' || m.kind === 'learning') m.stint.report.end(e.reason);
        this.note(`ends its role: ${e.reason}`);
        return this.ended();
    }
  }

  /**
   * The tree's snapshot for a SNAP, encoded a few nodes per turn as the
   * services encode a large one, so that commits land in between and the
   * copy-on-write walk is exercised; learners asking meanwhile share it.
   */
  private snapshot(then: (s: { zxid: number; bytes: Uint8Array }) => void): void {
    if (this.encoding) {
      this.encoding.waiting.push(then);
      return;
    }
    const tree = this.replica!.tree;
    const mode = this.mode;
    const enc = new SnapshotEncoder(tree);
    const encoding = { zxid: enc.zxid, waiting: [then] };
    this.encoding = encoding;
    const step = () =>
      this.guard(() => {
        if (this.encoding !== encoding) return enc.abandon();
        if (this.mode !== mode || this.replica?.tree !== tree) {
          this.encoding = undefined;
          return enc.abandon();
        }
        if (!enc.step(SNAPSHOT_STEP_NODES)) return this.proc.after(SNAPSHOT_STEP_MS, step);
        this.encoding = undefined;
        const snapshot = { zxid: enc.zxid, bytes: enc.finish() };
        for (const w of encoding.waiting) w(snapshot);
      });
    step();
  }

  private toLeader(msg: ToLeader): void {
    const m = this.mode;
    if (m.kind !== 'learning') return;
    // As the services address it: to the leader we follow, and an observer's first handshake to whoever leads.
    const leader = m.core.speaker;
    if (this.w.defects.leadersShareAcks) for (const v of this.w.participants) this.send(v, { t: 'toLeader', msg });
    else if (leader !== undefined) this.send(leader, { t: 'toLeader', msg });
    else if (msg.t === 'info') for (const v of this.w.participants) this.send(v, { t: 'toLeader', msg });
  }

  private logEntries(entries: LogEntry[]): void {
    const m = this.mode;
    if (m.kind !== 'learning') return;
    for (const e of entries) {
      this.entries.push(e);
      this.disk.append(encodeEntry(e));
    }
    const upTo = entries.at(-1)![0];
    const core = m.core;
    if (this.w.defects.ackBeforeFsync) {
      this.input(core, () => core.durable(upTo));
      return;
    }
    this.disk.fsync(() => this.guard(() => this.input(core, () => core.durable(upTo))));
  }

  /** Brings log and tree to the leader's, fsyncs, then tells the core. */
  private install(sync: Extract<ToLearner, { t: 'sync' }>): void {
    const m = this.mode;
    if (m.kind !== 'learning') return;
    this.note(`installs a ${sync.mode.toUpperCase()} of epoch ${sync.epoch} (${sync.txns.length} txns, committed to ${hexZxid(sync.committed)})`);
    if (sync.mode === 'trunc') {
      this.entries = this.entries.filter(([z]) => z <= sync.truncTo);
      this.disk.truncate(this.entries.length);
    } else if (sync.mode === 'snap') {
      const zxid = Buffer.alloc(8);
      zxid.writeBigUInt64BE(BigInt(sync.snapZxid));
      this.snap = { zxid: sync.snapZxid, bytes: sync.snapshot! };
      this.disk.writeFile('snap', Buffer.concat([zxid, sync.snapshot!]));
      this.entries = [];
      this.disk.truncate(0);
    }
    for (const e of sync.txns) {
      if (e[0] <= this.lastLogged) continue;
      this.entries.push(e);
      this.disk.append(encodeEntry(e));
    }
    this.rebuild();
    const core = m.core;
    this.disk.fsync(() => this.guard(() => this.input(core, () => core.installed(this.lastLogged, this.now))));
  }

  /** A fresh replica from the snapshot; the log is applied as commits come. */
  private rebuild(): void {
    this.replica?.detachAll('resynchronizing');
    const tree = this.snap ? decodeSnapshot(this.snap.bytes) : new DataTree();
    this.applied = tree.lastZxid;
    this.lifeKey = `${this.id}#${this.lives++}`;
    this.numbers = new BatchNumbers(this.w.timing.tickTime / 2, () => this.rng.u32());
    this.gaps = new SeriesGaps();
    this.w.record.applied.set(this.lifeKey, []);
    this.replica = new Replica(
      {
        id: this.id,
        tickTime: this.w.timing.tickTime,
        minSessionTimeout: 2 * this.w.timing.tickTime,
        maxSessionTimeout: 20 * this.w.timing.tickTime,
        tree: this.w.tree,
        forward: (entries) => this.forward(entries),
        send: (gw, entries) => {
          const seq = this.numbers.next(gw);
          this.send(gw, { t: 'out', series: this.numbers.seriesOf(gw), seq, entries });
        },
        warn: () => {},
        lastLogged: () => this.lastLogged,
        defer: (fn) => this.proc.after(0, () => this.guard(fn)),
        random: (n) => this.rng.bytes(n),
      },
      tree,
    );
  }

  /** Applies logged transactions up to zxid to the replica. */
  private commitTo(zxid: number): void {
    const r = this.replica;
    if (!r) return;
    const record = this.w.record.applied.get(this.lifeKey)!;
    for (const [z, payload] of this.entries) {
      if (z <= this.applied) continue;
      if (z > zxid) break;
      const { hdr, txn } = decodeTxn(payload);
      r.committed(hdr, txn);
      this.applied = z;
      this.record(record, z, payload);
    }
    // Also when the tree had it already (a SNAP brings the configuration in with the tree).
    this.config.noteCommitted(r.tree, zxid);
  }

  /** This life applied a committed transaction; the first application anywhere records who held it then. */
  private record(life: AppliedTxn[], zxid: number, payload: Uint8Array): void {
    life.push({ zxid, payload });
    const { holders } = this.w.record;
    if (!holders.has(zxid)) holders.set(zxid, this.w.holders(zxid, payload));
  }

  /** Whether this member's disk holds the transaction durably: in its snapshot, or logged and fsynced. */
  holdsDurably(zxid: number, payload: Uint8Array): boolean {
    const snap = this.disk.durableFile('snap');
    if (snap && Number(Buffer.from(snap).readBigUInt64BE(0)) >= zxid) return true;
    const log = this.disk.durableRecords;
    let lo = 0;
    let hi = log.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      const [z, held] = decodeEntry(log.at(mid));
      if (z === zxid) return Buffer.compare(held, payload) === 0;
      if (z < zxid) lo = mid + 1;
      else hi = mid;
    }
    return false;
  }

  private forward(entries: Forwarded[]): void {
    const m = this.mode;
    if (m.kind === 'leading') return m.serving?.pipeline.submit(this.id, entries);
    if (m.kind !== 'learning' || !m.core.leader) return;
    this.send(m.core.leader, { t: 'fwd', attempt: m.attempt, seq: ++m.fwdSeq, entries });
  }

  private probe(leader: string, epoch: number): void {
    const m = this.mode;
    if (m.kind !== 'learning') return;
    const n = ++m.probe;
    const core = m.core;
    this.send(leader, { t: 'probe', epoch, n });
    this.proc.after(PROBE_TIMEOUT_MS, () => {
      if (this.mode === m && m.probe === n) this.input(core, () => core.probed('timeout', this.now));
    });
  }

  // ------------------------------------------------------------ messages

  send(to: string, msg: SimMsg): void {
    this.w.bus.send(this.id, to, structuredClone(msg));
  }

  private receive(from: string, msg: SimMsg): void {
    const m = this.mode;
    switch (msg.t) {
      case 'vote':
        return this.onVote(msg.vote);
      case 'toLeader':
        if (m.kind === 'leading' && msg.msg.from === from) this.input(m.core, () => m.core.step(msg.msg, this.now));
        return;
      case 'toLearner': {
        if (m.kind !== 'learning') return;
        const ok = from === (msg.msg.t === 'newepoch' ? msg.msg.leader : m.core.speaker);
        if (ok) this.input(m.core, () => m.core.step(msg.msg, this.now));
        return;
      }
      case 'broadcast':
        if (m.kind !== 'learning') return;
        if (this.w.defects.acceptOldEpoch && m.core.epoch > msg.msg.epoch) return this.takeStale(msg.msg);
        this.input(m.core, () => m.core.broadcast(msg.msg, from, this.now));
        return;
      case 'probe': {
        const answered = m.kind === 'leading' && m.core.epoch === msg.epoch && m.core.serving;
        this.send(from, { t: 'alive', n: msg.n, answered });
        return;
      }
      case 'alive':
        if (m.kind === 'learning' && m.probe === msg.n) {
          m.probe++;
          this.input(m.core, () => m.core.probed(msg.answered ? 'answered' : 'nobody', this.now));
        }
        return;
      case 'fwd':
        if (m.kind === 'leading' && m.serving) this.forwarded(m.core, m.serving, from, msg.attempt, msg.seq, msg.entries);
        return;
      case 'touch':
        // From a gateway, or relayed by a learner: the leader's session clock is the only one that counts.
        for (const s of msg.sessions) this.touched.add(s);
        return;
      case 'gw':
        return this.fromGateway(from, msg.series, msg.seq, msg.entries);
      case 'out':
      case 'stopped':
        return;
    }
  }

  /** The planted defect: an old leader's proposals logged and applied as if they were the current epoch's. */
  private takeStale(b: Broadcast): void {
    const fresh = b.proposals.filter(([z]) => z > this.lastLogged);
    for (const e of fresh) {
      this.entries.push(e);
      this.disk.append(encodeEntry(e));
    }
    if (fresh.length > 0) this.commitTo(fresh.at(-1)![0]);
  }

  /** As serveReplica: a gap closes the gateway's connections here; a gateway that started over hears us from a new series. */
  private fromGateway(gw: string, series: number, seq: number, entries: GwToLearner[]): void {
    for (const e of entries) if (e[0] === 'r') this.touched.add(e[2]);
    if (!this.serving || !this.replica) {
      if (entries.length > 0) this.send(gw, { t: 'stopped' });
      return;
    }
    const heard = this.gaps.check(gw, series, seq, entries.length === 0);
    if (heard.newSeries) this.numbers.restart(gw);
    if (heard.gap) return this.replica.dropGateway(gw, 'batches from the gateway were lost');
    this.replica.fromGateway(gw, entries);
  }

  // ------------------------------------------------------------ leader side

  /**
   * Broadcast began: the services' own WritePipeline takes this leader's
   * writes — the real Preparer, zxids, log append, group commit with the
   * simulated disk's fsync as the leader's ack — wired as LeaderRole wires it.
   */
  private serveWrites(core: LeaderCore, history: History, epoch: number): LeaderServing {
    const tree = this.replica!.tree;
    const tracker = new SessionTracker();
    const preparer = new Preparer(tree, this.w.tree);
    // Reconfig enabled, judged as LeaderRole judges it with --reconfig-enabled.
    preparer.reconfig = reconfigJudge({ tree, staticIds: this.w.voters, core, syncedWithinMs: this.w.timing.syncLimit * this.w.timing.tickTime, now: () => this.now, treeConfig: this.w.tree });
    const record = this.w.record.applied.get(this.lifeKey)!;
    const pipeline = new WritePipeline(
      {
        log: {
          append: (records) => {
            for (const r of records) {
              this.entries.push([r.zxid, r.payload]);
              this.disk.append(encodeEntry([r.zxid, r.payload]));
            }
          },
          flush: () => new Promise<void>((resolve) => this.disk.fsync(() => this.w.sched.resolve(resolve))),
        },
        preparer,
        proposed: (e, voters) => {
          history.append(e);
          this.input(core, () => core.propose([e], voters && { zxid: e[0], voters }));
        },
        durable: (zxid) =>
          this.input(core, () => {
            const fx = core.durable(zxid, this.now);
            const other = this.w.defects.oneAckShort ? core.voters.find((v) => v !== this.id) : undefined;
            return other ? fx.concat(core.step({ t: 'ack', from: other, epoch, zxid }, this.now)) : fx;
          }),
        commit: (hdr, txn) => {
          this.replica?.committed(hdr, txn);
          this.applied = hdr.zxid;
          this.record(record, hdr.zxid, encodeTxn(hdr, txn));
          if (hdr.type === OpCode.createSession) {
            const s = tree.sessions.get(hdr.sessionId);
            if (s) tracker.add(hdr.sessionId, s.timeout, this.now);
          } else if (hdr.type === OpCode.closeSession) tracker.remove(hdr.sessionId);
        },
        synced: (m) => {
          if (m.learner === this.id) this.replica?.synced(m.sessionId, m.cxid, m.path);
          else this.input(core, () => core.answerSync(m.learner, m.sessionId, m.cxid, m.path));
        },
        now: () => this.now,
        defer: (fn) => this.proc.after(0, () => this.guard(fn)),
        fatal: (err) => this.w.fail(this.id, err),
      },
      this.lastLogged,
      epoch,
    );
    for (const [id, s] of tree.sessions) tracker.add(id, s.timeout, this.now);
    // As LeaderRole with reconfig enabled: first of the epoch, /zookeeper/config shows the static configuration.
    const shown = staticConfigTxn(tree, this.w.voters, makeZxid(epoch, 0));
    if (shown) pipeline.submitTxn(shown);
    return { pipeline, tracker, fwd: new Map() };
  }

  /** A learner's forwarded batch: numbered per stint, so a lost one shows, and that learner is sent away to resync. */
  private forwarded(core: LeaderCore, serving: LeaderServing, learner: string, attempt: number, seq: number, entries: Forwarded[]): void {
    const prior = serving.fwd.get(learner);
    const expected = prior && prior.attempt === attempt ? prior.seq + 1 : 1;
    if (seq < expected) return;
    serving.fwd.set(learner, { attempt, seq });
    if (seq > expected) {
      this.input(core, () => core.sendAway(learner, 'forwarded writes were lost'));
      return;
    }
    serving.pipeline.submit(learner, entries);
  }
}

/** What a leader has once it broadcasts: its write pipeline, its session clock, the forwarded streams it follows. */
interface LeaderServing {
  pipeline: WritePipeline;
  tracker: SessionTracker;
  fwd: Map<string, { attempt: number; seq: number }>;
}

function encodeEntry([zxid, payload]: LogEntry): Uint8Array {
  const b = Buffer.alloc(8 + payload.length);
  b.writeBigUInt64BE(BigInt(zxid));
  b.set(payload, 8);
  return b;
}

function decodeEntry(b: Uint8Array): LogEntry {
  const buf = Buffer.from(b.buffer, b.byteOffset, b.length);
  return [Number(buf.readBigUInt64BE(0)), buf.subarray(8)];
}
