import { OpCode, pack, subjects, type AddMe, type AdminAsk, type AuthId, type ReconfigRequest, type ForwardBatch, BatchGaps, type LogEntry, type SessionTouch, type SyncReceived, type ToLeader, type ToLearner } from '@zooid/protocol';
import { Preparer, committedEnsemble, memberServer, serverLine, staticConfigTxn, voterIds, type TreeConfig } from '@zooid/tree';
import { LeaderCore, assert, hexZxid, leaderWithin, makeZxid, roleLimits, type Effects, type EpochLeaders, type SyncPlan, type ZabPhase } from '@zooid/zab';
import { atTurnEnd, dropImpostor, listen, maxPayload, splitForPayload, type Logger, type NatsConnection } from '@zooid/runtime';
import type { MemberStore } from './member-store.js';
import { SnapshotAbandoned } from './snapshot-slices.js';
import { reconfigJudge } from './reconfig-judge.js';
import { WritePipeline } from './pipeline.js';
import { SessionTracker } from './sessions.js';
import { adminInfo } from './admin.js';
import { callCore, persistEpoch } from './core-host.js';
import { serveReplica, type ServedReplica } from './serve-replica.js';
import type { RoleMetrics } from './role-metrics.js';

export interface RoleOptions {
  id: string;
  /** The committed configuration's voters when the stint began (the core follows changes it commits). */
  voters: string[];
  /** The static `--ensemble`: the configuration until a reconfig has committed one to /zookeeper/config. */
  ensemble?: string[];
  /** reconfigEnabled (zoo.cfg; --reconfig-enabled): the leader judges reconfig requests instead of answering RECONFIGDISABLED. */
  reconfigEnabled?: boolean;
  /** A learner (non-voting follower, --add-self): asks the leader to add it as a voter while this says so. */
  wantsVote?: () => boolean;
  cluster: string;
  tickTime: number;
  initLimit: number;
  syncLimit: number;
  minSessionTimeout: number;
  maxSessionTimeout: number;
  tree: TreeConfig;
  dataDir: string;
  /** The leaders this member has seen per epoch, across its stints. */
  epochLeaders?: EpochLeaders;
  /** Per session: reply bytes unread by its client before its reads wait (the replica's default when absent). */
  replyWindow?: number;
  /** Per session: watches held on this learner (the replica's default when absent). */
  maxSessionWatches?: number;
  /** Bytes of one learner → gateway message; a single larger reply goes alone (the bus's max_payload when absent). */
  gatewayBatchBytes?: number;
}

export type LeaderPhase = ZabPhase;

export interface LeaderEvents {
  phase: (p: LeaderPhase, epoch: number) => void;
  /** The leader cannot go on (no quorum, a better history exists, disk failure). */
  stepDown: (reason: string) => void;
  /** While broadcasting, on every tick: how long until a quorum has been silent for syncLimit (the role machine's timer). */
  live: (withinMs: number) => void;
  metrics?: RoleMetrics;
}

/** The leader's client-facing half, from broadcast on. */
interface Serving {
  pipeline: WritePipeline;
  preparer: Preparer;
  served: ServedReplica;
}

/** Room left in a message for everything but its payloads. */
const ENVELOPE = 64 * 1024;
/**
 * Bytes of sync parts published per turn (then a flush): encoding and
 * queueing a message copies it, which takes a large member tens of ms per
 * MiB, so a turn does a little and lets heartbeats and requests in.
 */
const SYNC_FLUSH_BYTES = 2 * 1024 * 1024;
/**
 * A sync keeps at most this many bytes of parts (a SNAP's snapshot, a long
 * DIFF's transactions) in flight that its learner has not said it received
 * (SyncReceived): a nats-server cuts a client off as a slow consumer past
 * 64 MiB pending for it, by default, and the parts it held are lost.
 */
const SYNC_WINDOW_BYTES = 16 * 1024 * 1024;

