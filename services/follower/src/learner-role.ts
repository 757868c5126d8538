import { randomInt } from 'node:crypto';
import { BatchNumbers, SYNC_RECEIVED_EVERY_BYTES, pack, subjects, type ForwardBatch, type AdminAsk, type Broadcast, type SyncReceived, type ToLeader, type ToLearner, type AddMe } from '@zooid/protocol';
import { decodeTxn } from '@zooid/tree';
import { LearnerCore, hexZxid, learnerWithin, roleLimits, type Effects, type ZabPhase } from '@zooid/zab';
import { PROGRESS_MIN_BYTES, adminInfo, callCore, persistEpoch, serveReplica, type MemberStore, type RoleMetrics, type RoleOptions, type ServedReplica, type SnapshotReceiver } from '@zooid/leader';
import { Empty, RequestError, atTurnEnd, dropImpostor, listen, splitForPayload, startProgress, testDrop, type Logger, type NatsConnection, type Progress } from '@zooid/runtime';

export type LearnerPhase = ZabPhase;

export interface LearnerEvents {
  phase: (p: LearnerPhase, epoch: number) => void;
  /** The leader is gone or refused us: look for another. */
  lost: (reason: string) => void;
  /** On every tick: how long until the handshake (initLimit) or the leader (syncLimit) has been silent too long (the role machine's timers). */
  live: (withinMs: number) => void;
  /** How the learner was brought up to date (diff, trunc or snap), for tests and logs. */
  synced?: (mode: string) => void;
  /** fsync timing for metrics (the learner's batches are the leader's, so no batch size). */
  metrics?: Pick<RoleMetrics, 'fsync'>;
}

const RETRY_MS = 250;
/**
 * How long the leader's liveness subject must stay without a responder (at
 * least; a tick when that is longer) before the leader counts as gone. On a
 * clustered bus, a leader whose nats-server died is unreachable while it
 * reconnects to another server and its subscription spreads over the
 * routes: 1.3 s was seen in CI, longer when other servers are down too and
 * it has to try them first; that is not a dead leader. A dead process stays
 * unanswered, and is still noticed well within syncLimit.
 */
const LEADER_GONE_MS = 2000;

/**
 * Hosts the learner core (follower or observer) over the bus and the
 * member's disk: the leader's messages, broadcasts and ticks go in, and its
 * effects are carried out in order — epochs written before the ack that
 * promises them, proposals logged with one fdatasync per batch before the
 * core is told they are durable (only then does it ack), commits applied to
 * the replica that serves clients, the leader probed for liveness.
 */
