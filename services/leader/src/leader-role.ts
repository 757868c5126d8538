import {
  OpCode,
  pack,
  subjects,
  type AdminAsk,
  type Broadcast,
  type ForwardBatch,
  BatchGaps,
  type LogEntry,
  type SessionTouch,
  type ToLeader,
  type ToLearner,
} from '@zooid/protocol';
import { Preparer, type TreeConfig } from '@zooid/tree';
import { AckTracker, BroadcastWindow, broadcastBytes, hexZxid, isQuorum, type SyncPlan } from '@zooid/zab';
import { atTurnEnd, dropImpostor, listen, maxPayload, splitForPayload, type Logger, type NatsConnection } from '@zooid/runtime';
import type { MemberStore } from './member-store.js';
import { WritePipeline } from './pipeline.js';
import { SessionTracker } from './sessions.js';
import { adminInfo } from './admin.js';
import { serveReplica, type ServedReplica } from './serve-replica.js';
import type { RoleMetrics } from './role-metrics.js';

export interface RoleOptions {
  id: string;
  voters: string[];
  cluster: string;
  tickTime: number;
  initLimit: number;
  syncLimit: number;
  minSessionTimeout: number;
  maxSessionTimeout: number;
  tree: TreeConfig;
  dataDir: string;
  /** Per session: reply bytes unread by its client before its reads wait (the replica's default when absent). */
  replyWindow?: number;
  /** Per session: watches held on this learner (the replica's default when absent). */
  maxSessionWatches?: number;
  /** Bytes of one learner → gateway message; a single larger reply goes alone (the bus's max_payload when absent). */
  gatewayBatchBytes?: number;
}

export type LeaderPhase = 'discovery' | 'synchronization' | 'broadcast';

export interface LeaderEvents {
  phase: (p: LeaderPhase, epoch: number) => void;
  /** The leader cannot go on (no quorum, a better history exists, disk failure). */
  stepDown: (reason: string) => void;
  metrics?: RoleMetrics;
}

interface LearnerState {
  attempt: number;
  voter: boolean;
  acceptedEpoch: number;
  stage: 'info' | 'epoch' | 'sync' | 'uptodate';
}

/**
 * The leader role over the bus: Zab's discovery (a new epoch from a quorum's
 * accepted epochs), synchronization (DIFF, TRUNC or SNAP per learner, from the
 * in-memory history) and broadcast (one publish per batch to every learner,
 * commit once a quorum including the leader has acked).
 */