/**
 * Containers and TTL nodes the leader looks at per tick for removal: a few
 * ms; a million of them are swept in about a minute at the default tick, as
 * often as ZooKeeper's container manager looks.
 */
const SWEEP_PER_TICK = 16_384;

/** How far one sync's parts went out to a learner and arrived, and the send waiting for more. */
interface PartsFlow {
  attempt: number;
  sent: number;
  unflushed: number;
  received: number;
  /** sendSync took it over from sendSnapshot, and ends it. */
  syncing: boolean;
  wake?: () => void;
}

/**
 * Hosts the leader core over the bus and the member's disk: learners'
 * messages and ticks go in, and its effects are carried out in order —
 * epochs written before what follows them is sent, proposals published in
 * one broadcast per turn, commits handed to the write pipeline. Serves
 * clients from broadcast on: the pipeline, sessions' expiry, the replica.
 */
export class LeaderRole {
  private readonly subj;
  private readonly core: LeaderCore;
  /** What exists only while broadcasting. */
  private clients?: Serving;
  private readonly tracker = new SessionTracker();
  private readonly forwardGaps = new BatchGaps();
  private flushScheduled = false;
  /** Broadcast batches not committed yet, for the commit latency metric: [last zxid, when, count]. */
  private readonly uncommitted: [zxid: number, at: number, count: number][] = [];
  private readonly subs: { unsubscribe(): void }[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private stopped = false;
  /** Per learner: the snapshot whose parts sendSnapshot has just sent, for the sync that follows them. */
  private readonly sentSnapshots = new Map<string, { attempt: number; zxid: number; parts: number }>();
  /** Per learner: the sync whose parts are going out to it. */
  private readonly partsFlows = new Map<string, PartsFlow>();

  constructor(
    private readonly opts: RoleOptions,
    private readonly store: MemberStore,
    private readonly nc: NatsConnection,
    private readonly log: Logger,
    private readonly events: LeaderEvents,
  ) {
    this.subj = subjects(opts.cluster);
    this.core = new LeaderCore(
      {
        id: opts.id,
        voters: opts.voters,
        tickTime: opts.tickTime,
        maxMessageBytes: Math.max(ENVELOPE, maxPayload(nc) - ENVELOPE),
        epochLeaders: opts.epochLeaders,
        pendingConfig: pendingOf(store),
      },
      { acceptedEpoch: store.epochs.readAccepted(), acceptedLeader: store.epochs.readAcceptedLeader(), currentEpoch: store.epochs.readCurrent(), lastLogged: store.lastLogged },
      store.history,
    );
  }

  start(): void {
    this.subs.push(
      listen<ToLeader | SyncReceived | AddMe>(this.nc, this.subj.zabLeaderAll(this.opts.id), this.log, (m, sender, subject) => {
        if (m.from !== sender) return dropImpostor(this.log, subject, { claimed: m.from });
        if (m.t === 'received') return this.partsReceived(m);
        if (m.t === 'addme') return this.addVoter(m);
        if (m.t === 'ack' && m.zxid > this.store.history.last) {
          this.log.warn({ learner: m.from, zxid: hexZxid(m.zxid), last: hexZxid(this.store.history.last) }, 'ignored an ack beyond the last proposal');
        }
        this.run(() => this.core.step(m, Date.now()));
      }),
      // An observer's first handshake, before it knows who leads: everything after it comes addressed to us.
      listen<ToLeader>(this.nc, this.subj.zabSeekAll, this.log, (m, sender, subject) => {
        if (m.from !== sender) return dropImpostor(this.log, subject, { claimed: m.from });
        if (m.t !== 'info') return this.log.warn({ learner: sender, t: m.t }, 'ignored a message other than a handshake on the seek subject');
        this.run(() => this.core.step(m, Date.now()));
      }),
    );
    const half = Math.max(20, Math.floor(this.opts.tickTime / 2));
    this.timers.push(setInterval(() => this.tick(), half));
    this.run(() => this.core.start(Date.now()));
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    for (const s of this.subs) s.unsubscribe();
    for (const flow of this.partsFlows.values()) flow.wake?.();
    this.clients?.served.stop('leader stepped down');
  }

  /** The lifecycle machine's initLimit or syncLimit ran out: step down through the core. */
  expire(reason: string): void {
    if (!this.stopped) this.run(() => this.core.stepDown(reason));
  }

  get sessionCount(): number {
    return this.clients?.served.replica.sessionCount ?? 0;
  }

  get currentEpoch(): number {
    return this.core.epoch;
  }

  get serving(): boolean {
    return this.core.serving && !this.stopped;
  }

  /** Carries out the core's effects in order; a broadcast due goes out at the end of the turn. */
  private run(call: () => Effects): void {
    for (const e of callCore(this.log, call)) {
      if (this.stopped) return;
      switch (e.type) {
        case 'persistEpoch':
          persistEpoch(this.store.epochs, e);
          if (e.kind === 'accepted') this.log.info({ epoch: e.epoch }, 'new epoch');
          break;
        case 'send':
          this.send(e.to, e.msg);
          break;
        case 'broadcast':
          this.noteProposed(e.msg.proposals.length, e.msg.proposals.at(-1)?.[0]);
          this.nc.publish(this.subj.zabBroadcast(this.opts.id), pack(e.msg));
          break;
        case 'commit':
          this.commit(e.zxid);
          break;
        case 'prepareSync':
          this.prepareSync(e.to, e.attempt, e.plan);
          break;
        case 'phase':
          if (e.phase === 'broadcast') this.startServing(e.epoch);
          this.events.phase(e.phase, e.epoch);
          break;
        case 'end':
          this.log.warn({ reason: e.reason, epoch: this.core.epoch }, 'stepping down');
          this.stop();
          this.events.stepDown(e.reason);
          return;
        default:
          throw new Error(`a leader has no ${e.type} effect`);
      }
    }
    if (this.core.due && !this.flushScheduled) {
      this.flushScheduled = true;
      atTurnEnd(() => {
        this.flushScheduled = false;
        if (!this.stopped) this.run(() => this.core.flush(Date.now()));
      });
    }
  }

  private tick(): void {
    const now = Date.now();
    this.run(() => this.core.tick(now));
    if (this.stopped) return;
    const within = leaderWithin(this.core, now, roleLimits(this.opts));
    if (within !== undefined) this.events.live(within);
    if (!this.clients) return;
    const { pipeline, preparer } = this.clients;
    for (const id of this.tracker.expired(now)) {
      this.log.info({ sessionId: '0x' + id.toString(16) }, 'session expired');
      pipeline.submitInternal(id, OpCode.closeSession, undefined);
    }
    for (const path of preparer.cleanupCandidates(now, SWEEP_PER_TICK)) pipeline.submitInternal(0n, OpCode.deleteContainer, { path });
  }

  private send(to: string, msg: ToLearner): void {
    if (msg.t === 'sync') return this.sendSync(to, msg);
    if (msg.t === 'noresend') this.log.info({ learner: to, fromSeq: msg.fromSeq }, 'broadcasts asked for again are no longer kept; the learner resyncs');
    this.nc.publish(this.subj.zabLearner(to, this.opts.id), pack(msg));
  }

  /** Everything up to zxid is committed: before broadcast, the tail of our log from an earlier epoch; then the pipeline's. */
  private commit(zxid: number): void {
    if (!this.clients) {
      // A quorum now holds our whole history: what we logged but never saw
      // committed (a re-elected leader's tail of the epoch it lost) is
      // committed with it. The learners applied it at sync; the leader's
      // tree must too, before it validates or answers anything.
      const tail = this.store.applyLogged();
      if (tail > 0) this.log.info({ txns: tail, zxid: hexZxid(this.store.tree.lastZxid) }, 'committed the tail of our log from an earlier epoch');
      this.store.noteCommitted(zxid);
      return;
    }
    this.clients.pipeline.commitUpTo(zxid);
    this.store.noteCommitted(zxid);
    this.noteCommitted(zxid);
  }

  /** Gathers what a learner's sync needs: the snapshot, or the log read back when memory no longer reaches. */
  private prepareSync(to: string, attempt: number, plan: SyncPlan): void {
    const h = this.store.history;
    const snap = () => this.sendSnapshot(to, attempt);
    if (plan.mode === 'snap') return snap();
    const from = plan.mode === 'diff' ? plan.from : plan.truncTo;
    if (from >= h.memoryBase) return this.run(() => this.core.syncPrepared(to, attempt, { plan, txns: [] }));
    this.log.info({ learner: to, from: hexZxid(from), memoryBase: hexZxid(h.memoryBase) }, 'reading the log for a DIFF');
    void this.store.logEntriesAfter(from).then(
      (txns) => !this.stopped && (txns ? this.run(() => this.core.syncPrepared(to, attempt, { plan, txns })) : snap()),
      (err: unknown) => {
        this.log.warn({ err, learner: to }, 'reading the log for a DIFF failed; sending a snapshot');
        if (!this.stopped) snap();
      },
    );
  }

  /**
   * A SNAP: each part of the snapshot goes out as the walk of the tree makes
   * it (MemberStore.snapshotToLearner), paced by the bus's flush and the
   * learner's receipts, so that the learner decodes while the rest is
   * encoded. Then the core makes the sync itself — current as of then, with
   * the transactions since the snapshot. The learner collects parts whatever
   * else it hears meanwhile, so broadcasts in between do not disturb the
   * order it sees.
   */
  private sendSnapshot(to: string, attempt: number): void {
    const epoch = this.core.epoch;
    const flow = this.flowFor(to, attempt);
    // A walk's part is about 1 MiB and ends with a whole node; a bus with a smaller max_payload takes it in slices.
    const slice = Math.max(ENVELOPE, maxPayload(this.nc) - ENVELOPE);
    const started = performance.now();
    let parts = 0;
    this.log.info({ learner: to }, 'sending a snapshot (SNAP)');
    void this.store
      .snapshotToLearner(async (part) => {
        for (let off = 0; off < part.length; off += slice) {
          const bytes = part.subarray(off, off + slice);
          if (!(await this.sendPart(to, flow, pack({ t: 'syncpart', attempt, epoch, snapshot: bytes, txns: [], bytes: 0 }), bytes.length))) return false;
          parts++;
        }
        return true;
      })
      .then(({ zxid, bytes, release }) => {
        try {
          if (this.stopped) return;
          this.log.info({ learner: to, zxid: hexZxid(zxid), bytes, parts, ms: Math.round(performance.now() - started) }, 'snapshot sent');
          this.sentSnapshots.set(to, { attempt, zxid, parts });
          this.run(() => this.core.syncPrepared(to, attempt, { plan: { mode: 'snap' }, txns: [], snapshot: { zxid, bytes: null } }));
          this.sentSnapshots.delete(to);
        } finally {
          release();
        }
      })
      .catch((err: unknown) => {
        if (err instanceof SnapshotAbandoned) this.log.info({ learner: to, reason: err.message }, 'snapshot for the learner given up; it will ask again');
        else this.log.warn({ err: String(err), learner: to }, 'no snapshot sent to the learner; it will ask again');
      })
      .finally(() => {
        if (!flow.syncing) this.endFlow(to, flow);
      });
  }

  /** The flow of this attempt's sync parts to `to`: a SNAP's, carried on by the sync that follows it. */
  private flowFor(to: string, attempt: number): PartsFlow {
    const flow = this.partsFlows.get(to);
    if (flow?.attempt === attempt) return flow;
    const fresh: PartsFlow = { attempt, sent: 0, unflushed: 0, received: 0, syncing: false };
    this.partsFlows.set(to, fresh);
    return fresh;
  }

  private endFlow(to: string, flow: PartsFlow): void {
    if (this.partsFlows.get(to) === flow) this.partsFlows.delete(to);
  }

  /** A learner says how far the sync parts going out to it arrived. */
  private partsReceived(m: SyncReceived): void {
    const flow = this.partsFlows.get(m.from);
    if (flow === undefined || flow.attempt !== m.attempt || !(m.bytes > flow.received)) return;
    flow.received = m.bytes;
    flow.wake?.();
  }

  /**
   * Publishes one part of a sync to `to`, paced: the bus is flushed every
   * 2 MiB, a turn's worth, and no more than the window goes out unconfirmed.
   * False when the sync is given up — this role stopped, a newer attempt
   * replaced it, or the learner went quiet (it will ask again).
   */
  private async sendPart(to: string, flow: PartsFlow, msg: Uint8Array, bytes: number): Promise<boolean> {
    if (this.stopped || this.partsFlows.get(to) !== flow) return false;
    this.nc.publish(this.subj.zabLearner(to, this.opts.id), msg);
    flow.sent += bytes;
    if ((flow.unflushed += bytes) < SYNC_FLUSH_BYTES) return true;
    flow.unflushed = 0;
    await this.nc.flush();
    if (this.stopped) return false;
    if (flow.sent - flow.received > SYNC_WINDOW_BYTES && !(await this.untilReceived(flow, flow.sent - SYNC_WINDOW_BYTES))) {
      if (!this.stopped) this.log.warn({ learner: to, sent: flow.sent, received: flow.received }, 'the learner stopped taking its sync; it will ask again');
      return false;
    }
    return true;
  }

  /**
   * Resolves true once the learner has received `bytes` of the sync's parts;
   * false when it went quiet for initLimit (it is gone or stuck, and will
   * ask again) or this role stopped.
   */
  private untilReceived(flow: PartsFlow, bytes: number): Promise<boolean> {
    const quietMs = this.opts.initLimit * this.opts.tickTime;
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = (ok: boolean) => {
        clearTimeout(timer);
        flow.wake = undefined;
        resolve(ok);
      };
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => done(false), quietMs);
      };
      flow.wake = () => {
        if (this.stopped) done(false);
        else if (flow.received >= bytes) done(true);
        else arm();
      };
      arm();
    });
  }

  /**
   * A long diff can exceed what one NATS message carries: the sync goes as
   * numbered parts (transaction batches) followed by the sync itself, which
   * says how many parts preceded it — those of a SNAP's snapshot included,
   * sent before it by sendSnapshot.
   */
  private sendSync(id: string, msg: Extract<ToLearner, { t: 'sync' }>): void {
    this.log.info({ learner: id, mode: msg.mode, txns: msg.txns.length }, 'syncing learner');
    const sent = this.sentSnapshots.get(id);
    assert(msg.mode !== 'snap' || (msg.snapshot === null && sent?.attempt === msg.attempt && sent.zxid === msg.snapZxid), 'a SNAP goes out after its snapshot parts');
    const { attempt, epoch } = msg;
    const txnBytes = (txns: LogEntry[]) => txns.reduce((sum, [, payload]) => sum + payload.byteLength, 0);
    const bytes = txnBytes(msg.txns);
    const parts = splitForPayload(this.nc, msg.txns, ([, payload]) => payload.byteLength + 16, true).parts;
    const last = pack({ ...msg, txns: [], parts: (msg.mode === 'snap' ? sent!.parts : 0) + parts.length });
    const flow = this.flowFor(id, attempt);
    flow.syncing = true;
    // A sync that fits under a flush goes out whole in this turn; a long DIFF is paced like a SNAP.
    void (async () => {
      try {
        for (const txns of parts) {
          if (!(await this.sendPart(id, flow, pack({ t: 'syncpart', attempt, epoch, snapshot: null, txns, bytes }), txnBytes(txns)))) return;
        }
        if (!this.stopped) this.nc.publish(this.subj.zabLearner(id, this.opts.id), last);
      } finally {
        this.endFlow(id, flow);
      }
    })();
  }

  /** Broadcast begins: answer liveness probes, and serve clients through the write pipeline. */
  private startServing(epoch: number): void {
    // The effect's epoch, not the core's: the same list may end the stint (a leader its own establishment removed).
    this.subs.push(
      this.nc.subscribe(this.subj.zabAlive(this.opts.id, epoch), {
        callback: (err, msg) => {
          if (!err) msg.respond();
        },
      }),
    );
    this.log.info({ epoch, zxid: hexZxid(this.store.history.last) }, 'leading: broadcast');
    this.clients = this.serve(epoch);
  }

  private serve(epoch: number): Serving {
    const { store, opts } = this;
    const tree = store.tree;
    const preparer = new Preparer(tree, opts.tree);
    const served = serveReplica(opts, tree, this.nc, this.log, (entries) => pipeline.submit(opts.id, entries), () => store.history.last);
    const replica = served.replica;
    const now = Date.now();
    for (const [id, s] of tree.sessions) this.tracker.add(id, s.timeout, now);
    const pipeline = new WritePipeline(
      {
        log: store.log,
        preparer,
        proposed: (e, voters) => {
          store.history.append(e);
          this.run(() => this.core.propose([e], voters && { zxid: e[0], voters }));
        },
        durable: (zxid) => this.run(() => this.core.durable(zxid, Date.now())),
        commit: (hdr, txn) => {
          replica.committed(hdr, txn);
          store.applied();
          if (hdr.type === OpCode.createSession) {
            const s = tree.sessions.get(hdr.sessionId);
            if (s) this.tracker.add(hdr.sessionId, s.timeout, Date.now());
          } else if (hdr.type === OpCode.closeSession) {
            this.tracker.remove(hdr.sessionId);
          }
        },
        synced: (m) => {
          if (m.learner === opts.id) replica.synced(m.sessionId, m.cxid, m.path);
          else this.run(() => this.core.answerSync(m.learner, m.sessionId, m.cxid, m.path));
        },
        now: Date.now,
        fatal: (err) => {
          this.log.error({ err }, 'transaction log failed');
          this.run(() => this.core.stepDown('transaction log failed'));
        },
        flushed: (records, ms) => this.events.metrics?.fsync(ms, records),
        warn: (fields, msg) => this.log.warn(fields, msg),
      },
      store.history.last,
      epoch,
    );
    this.subs.push(
      listen<ForwardBatch>(this.nc, this.subj.leaderInAll(this.opts.id), this.log, ([learner, seq, entries], sender, subject) => {
        // A learner speaks for the sessions it authenticated, and for no other learner's.
        if (learner !== sender || entries.some((e) => e[1] !== sender)) return dropImpostor(this.log, subject, { claimed: learner });
        if (this.forwardGaps.check(learner, seq, entries.length === 0) === 'gap') {
          // Writes of that learner's sessions were lost and would never be answered: make it start over.
          this.log.warn({ learner, seq }, 'forwarded batches were lost; sending the learner away');
          return this.run(() => this.core.sendAway(learner, 'forwarded writes were lost'));
        }
        pipeline.submit(learner, entries);
      }),
      listen<SessionTouch>(this.nc, this.subj.touchAll, this.log, (t, sender, subject) => {
        if (t.gw !== sender) return dropImpostor(this.log, subject, { claimed: t.gw });
        this.tracker.touch(t.sessions, Date.now());
      }),
    );
    if (opts.reconfigEnabled) {
      const syncedWithinMs = opts.syncLimit * opts.tickTime;
      preparer.reconfig = reconfigJudge({ tree, staticIds: opts.ensemble ?? opts.voters, core: this.core, syncedWithinMs, now: Date.now, treeConfig: opts.tree, refused: (why) => this.log.warn({ why }, 'refused a reconfig') });
    }
    // First of the epoch, before any client's write: /zookeeper/config shows the static configuration.
    const shown = staticConfigTxn(tree, opts.ensemble ?? opts.voters, opts.reconfigEnabled ? makeZxid(epoch, 0) : 0);
    if (shown) pipeline.submitTxn(shown);
    return { pipeline, preparer, served };
  }

  /**
   * A synced non-voting follower asks to vote (`--add-self`, so that a new
   * StatefulSet pod or compose service joins by itself). Its request comes on
   * its own member identity, which only the operator provisions, so the
   * ensemble proposes the change with its own authority; the usual judge
   * still decides (reconfig enabled, one change at a time, the new quorum
   * synced), and a refusal is an error txn like a client's. The learner asks
   * again until a committed configuration lists it.
   */
  private addVoter(m: AddMe): void {
    const c = this.clients;
    if (!c || !this.opts.reconfigEnabled || m.epoch !== this.core.epoch || this.core.pendingConfig || !/^\d+$/.test(m.from)) return;
    // Synced counts followers only: an observer's id is never added.
    if (!this.core.syncedLearners(Date.now(), this.opts.syncLimit * this.opts.tickTime).includes(m.from)) return;
    const committed = committedEnsemble(this.store.tree, this.opts.ensemble ?? this.opts.voters);
    if (voterIds(committed).includes(m.from)) return;
    this.log.info({ learner: m.from, config: hexZxid(committed.version) }, 'adding a follower that asked to vote');
    // The whole new membership (-members), as `zooid scale` asks: an incremental -add needs a client address, and
    // Zooid's own lines carry none (clients reach gateways, not members).
    const members = [...committed.members, memberServer(Number(m.from))].map(serverLine);
    c.pipeline.submitInternal(0n, OpCode.reconfig, { joiningServers: null, leavingServers: null, newMembers: members.join('\n'), curConfigId: committed.version } satisfies ReconfigRequest, ENSEMBLE_AUTHORITY);
  }

  private noteProposed(n: number, last: number | undefined): void {
    const m = this.events.metrics;
    if (n === 0 || !m || last === undefined) return;
    m.proposed(n);
    this.uncommitted.push([last, performance.now(), n]);
  }

  /** Commit latency per broadcast batch: from its broadcast to the commit point passing it. */
  private noteCommitted(point: number): void {
    const m = this.events.metrics;
    if (!m) return;
    const now = performance.now();
    while (this.uncommitted.length > 0 && this.uncommitted[0]![0] <= point) {
      const [, at, count] = this.uncommitted.shift()!;
      m.committed(now - at, count);
    }
  }

  /** Four-letter word and admin statistics. */
  admin(ask: AdminAsk): Record<string, unknown> {
    return adminInfo(ask, {
      opts: this.opts,
      serverState: this.opts.voters.length === 1 ? 'standalone' : 'leader',
      tree: this.store.tree,
      replica: this.clients?.served.replica,
      sessions: this.tracker.size,
      outstanding: this.clients?.pipeline.outstanding ?? 0,
      epoch: this.core.epoch,
    });
  }
}

/** The authority of the ensemble itself, for changes it makes on a member's request (addVoter). */
const ENSEMBLE_AUTHORITY: AuthId[] = [['super', '']];

/** A change this member logged but never saw commit (MemberStore.pendingConfig): establishing our epoch commits it, so the core needs its voters' quorum too. */
function pendingOf(store: MemberStore): { zxid: number; voters: string[] } | undefined {
  const p = store.pendingConfig();
  return p && { zxid: p.version, voters: voterIds(p) };
}