export class LearnerRole {
  private readonly subj;
  private readonly core: LearnerCore;
  /** The replica serving clients, from the end of the sync on. */
  private served?: ServedReplica;
  private flushing = false;
  private flushAgain = false;
  private readonly subs: { unsubscribe(): void }[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private stopped = false;
  private probing = false;
  /** Test-only: drop every Nth broadcast, as a lossy bus would (ZOOID_TEST_DROP_BROADCAST_EVERY). */
  private readonly dropBroadcast = testDrop('BROADCAST');
  /** How far the parts of a long sync have arrived, for its progress report. */
  private partsBytes = 0;
  /** partsBytes when we last told the leader how far the sync's parts arrived. */
  private partsConfirmed = 0;
  private partsProgress?: Progress;
  /** A SNAP's snapshot, stored and decoded as its parts arrive. */
  private receiving?: SnapshotReceiver;
  /** When we last asked the leader to add us as a voter (askToVote). */
  private askedToVote = 0;

  constructor(
    private readonly opts: RoleOptions & { voter: boolean; leader?: string },
    private readonly store: MemberStore,
    private readonly nc: NatsConnection,
    private readonly log: Logger,
    private readonly events: LearnerEvents,
  ) {
    this.subj = subjects(opts.cluster);
    this.core = new LearnerCore(
      {
        id: opts.id,
        voter: opts.voter,
        leader: opts.leader,
        attempt: randomInt(1, 2 ** 31),
        leaderGoneMs: LEADER_GONE_MS,
        tickTime: opts.tickTime,
        syncLimit: opts.syncLimit,
        epochLeaders: opts.epochLeaders,
      },
      { acceptedEpoch: store.epochs.readAccepted(), acceptedLeader: store.epochs.readAcceptedLeader(), currentEpoch: store.epochs.readCurrent(), lastLogged: store.lastLogged },
    );
  }

  start(): void {
    this.subs.push(
      listen<ToLearner>(this.nc, this.subj.zabLearnerAll(this.opts.id), this.log, (m, sender, subject) => {
        // Only the leader we are synchronizing with speaks to us; a newepoch names its sender.
        const from = m.t === 'newepoch' ? m.leader : this.core.speaker;
        if (sender !== from) return dropImpostor(this.log, subject, { claimed: from ?? 'no leader yet' });
        this.progress(m);
        this.run(() => this.core.step(m, Date.now()));
      }),
      listen<Broadcast>(this.nc, this.subj.zabBroadcastAll, this.log, (b, sender) => {
        if (!this.dropBroadcast()) this.run(() => this.core.broadcast(b, sender, Date.now()));
      }),
    );
    this.timers.push(setInterval(() => this.tick(), RETRY_MS));
    this.run(() => this.core.start(Date.now()));
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    for (const s of this.subs) s.unsubscribe();
    this.served?.stop('learner stopped serving');
    this.partsProgress?.end();
    this.receiving?.abandon('the role ended');
  }

  /** The lifecycle machine's initLimit or syncLimit ran out: leave through the core. */
  expire(reason: string): void {
    if (!this.stopped) this.run(() => this.core.leave(reason));
  }

  private tick(): void {
    const now = Date.now();
    this.run(() => this.core.tick(now));
    this.askToVote(now);
    const within = learnerWithin(this.core, now, roleLimits(this.opts));
    if (!this.stopped && within !== undefined) this.events.live(within);
  }

  /** `--add-self`: while serving and not a voter, ask the leader to add us, once a tick. */
  private askToVote(now: number): void {
    if (!this.opts.wantsVote?.() || !this.served || now - this.askedToVote < this.opts.tickTime) return;
    this.askedToVote = now;
    this.toLeader({ t: 'addme', from: this.opts.id, epoch: this.core.epoch } satisfies AddMe);
  }

  get sessionCount(): number {
    return this.served?.replica.sessionCount ?? 0;
  }

  get currentEpoch(): number {
    return this.core.epoch;
  }

  get serving(): boolean {
    return this.core.serving && !this.stopped;
  }

  /**
   * To the leader we follow, and only to it: another member leading the same
   * epoch must never count our acks. Before we know the leader (an observer's
   * first handshake) the info goes to whoever leads.
   */
  private toLeader(msg: ToLeader | SyncReceived | AddMe): void {
    const leader = this.core.speaker;
    if (leader !== undefined) this.nc.publish(this.subj.zabLeader(leader, this.opts.id), pack(msg));
    else if (msg.t === 'info') this.nc.publish(this.subj.zabSeek(this.opts.id), pack(msg));
  }

  /** Carries out the core's effects in order. */
  private run(call: () => Effects): void {
    for (const e of callCore(this.log, call)) {
      if (this.stopped) return;
      switch (e.type) {
        case 'persistEpoch':
          persistEpoch(this.store.epochs, e);
          break;
        case 'toLeader':
          if (e.msg.t === 'resend') this.log.info({ epoch: e.msg.epoch, fromSeq: e.msg.fromSeq, toSeq: e.msg.toSeq }, 'missed broadcasts; asking the leader to resend them');
          this.toLeader(e.msg);
          break;
        case 'log':
          this.store.append(e.entries);
          this.flush();
          break;
        case 'commit':
          this.apply(e.zxid);
          break;
        case 'answerSync':
          this.served?.replica.synced(e.sessionId, e.cxid, e.path);
          break;
        case 'snapshotPart':
          (this.receiving ??= this.store.receiveSnapshot(() => !this.stopped)).add(e.part);
          break;
        case 'install':
          void this.install(e.sync);
          break;
        case 'probeLeader':
          this.probeLeader(e.leader, e.epoch);
          break;
        case 'phase':
          if (e.phase === 'broadcast') this.log.info({ epoch: e.epoch, zxid: hexZxid(this.store.tree.lastZxid) }, this.opts.voter ? 'following' : 'observing');
          this.events.phase(e.phase, e.epoch);
          break;
        case 'end':
          this.log.warn({ reason: e.reason, epoch: this.core.epoch }, 'leaving the leader');
          this.stop();
          this.events.lost(e.reason);
          return;
        default:
          throw new Error(`a learner has no ${e.type} effect`);
      }
    }
  }

  /**
   * A dead leader is noticed within about a second, not after syncLimit: its
   * liveness subject has no responder left. A frozen one still has its
   * subscription and is caught by the silence timeout instead.
   */
  private probeLeader(leader: string, epoch: number): void {
    if (this.probing) return;
    this.probing = true;
    this.nc
      .request(this.subj.zabAlive(leader, epoch), Empty, { timeout: this.opts.tickTime })
      .then(
        () => this.run(() => this.core.probed('answered', Date.now())),
        (err: unknown) => this.run(() => this.core.probed(err instanceof RequestError && err.isNoResponders() ? 'nobody' : 'timeout', Date.now())),
      )
      .finally(() => (this.probing = false));
  }

  /** Reports how far the parts of a long sync have arrived: in the log, and to the leader (its window). */
  private progress(m: ToLearner): void {
    if (m.t === 'sync') {
      this.partsProgress?.end();
      this.partsProgress = undefined;
      this.partsBytes = 0;
      this.partsConfirmed = 0;
    }
    if (m.t !== 'syncpart' || m.epoch !== this.core.epoch) return;
    if (this.partsBytes === 0 && m.bytes >= PROGRESS_MIN_BYTES) {
      // A snapshot's parts carry no total (bytes 0): its progress is the receiver's, in znodes decoded.
      this.partsProgress = startProgress({ label: 'receiving transactions from leader', total: m.bytes, unit: 'bytes', logger: this.log });
    }
    this.partsBytes += (m.snapshot?.length ?? 0) + m.txns.reduce((sum, [, payload]) => sum + payload.byteLength, 0);
    this.partsProgress?.update(this.partsBytes);
    if (this.partsBytes - this.partsConfirmed >= SYNC_RECEIVED_EVERY_BYTES) {
      this.partsConfirmed = this.partsBytes;
      this.toLeader({ t: 'received', from: this.opts.id, attempt: m.attempt, bytes: this.partsBytes } satisfies SyncReceived);
    }
  }

  /** Brings log and tree to the leader's, durably, then serves clients from them. */
  private async install(m: Extract<ToLearner, { t: 'sync' }>): Promise<void> {
    const { store } = this;
    try {
      if (m.mode === 'trunc') await store.truncateAfter(m.truncTo);
      else if (m.mode === 'snap') {
        const receiving = (this.receiving ??= store.receiveSnapshot(() => !this.stopped));
        if (m.snapshot) receiving.add(m.snapshot);
        await receiving.install(m.snapZxid);
        // Installed: its decoder's last part and loading state need not outlive it.
        this.receiving = undefined;
      }
      const fresh = m.txns.filter(([zxid]) => zxid > store.lastLogged);
      store.append(fresh);
      await store.log.flush();
      if (this.stopped) return;
      this.log.info({ mode: m.mode, txns: fresh.length, lastZxid: hexZxid(store.lastLogged) }, 'synchronized with leader');
    } catch (err) {
      if (this.stopped) return this.log.info({ reason: String(err) }, 'sync given up: the role ended');
      this.log.error({ err }, 'sync failed');
      return this.run(() => this.core.leave('sync failed'));
    }
    this.events.synced?.(m.mode);
    this.serve();
    this.run(() => this.core.installed(store.lastLogged, Date.now()));
  }

  /** Takes client traffic from the gateways and forwards writes to the leader, with numbered batches. */
  private serve(): void {
    const heartbeatMs = Math.max(20, Math.floor(this.opts.tickTime / 2));
    const numbers = new BatchNumbers(heartbeatMs);
    // A stint follows one leader: the one that synchronized us.
    const leader = this.core.leader;
    if (leader === undefined) throw new Error('serving before a leader synchronized us');
    const to = this.subj.leaderIn(leader, this.opts.id);
    this.served = serveReplica(this.opts, this.store.tree, this.nc, this.log, (entries) => {
      // Forwarded writes came over the bus from a gateway, so each fits a message; a turn's worth may not.
      for (const part of splitForPayload(this.nc, entries, undefined, true).parts) {
        const batch: ForwardBatch = [this.opts.id, numbers.next('leader'), part];
        this.nc.publish(to, pack(batch));
      }
    }, () => this.store.lastLogged);
    // After forwarding, the leader hears our last batch number: lost writes show within a heartbeat.
    this.timers.push(
      setInterval(
        () => {
          for (const [, seq] of numbers.heartbeats()) this.nc.publish(to, pack([this.opts.id, seq, []] satisfies ForwardBatch));
        },
        heartbeatMs,
      ),
    );
  }

  /** Group commit on the learner: one fdatasync for what arrived meanwhile, then the core acks it. */
  private flush(): void {
    if (this.flushing) {
      this.flushAgain = true;
      return;
    }
    this.flushing = true;
    const started = performance.now();
    this.store.log.flush().then(
      () => {
        this.flushing = false;
        this.events.metrics?.fsync(performance.now() - started, 0);
        // With the turn's other publishes: one socket write for all of them.
        atTurnEnd(() => !this.stopped && this.run(() => this.core.durable(this.store.log.durableZxid)));
        if (this.flushAgain) {
          this.flushAgain = false;
          this.flush();
        }
      },
      (err) => {
        this.log.error({ err }, 'transaction log failed');
        this.run(() => this.core.leave('transaction log failed'));
      },
    );
  }

  /** Applies every logged transaction up to the commit point, in order. */
  private apply(commit: number): void {
    const { tree } = this.store;
    if (commit > tree.lastZxid) {
      // The core commits only after `installed`, which follows serve().
      const { replica } = this.served!;
      for (const [zxid, payload] of this.store.history.after(tree.lastZxid)) {
        if (zxid > commit) break;
        const { hdr, txn } = decodeTxn(payload);
        replica.committed(hdr, txn);
        this.store.applied();
      }
    }
    // Also when the tree had it already: a restart replays the log, committed or not, into the tree.
    this.store.noteCommitted(commit);
  }

  admin(ask: AdminAsk): Record<string, unknown> {
    return adminInfo(ask, {
      opts: this.opts,
      serverState: this.opts.voter ? 'follower' : 'observer',
      tree: this.store.tree,
      replica: this.served?.replica,
      sessions: 0,
      outstanding: 0,
      epoch: this.core.epoch,
    });
  }
}