export class LeaderRole {
  private readonly subj;
  private readonly learners = new Map<string, LearnerState>();
  private epoch = 0;
  private phase: LeaderPhase = 'discovery';
  private readonly synced = new Set<string>();
  private seq = 0;
  /** Recent broadcasts, for a learner that missed some. */
  private readonly window = new BroadcastWindow();
  private acks?: AckTracker;
  private pipeline?: WritePipeline;
  private served?: ServedReplica;
  private readonly tracker = new SessionTracker();
  private readonly forwardGaps = new BatchGaps();
  private pendingProposals: LogEntry[] = [];
  private pendingSyncs: Broadcast['syncs'] = [];
  private bcScheduled = false;
  private lastPublish = 0;
  /** Broadcast batches not committed yet, for the commit latency metric: [last zxid, when, count]. */
  private readonly uncommitted: [zxid: number, at: number, count: number][] = [];
  private readonly subs: { unsubscribe(): void }[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private stopped = false;

  constructor(
    private readonly opts: RoleOptions,
    private readonly store: MemberStore,
    private readonly nc: NatsConnection,
    private readonly log: Logger,
    private readonly events: LeaderEvents,
  ) {
    this.subj = subjects(opts.cluster);
  }

  start(): void {
    this.subs.push(
      listen<ToLeader>(this.nc, this.subj.zabLeaderAll, this.log, (m, sender, subject) => {
        if (m.from !== sender) return dropImpostor(this.log, subject, { claimed: m.from });
        this.onLearner(m);
      }),
    );
    const started = Date.now();
    this.timers.push(
      setInterval(() => {
        if (this.phase !== 'broadcast' && Date.now() - started > this.opts.initLimit * this.opts.tickTime) {
          this.stepDown(`no quorum synchronized within initLimit (${this.opts.initLimit} ticks)`);
        }
      }, this.opts.tickTime),
    );
    this.events.phase('discovery', 0);
    // The leader is its own first learner.
    this.onLearner({
      t: 'info',
      from: this.opts.id,
      attempt: 0,
      voter: true,
      acceptedEpoch: this.store.epochs.readAccepted(),
      currentEpoch: this.store.epochs.readCurrent(),
      lastZxid: this.store.lastLogged,
    });
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    for (const s of this.subs) s.unsubscribe();
    this.served?.stop('leader stepped down');
  }

  get sessionCount(): number {
    return this.served?.replica.sessionCount ?? 0;
  }

  get currentEpoch(): number {
    return this.epoch;
  }

  get serving(): boolean {
    return this.phase === 'broadcast' && !this.stopped;
  }

  private stepDown(reason: string): void {
    if (this.stopped) return;
    this.log.warn({ reason, epoch: this.epoch }, 'stepping down');
    this.stop();
    this.events.stepDown(reason);
  }

  private send(to: string, msg: ToLearner): void {
    this.nc.publish(this.subj.zabLearner(to, this.opts.id), pack(msg));
  }

  private onLearner(m: ToLeader): void {
    if (this.stopped) return;
    switch (m.t) {
      case 'info':
        return this.onInfo(m);
      case 'ackepoch': {
        const l = this.learners.get(m.from);
        if (!l || l.attempt !== m.attempt || m.epoch !== this.epoch || l.stage !== 'epoch') return;
        const mine = { epoch: this.store.epochs.readCurrent(), zxid: this.store.lastLogged };
        if (m.from !== this.opts.id && (m.currentEpoch > mine.epoch || (m.currentEpoch === mine.epoch && m.lastZxid > mine.zxid))) {
          return this.stepDown(`member ${m.from} has a newer history (${hexZxid(m.lastZxid)}) than ours (${hexZxid(mine.zxid)})`);
        }
        l.stage = 'sync';
        if (m.from === this.opts.id) return this.onLearner({ t: 'acknl', from: m.from, attempt: m.attempt, epoch: this.epoch });
        return this.syncLearner(m.from, l, m.lastZxid);
      }
      case 'acknl': {
        const l = this.learners.get(m.from);
        if (!l || l.attempt !== m.attempt || m.epoch !== this.epoch) return;
        if (l.stage === 'uptodate') return this.send(m.from, { t: 'uptodate', attempt: l.attempt, epoch: this.epoch });
        if (l.stage !== 'sync') return;
        l.stage = 'uptodate';
        this.synced.add(m.from);
        if (this.phase === 'broadcast') {
          this.send(m.from, { t: 'uptodate', attempt: l.attempt, epoch: this.epoch });
          return;
        }
        const votersSynced = this.opts.voters.filter((v) => this.synced.has(v)).length;
        if (isQuorum(votersSynced, this.opts.voters.length)) this.startBroadcast();
        return;
      }
      case 'ack':
        if (m.epoch !== this.epoch || !this.acks) return;
        // Nobody can hold on disk what was never proposed: such an ack would commit too early.
        if (m.zxid > this.store.history.last) {
          this.log.warn({ learner: m.from, zxid: hexZxid(m.zxid), last: hexZxid(this.store.history.last) }, 'ignored an ack beyond the last proposal');
          return;
        }
        return this.ack(m.from, m.zxid);
      case 'resend':
        return this.resend(m);
    }
  }

  /** A learner missed broadcasts: send them again, or tell it to resync when they are no longer kept. */
  private resend(m: Extract<ToLeader, { t: 'resend' }>): void {
    const l = this.learners.get(m.from);
    if (!l || l.attempt !== m.attempt || m.epoch !== this.epoch || m.fromSeq > m.toSeq || m.toSeq > this.seq) return;
    const missed = this.window.range(m.fromSeq, m.toSeq);
    if (!missed) {
      this.log.info({ learner: m.from, fromSeq: m.fromSeq, kept: this.window.first }, 'broadcasts asked for again are no longer kept; the learner resyncs');
      return this.send(m.from, { t: 'noresend', attempt: l.attempt, epoch: this.epoch, fromSeq: m.fromSeq });
    }
    for (const broadcasts of splitForPayload(this.nc, missed, broadcastBytes, true).parts) this.send(m.from, { t: 'resent', attempt: l.attempt, epoch: this.epoch, broadcasts });
  }

  private onInfo(m: Extract<ToLeader, { t: 'info' }>): void {
    const prior = this.learners.get(m.from);
    if (prior && prior.attempt === m.attempt) {
      // A retransmission: our newepoch was lost.
      if (this.epoch > 0 && prior.stage === 'epoch') this.send(m.from, { t: 'newepoch', attempt: m.attempt, epoch: this.epoch, leader: this.opts.id });
      return;
    }
    if (this.epoch > 0 && m.acceptedEpoch > this.epoch) {
      this.send(m.from, { t: 'goaway', attempt: m.attempt, reason: 'your accepted epoch is newer than ours' });
      return;
    }
    this.synced.delete(m.from);
    this.acks?.drop(m.from);
    this.learners.set(m.from, { attempt: m.attempt, voter: m.voter && this.opts.voters.includes(m.from), acceptedEpoch: m.acceptedEpoch, stage: 'epoch' });
    if (this.epoch === 0) {
      const voters = [...this.learners].filter(([, l]) => l.voter);
      if (!isQuorum(voters.length, this.opts.voters.length)) return;
      // Discovery: a new epoch above every accepted epoch of a quorum.
      this.epoch = Math.max(...voters.map(([, l]) => l.acceptedEpoch)) + 1;
      this.store.epochs.writeAccepted(this.epoch);
      this.log.info({ epoch: this.epoch, voters: voters.map(([id]) => id) }, 'new epoch');
      this.phase = 'synchronization';
      this.events.phase('synchronization', this.epoch);
      for (const [id, l] of this.learners) this.announceEpoch(id, l);
      return;
    }
    this.announceEpoch(m.from, this.learners.get(m.from)!);
  }

  private announceEpoch(id: string, l: LearnerState): void {
    if (id === this.opts.id) {
      this.onLearner({ t: 'ackepoch', from: id, attempt: l.attempt, epoch: this.epoch, currentEpoch: this.store.epochs.readCurrent(), lastZxid: this.store.lastLogged });
      return;
    }
    this.send(id, { t: 'newepoch', attempt: l.attempt, epoch: this.epoch, leader: this.opts.id });
  }

  private syncLearner(id: string, l: LearnerState, learnerLast: number): void {
    const h = this.store.history;
    const plan = h.plan(learnerLast);
    if (plan.mode === 'snap') return this.sendPlan(id, l, learnerLast, plan, []);
    const from = plan.mode === 'diff' ? plan.from : plan.truncTo;
    // sendPlan takes the entries still in memory itself.
    if (from >= h.memoryBase) return this.sendPlan(id, l, learnerLast, plan, []);
    this.log.info({ learner: id, from: hexZxid(from), memoryBase: hexZxid(h.memoryBase) }, 'reading the log for a DIFF');
    void this.store.logEntriesAfter(from).then(
      (txns) => this.sendPlan(id, l, learnerLast, txns ? plan : { mode: 'snap' }, txns ?? []),
      (err: unknown) => {
        this.log.warn({ err, learner: id }, 'reading the log for a DIFF failed; sending a snapshot');
        this.sendPlan(id, l, learnerLast, { mode: 'snap' }, []);
      },
    );
  }

  /** Sends a planned sync, current as of now (commit point, broadcast sequence). */
  private sendPlan(id: string, l: LearnerState, learnerLast: number, plan: SyncPlan, txns: LogEntry[]): void {
    // A DIFF read from disk arrives later: the learner may have started over, or we stopped leading.
    if (this.stopped || this.learners.get(id) !== l || l.stage !== 'sync') return;
    const h = this.store.history;
    if (plan.mode !== 'snap') {
      // The entries past those gathered come from memory, up to now, so that the sync is current with this.seq;
      // a window that moved past what the log read gave means a snapshot after all.
      const upTo = txns.at(-1)?.[0] ?? (plan.mode === 'diff' ? plan.from : plan.truncTo);
      if (upTo < h.memoryBase) return this.sendPlan(id, l, learnerLast, { mode: 'snap' }, []);
      if (upTo < h.last) txns = txns.concat(h.after(upTo));
    }
    const committed = this.acks ? this.acks.commitPoint : h.last;
    let msg: ToLearner;
    if (plan.mode === 'snap') {
      const snap = this.store.snapshotNow();
      msg = { t: 'sync', attempt: l.attempt, epoch: this.epoch, mode: 'snap', truncTo: 0, snapshot: snap.bytes, snapZxid: snap.zxid, txns: h.after(snap.zxid), committed, seq: this.seq, parts: 0 };
    } else {
      msg = { t: 'sync', attempt: l.attempt, epoch: this.epoch, mode: plan.mode, truncTo: plan.mode === 'trunc' ? plan.truncTo : 0, snapshot: null, snapZxid: 0, txns, committed, seq: this.seq, parts: 0 };
    }
    this.log.info({ learner: id, mode: plan.mode, learnerLast: hexZxid(learnerLast), txns: msg.txns.length, snapshotBytes: msg.snapshot?.length ?? 0 }, 'syncing learner');
    this.sendSync(id, msg);
  }

  /**
   * A snapshot or a long diff can exceed what one NATS message carries: the
   * sync goes as numbered parts (snapshot slices, then transaction batches)
   * followed by the sync itself, which says how many parts preceded it.
   */
  private sendSync(id: string, msg: Extract<ToLearner, { t: 'sync' }>): void {
    const slice = Math.max(64 * 1024, maxPayload(this.nc) - 64 * 1024);
    const parts: Extract<ToLearner, { t: 'syncpart' }>[] = [];
    const snap = msg.snapshot;
    const bytes = (snap?.length ?? 0) + msg.txns.reduce((sum, [, payload]) => sum + payload.byteLength, 0);
    const { attempt, epoch } = msg;
    if (snap) for (let off = 0; off < snap.length; off += slice) parts.push({ t: 'syncpart', attempt, epoch, snapshot: snap.subarray(off, off + slice), txns: [], bytes });
    for (const txns of splitForPayload(this.nc, msg.txns, ([, payload]) => payload.byteLength + 16, true).parts) {
      parts.push({ t: 'syncpart', attempt, epoch, snapshot: null, txns, bytes });
    }
    for (const p of parts) this.send(id, p);
    this.send(id, { ...msg, snapshot: null, txns: [], parts: parts.length });
  }

  private startBroadcast(): void {
    this.store.epochs.writeCurrent(this.epoch);
    // A quorum now holds our whole history: what we logged but never saw
    // committed (a re-elected leader's tail of the epoch it lost) is committed
    // with it. The learners applied it at sync; the leader's tree must too,
    // before it validates or answers anything.
    const tail = this.store.applyLogged();
    if (tail > 0) this.log.info({ txns: tail, zxid: hexZxid(this.store.tree.lastZxid) }, 'committed the tail of our log from an earlier epoch');
    const start = this.store.history.last;
    this.acks = new AckTracker(this.opts.voters, start);
    for (const v of this.synced) if (this.opts.voters.includes(v)) this.acks.ack(v, start, Date.now());
    this.phase = 'broadcast';
    this.subs.push(this.nc.subscribe(this.subj.zabAlive(this.opts.id, this.epoch), {
        callback: (err, msg) => {
          if (!err) msg.respond();
        },
      }));
    this.log.info({ epoch: this.epoch, zxid: hexZxid(start), synced: [...this.synced] }, 'leading: broadcast');
    this.serve();
    for (const [id, l] of this.learners) if (l.stage === 'uptodate' && id !== this.opts.id) this.send(id, { t: 'uptodate', attempt: l.attempt, epoch: this.epoch });
    this.events.phase('broadcast', this.epoch);
  }

  private serve(): void {
    const { store, opts } = this;
    const tree = store.tree;
    const preparer = new Preparer(tree, opts.tree);
    this.served = serveReplica(opts, tree, this.nc, this.log, (entries) => this.pipeline!.submit(opts.id, entries), () => store.history.last);
    const replica = this.served.replica;
    const now = Date.now();
    for (const [id, s] of tree.sessions) this.tracker.add(id, s.timeout, now);
    this.pipeline = new WritePipeline(
      {
        log: store.log,
        preparer,
        proposed: (e) => {
          store.history.append(e);
          this.pendingProposals.push(e);
          this.scheduleBroadcast();
        },
        durable: (zxid) => this.ack(opts.id, zxid),
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
          else {
            this.pendingSyncs.push([m.learner, m.sessionId, m.cxid, m.path]);
            this.scheduleBroadcast();
          }
        },
        now: Date.now,
        fatal: (err) => {
          this.log.error({ err }, 'transaction log failed');
          this.stepDown('transaction log failed');
        },
        flushed: (records, ms) => this.events.metrics?.fsync(ms, records),
        warn: (fields, msg) => this.log.warn(fields, msg),
      },
      store.history.last,
      this.epoch,
    );
    this.subs.push(
      listen<ForwardBatch>(this.nc, this.subj.leaderInAll, this.log, ([learner, seq, entries], sender, subject) => {
        // A learner speaks for the sessions it authenticated, and for no other learner's.
        if (learner !== sender || entries.some((e) => e[1] !== sender)) return dropImpostor(this.log, subject, { claimed: learner });
        if (this.forwardGaps.check(learner, seq, entries.length === 0) === 'gap') {
          // Writes of that learner's sessions were lost and would never be answered: make it start over.
          const l = this.learners.get(learner);
          this.log.warn({ learner, seq }, 'forwarded batches were lost; sending the learner away');
          if (l) this.send(learner, { t: 'goaway', attempt: l.attempt, reason: 'forwarded writes were lost' });
          return;
        }
        this.pipeline!.submit(learner, entries);
      }),
      listen<SessionTouch>(this.nc, this.subj.touchAll, this.log, (t, sender, subject) => {
        if (t.gw !== sender) return dropImpostor(this.log, subject, { claimed: t.gw });
        this.tracker.touch(t.sessions, Date.now());
      }),
    );
    const half = Math.max(20, Math.floor(opts.tickTime / 2));
    this.timers.push(
      setInterval(() => this.tick(preparer), half),
    );
  }

