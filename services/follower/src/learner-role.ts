import { randomInt } from 'node:crypto';
import { BatchNumbers, pack, subjects, type ForwardBatch, type AdminAsk, type Broadcast, type ToLeader, type ToLearner } from '@zooid/protocol';
import { decodeTxn } from '@zooid/tree';
import type { Replica } from '@zooid/replica';
import { BroadcastStream, hexZxid } from '@zooid/zab';
import { PROGRESS_MIN_BYTES, adminInfo, serveReplica, type MemberStore, type RoleMetrics, type RoleOptions, type ServedReplica } from '@zooid/leader';
import { Empty, RequestError, atTurnEnd, dropImpostor, listen, splitForPayload, startProgress, testDrop, type Logger, type NatsConnection, type Progress } from '@zooid/runtime';

export type LearnerPhase = 'discovery' | 'synchronization' | 'broadcast';

export interface LearnerEvents {
  phase: (p: LearnerPhase, epoch: number) => void;
  /** The leader is gone or refused us: look for another. */
  lost: (reason: string) => void;
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
 * routes — longer when other servers are down too, and it has to try them
 * first; that is not a dead leader. A dead process stays unanswered, and is
 * still noticed well within syncLimit.
 */
const LEADER_GONE_MS = 1000;

/**
 * A learner (follower or observer) over the bus: the handshake with the
 * leader (info → newepoch → ackepoch → sync → acknl → uptodate), then the
 * broadcast stream: proposals are logged and acked after fdatasync (voters
 * only), commits are applied to the replica that serves clients. A gap in
 * the stream is filled by asking the leader to resend the missing part; a
 * gap it cannot fill, or a silent leader, ends the role (the member looks
 * again, and resyncs).
 */
export class LearnerRole {
  private readonly subj;
  private readonly attempt = randomInt(1, 2 ** 31);
  private phase: LearnerPhase = 'discovery';
  private epoch = 0;
  private stream?: BroadcastStream;
  private buffered: [Broadcast, string][] = [];
  private replica?: Replica;
  private served?: ServedReplica;
  private lastHeard = Date.now();
  private flushing = false;
  private flushAgain = false;
  private readonly subs: { unsubscribe(): void }[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private stopped = false;
  private syncing = false;
  private probing = false;
  /** Since when the leader's liveness probe has found nobody answering, if it has. */
  private unansweredSince?: number;
  private leaderId?: string;
  /** Test-only: drop every Nth broadcast, as a lossy bus would (ZOOID_TEST_DROP_BROADCAST_EVERY). */
  private readonly dropBroadcast = testDrop('BROADCAST');
  private parts: Extract<ToLearner, { t: 'syncpart' }>[] = [];
  /** How far the parts of a long sync have arrived, for its progress report. */
  private partsBytes = 0;
  private partsProgress?: Progress;

  constructor(
    private readonly opts: RoleOptions & { voter: boolean; leader?: string },
    private readonly store: MemberStore,
    private readonly nc: NatsConnection,
    private readonly log: Logger,
    private readonly events: LearnerEvents,
  ) {
    this.subj = subjects(opts.cluster);
  }

  start(): void {
    this.subs.push(
      listen<ToLearner>(this.nc, this.subj.zabLearnerAll(this.opts.id), this.log, (m, sender, subject) => {
        // Only the leader we are synchronizing with speaks to us; a newepoch names its sender.
        const from = m.t === 'newepoch' ? m.leader : this.leaderId;
        if (sender !== from) return dropImpostor(this.log, subject, { claimed: from ?? 'no leader yet' });
        void this.fromLeader(m);
      }),
      listen<Broadcast>(this.nc, this.subj.zabBroadcastAll, this.log, (b, sender) => {
        if (!this.dropBroadcast()) this.onBroadcast(b, sender);
      }),
    );
    const started = Date.now();
    this.sendInfo();
    this.timers.push(
      setInterval(() => {
        const now = Date.now();
        // A resend asked for may itself be lost: ask again, or resync in the end.
        if (this.stream) this.askResend(now);
        if (this.stopped) return;
        if (this.phase === 'broadcast') {
          if (now - this.lastHeard > this.opts.syncLimit * this.opts.tickTime) this.end('leader silent for syncLimit');
          else this.probeLeader();
          return;
        }
        if (now - started > this.opts.initLimit * this.opts.tickTime) return this.end('no leader synchronized us within initLimit');
        // At-most-once delivery: repeat the handshake step we are waiting on.
        if (this.phase === 'discovery' && this.epoch === 0) this.sendInfo();
      }, RETRY_MS),
    );
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    for (const s of this.subs) s.unsubscribe();
    this.served?.stop('learner stopped serving');
    this.partsProgress?.end();
  }

  get sessionCount(): number {
    return this.replica?.sessionCount ?? 0;
  }

  get currentEpoch(): number {
    return this.epoch;
  }

  get serving(): boolean {
    return this.phase === 'broadcast' && !this.stopped;
  }

  /**
   * A dead leader is noticed within about a second, not after syncLimit: its
   * liveness subject has no responder left. A frozen one still has its
   * subscription and is caught by the silence timeout instead.
   */
  private probeLeader(): void {
    if (this.probing || this.leaderId === undefined) return;
    this.probing = true;
    this.nc
      .request(this.subj.zabAlive(this.leaderId, this.epoch), Empty, { timeout: this.opts.tickTime })
      .then(
        () => (this.unansweredSince = undefined),
        (err: unknown) => {
          if (!(err instanceof RequestError && err.isNoResponders())) return;
          const now = Date.now();
          this.unansweredSince ??= now;
          if (now - this.unansweredSince >= Math.max(LEADER_GONE_MS, this.opts.tickTime)) this.end('leader is gone: nobody answers for it on the bus');
        },
      )
      .finally(() => (this.probing = false));
  }

  private end(reason: string): void {
    if (this.stopped) return;
    this.log.warn({ reason, epoch: this.epoch }, 'leaving the leader');
    this.stop();
    this.events.lost(reason);
  }

  private toLeader(m: ToLeader): void {
    this.nc.publish(this.subj.zabLeader(this.opts.id), pack(m));
  }

  private sendInfo(): void {
    this.toLeader({
      t: 'info',
      from: this.opts.id,
      attempt: this.attempt,
      voter: this.opts.voter,
      acceptedEpoch: this.store.epochs.readAccepted(),
      currentEpoch: this.store.epochs.readCurrent(),
      lastZxid: this.store.lastLogged,
    });
  }

  private async fromLeader(m: ToLearner): Promise<void> {
    if (this.stopped || m.attempt !== this.attempt) return;
    switch (m.t) {
      case 'newepoch': {
        // An old leader (frozen, not yet stepped down) may still answer: ignore it.
        if (m.epoch < this.store.epochs.readAccepted() || (this.opts.leader !== undefined && m.leader !== this.opts.leader)) return;
        if (this.epoch === 0) {
          this.epoch = m.epoch;
          this.leaderId = m.leader;
          this.store.epochs.writeAccepted(m.epoch);
          this.phase = 'synchronization';
          this.events.phase('synchronization', m.epoch);
        }
        this.toLeader({ t: 'ackepoch', from: this.opts.id, attempt: this.attempt, epoch: m.epoch, currentEpoch: this.store.epochs.readCurrent(), lastZxid: this.store.lastLogged });
        return;
      }
      case 'syncpart':
        if (m.epoch !== this.epoch || this.syncing || this.stream) return;
        if (this.parts.length === 0 && m.bytes >= PROGRESS_MIN_BYTES) {
          this.partsProgress = startProgress({ label: m.snapshot ? 'receiving snapshot from leader' : 'receiving transactions from leader', total: m.bytes, unit: 'bytes', logger: this.log });
          this.partsBytes = 0;
        }
        this.parts.push(m);
        this.partsBytes += (m.snapshot?.length ?? 0) + m.txns.reduce((sum, [, payload]) => sum + payload.byteLength, 0);
        this.partsProgress?.update(this.partsBytes);
        return;
      case 'sync':
        if (m.epoch !== this.epoch || this.syncing || this.stream) return;
        if (this.parts.length !== m.parts) return this.end(`lost sync parts: ${this.parts.length} of ${m.parts} arrived`);
        this.syncing = true;
        try {
          await this.sync(this.assemble(m));
        } catch (err) {
          this.log.error({ err }, 'sync failed');
          return this.end('sync failed');
        }
        return;
      case 'uptodate':
        if (m.epoch !== this.epoch || this.phase === 'broadcast' || !this.stream) return;
        this.phase = 'broadcast';
        this.lastHeard = Date.now();
        this.log.info({ epoch: this.epoch, zxid: hexZxid(this.store.tree.lastZxid) }, this.opts.voter ? 'following' : 'observing');
        this.events.phase('broadcast', this.epoch);
        return;
      case 'goaway':
        return this.end(`leader refused: ${m.reason}`);
      case 'resent':
        if (m.epoch !== this.epoch || !this.stream) return;
        for (const b of m.broadcasts) if (!this.stopped) this.receive(b);
        // Once for the whole run: what is still missing after all of it.
        if (!this.stopped) this.askResend(Date.now());
        return;
      case 'noresend':
        if (m.epoch !== this.epoch) return;
        return this.end(`the leader no longer keeps the broadcasts from seq ${m.fromSeq}`);
    }
  }

  /** The sync with its parts put back: the snapshot slices joined, the transactions in order. */
  private assemble(m: Extract<ToLearner, { t: 'sync' }>): Extract<ToLearner, { t: 'sync' }> {
    const parts = this.parts;
    this.parts = [];
    this.partsProgress?.end();
    this.partsProgress = undefined;
    if (parts.length === 0) return m;
    const slices = parts.flatMap((p) => (p.snapshot ? [p.snapshot] : []));
    return {
      ...m,
      snapshot: slices.length > 0 ? Buffer.concat(slices) : m.snapshot,
      txns: [...parts.flatMap((p) => p.txns), ...m.txns],
    };
  }

  private async sync(m: Extract<ToLearner, { t: 'sync' }>): Promise<void> {
    const { store } = this;
    if (m.mode === 'trunc') await store.truncateAfter(m.truncTo);
    else if (m.mode === 'snap') await store.installSnapshot(m.snapZxid, m.snapshot!);
    const fresh = m.txns.filter(([zxid]) => zxid > store.lastLogged);
    store.append(fresh);
    await store.log.flush();
    this.log.info({ mode: m.mode, txns: fresh.length, lastZxid: hexZxid(store.lastLogged) }, 'synchronized with leader');
    this.events.synced?.(m.mode);
    const heartbeatMs = Math.max(20, Math.floor(this.opts.tickTime / 2));
    const numbers = new BatchNumbers(heartbeatMs);
    this.served = serveReplica(this.opts, store.tree, this.nc, this.log, (entries) => {
      // Forwarded writes came over the bus from a gateway, so each fits a message; a turn's worth may not.
      for (const part of splitForPayload(this.nc, entries, undefined, true).parts) {
        const batch: ForwardBatch = [this.opts.id, numbers.next('leader'), part];
        this.nc.publish(this.subj.leaderIn(this.opts.id), pack(batch));
      }
    }, () => store.lastLogged);
    // After forwarding, the leader hears our last batch number: lost writes show within a heartbeat.
    this.timers.push(
      setInterval(
        () => {
          for (const [, seq] of numbers.heartbeats()) this.nc.publish(this.subj.leaderIn(this.opts.id), pack([this.opts.id, seq, []] satisfies ForwardBatch));
        },
        heartbeatMs,
      ),
    );
    this.replica = this.served.replica;
    this.apply(m.committed);
    store.epochs.writeCurrent(m.epoch);
    this.stream = new BroadcastStream(m.epoch, m.seq, { retryMs: this.opts.tickTime, giveUpMs: this.opts.syncLimit * this.opts.tickTime });
    const early = this.buffered;
    this.buffered = [];
    for (const [b, sender] of early) this.onBroadcast(b, sender);
    this.toLeader({ t: 'acknl', from: this.opts.id, attempt: this.attempt, epoch: m.epoch });
    // Until uptodate arrives, repeat the ack: it may have been lost.
    const again = setInterval(() => {
      if (this.stopped || this.phase === 'broadcast') return clearInterval(again);
      this.toLeader({ t: 'acknl', from: this.opts.id, attempt: this.attempt, epoch: m.epoch });
    }, RETRY_MS);
    this.timers.push(again);
  }

  private onBroadcast(b: Broadcast, sender: string): void {
    if (this.stopped) return;
    // Learners follow one leader: another member's broadcast (an old leader not yet stepped down, or a forgery) is not ours.
    const leader = this.leaderId ?? this.opts.leader;
    if (leader !== undefined && sender !== leader) return;
    if (!this.stream) {
      if (this.epoch === 0 || b.epoch === this.epoch) this.buffered.push([b, sender]);
      return;
    }
    this.receive(b);
    if (!this.stopped) this.askResend(Date.now());
  }

  /** A broadcast of our epoch, from the stream or resent: handed on strictly in sequence. */
  private receive(b: Broadcast): void {
    const now = Date.now();
    const r = this.stream!.receive(b, now);
    if (r.verdict === 'stale') return;
    if (r.verdict === 'newer') return this.end(`the leader moved on to epoch ${b.epoch}`);
    if (r.verdict === 'overflow') return this.end(`too much waiting behind a gap in the broadcast stream at seq ${this.stream!.next}`);
    this.lastHeard = now;
    this.unansweredSince = undefined;
    for (const next of r.ready) {
      this.deliver(next);
      if (this.stopped) return;
    }
  }

  /** Asks the leader for the broadcasts missing before those waiting, or resyncs when it has not sent them in time. */
  private askResend(now: number): void {
    const step = this.stream!.poll(now);
    if (step === undefined) return;
    if (step === 'give-up') return this.end(`the broadcasts from seq ${this.stream!.next} did not come within syncLimit`);
    this.log.info({ epoch: this.epoch, ...step.ask }, 'missed broadcasts; asking the leader to resend them');
    this.toLeader({ t: 'resend', from: this.opts.id, attempt: this.attempt, epoch: this.epoch, ...step.ask });
  }

  private deliver(b: Broadcast): void {
    if (b.proposals.length > 0) {
      const fresh = b.proposals.filter(([zxid]) => zxid > this.store.lastLogged);
      this.store.append(fresh);
      this.flush();
    } else if (this.opts.voter && this.phase === 'broadcast') {
      // Heartbeat: answer with what is on disk, which also repairs a lost ack.
      this.toLeader({ t: 'ack', from: this.opts.id, epoch: this.epoch, zxid: this.store.log.durableZxid });
    }
    this.apply(b.commit);
    for (const [learner, sessionId, cxid, path] of b.syncs) if (learner === this.opts.id) this.replica!.synced(sessionId, cxid, path);
  }

  /** Group commit on the learner: one fdatasync for what arrived meanwhile, then one cumulative ack. */
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
        if (this.opts.voter) atTurnEnd(() => !this.stopped && this.toLeader({ t: 'ack', from: this.opts.id, epoch: this.epoch, zxid: this.store.log.durableZxid }));
        if (this.flushAgain) {
          this.flushAgain = false;
          this.flush();
        }
      },
      (err) => {
        this.log.error({ err }, 'transaction log failed');
        this.end('transaction log failed');
      },
    );
  }

  /** Applies every logged transaction up to the commit point, in order. */
  private apply(commit: number): void {
    const { tree } = this.store;
    if (commit <= tree.lastZxid) return;
    for (const [zxid, payload] of this.store.history.after(tree.lastZxid)) {
      if (zxid > commit) break;
      const { hdr, txn } = decodeTxn(payload);
      this.replica!.committed(hdr, txn);
      this.store.applied();
    }
  }

  admin(ask: AdminAsk): Record<string, unknown> {
    return adminInfo(ask, {
      opts: this.opts,
      serverState: this.opts.voter ? 'follower' : 'observer',
      tree: this.store.tree,
      replica: this.replica,
      sessions: 0,
      outstanding: 0,
      epoch: this.epoch,
    });
  }
}