  private tick(preparer: Preparer): void {
    const now = Date.now();
    if (!this.acks!.quorumHeardSince(now - this.opts.syncLimit * this.opts.tickTime, this.opts.id)) {
      return this.stepDown(`lost quorum: not heard from a quorum within syncLimit (${this.opts.syncLimit} ticks)`);
    }
    for (const id of this.tracker.expired(now)) {
      this.log.info({ sessionId: '0x' + id.toString(16) }, 'session expired');
      this.pipeline!.submitInternal(id, OpCode.closeSession, undefined);
    }
    for (const path of preparer.cleanupCandidates(now)) this.pipeline!.submitInternal(0n, OpCode.deleteContainer, { path });
    // Heartbeat: an empty broadcast when nothing else went out this half tick.
    if (now - this.lastPublish >= Math.floor(this.opts.tickTime / 2)) this.publishBroadcast();
  }

  private ack(from: string, zxid: number): void {
    const point = this.acks!.ack(from, zxid, Date.now());
    if (point === undefined) return;
    this.pipeline!.commitUpTo(point);
    this.noteCommitted(point);
    this.scheduleBroadcast();
  }

  private scheduleBroadcast(): void {
    if (this.bcScheduled) return;
    this.bcScheduled = true;
    atTurnEnd(() => this.publishBroadcast());
  }

  /** One publish reaches every learner: new proposals, the commit point and answered syncs. */
  private publishBroadcast(): void {
    this.bcScheduled = false;
    if (this.stopped) return;
    // A turn's proposals can exceed the bus's max_payload (a dozen 1 MiB
    // setData): they go as consecutive broadcasts, the syncs on the last one.
    // None is dropped: a proposal is no larger than the request that crossed the bus to get here.
    const { parts } = splitForPayload(this.nc, this.pendingProposals, ([, payload]) => payload.byteLength + 16, true);
    if (parts.length === 0) parts.push([]);
    const commit = this.acks!.commitPoint;
    const n = this.pendingProposals.length;
    if (n > 0 && this.events.metrics) {
      this.events.metrics.proposed(n);
      this.uncommitted.push([this.pendingProposals[n - 1]![0], performance.now(), n]);
    }
    parts.forEach((proposals, i) => {
      const syncs = i === parts.length - 1 ? this.pendingSyncs : [];
      const b: Broadcast = { epoch: this.epoch, seq: ++this.seq, proposals, commit, syncs };
      this.window.push(b);
      this.nc.publish(this.subj.zabBroadcast(this.opts.id), pack(b));
    });
    this.pendingProposals = [];
    this.pendingSyncs = [];
    this.lastPublish = Date.now();
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
      replica: this.served?.replica,
      sessions: this.tracker.size,
      outstanding: this.pipeline?.outstanding ?? 0,
      epoch: this.epoch,
    });
  }
}
