import type { Broadcast, ToLeader, ToLearner } from '@zooid/protocol';
import { assert } from '../assert.js';
import { BroadcastStream, DEFAULT_STREAM_LIMITS, type StreamLimits } from '../stream.js';
import type { DurableState, Effects, ZabPhase, ZabTiming } from './effects.js';
import { checkAppend, checkTransition, type EpochLeaders, type Facts } from './invariants.js';

export interface LearnerConfig extends ZabTiming {
  id: string;
  /** A follower votes and acks; an observer does neither. */
  voter: boolean;
  /** The leader the election chose; absent for an observer, which follows whoever leads. */
  leader?: string;
  /** Ties this stint's handshake together, so stale answers are dropped; random, from the host. */
  attempt: number;
  /**
   * How long the leader's liveness probe may find nobody answering before
   * the leader counts as gone (a leader moving to another bus server is
   * unreachable for a moment; that is not a dead leader).
   */
  leaderGoneMs: number;
  streamLimits?: StreamLimits;
  /** The leaders this member has seen per epoch, kept across stints by the host. */
  epochLeaders?: EpochLeaders;
}

type Sync = Extract<ToLearner, { t: 'sync' }>;
type SyncPart = Extract<ToLearner, { t: 'syncpart' }>;

/** Synced with the leader's epoch: broadcasts are taken in sequence. */
interface Streaming {
  epoch: number;
  leader: string;
  stream: BroadcastStream;
  /** The last zxid on disk, which is what an ack says. */
  durable: number;
}

type LearnerState =
  | { phase: 'discovery'; buffered: Broadcast[] }
  | { phase: 'synchronization'; epoch: number; leader: string; parts: SyncPart[]; buffered: Broadcast[]; installing?: Sync }
  /** Synced and acked (acknl), waiting for the leader's uptodate. */
  | (Streaming & { phase: 'synced' })
  | (Streaming & { phase: 'broadcast'; lastHeard: number; unansweredSince?: number })
  | { phase: 'ended'; reason: string };

/**
 * A Zab learner (follower or observer) as a deterministic state machine: the
 * handshake (info → newepoch → ackepoch → sync → acknl → uptodate), then the
 * broadcast stream — proposals logged and acked once durable (voters only),
 * commits applied, a gap filled by a resend or ended by a resync, a silent
 * or vanished leader left. Messages, host reports and ticks in; effects out.
 */
export class LearnerCore {
  private state: LearnerState = { phase: 'discovery', buffered: [] };
  private acceptedEpoch: number;
  private acceptedLeader: string | undefined;
  private currentEpoch: number;
  private lastLogged: number;
  private committed = 0;
  /** When the handshake last moved (see `handshakeAt`). */
  private progressAt = 0;

  constructor(
    private readonly config: LearnerConfig,
    durable: DurableState,
  ) {
    this.acceptedEpoch = durable.acceptedEpoch;
    this.acceptedLeader = durable.acceptedLeader;
    this.currentEpoch = durable.currentEpoch;
    this.lastLogged = durable.lastLogged;
  }

  get phase(): ZabPhase | 'ended' {
    const p = this.state.phase;
    return p === 'synced' ? 'synchronization' : p;
  }

  /** The leader's epoch once it announced one; 0 before. */
  get epoch(): number {
    const s = this.state;
    return s.phase === 'discovery' || s.phase === 'ended' ? 0 : s.epoch;
  }

  /** The leader we are synchronizing with or following, once it announced itself. */
  get leader(): string | undefined {
    const s = this.state;
    return s.phase === 'discovery' || s.phase === 'ended' ? undefined : s.leader;
  }

  /**
   * Whose messages this learner takes (besides a `newepoch`, which names
   * its sender): its leader once announced, and before that the leader it
   * was elected to follow — whose `goaway` must reach it in discovery too.
   */
  get speaker(): string | undefined {
    return this.state.phase === 'discovery' ? this.config.leader : this.leader;
  }

  get ended(): boolean {
    return this.state.phase === 'ended';
  }

  get serving(): boolean {
    return this.state.phase === 'broadcast';
  }

  /**
   * Before broadcast, when the handshake last moved: it started, a sync part
   * or the sync arrived, our install finished — or now, while we install,
   * which is our own work and not the leader's silence. The lifecycle
   * machine's initLimit bounds the silence between such steps, as
   * ZooKeeper's learner socket timeout does, not the whole sync: a snapshot
   * of a large tree takes longer than that to send and install.
   */
  handshakeAt(now: number): number | undefined {
    const s = this.state;
    if (s.phase === 'broadcast' || s.phase === 'ended') return undefined;
    return s.phase === 'synchronization' && s.installing ? now : this.progressAt;
  }

  /** Introduces us to the leader. */
  start(now: number): Effects {
    this.progressAt = now;
    return [this.info()];
  }

  /** A message from the leader on our own subject (its sender checked by the host against `leader`). */
  step(m: ToLearner, now: number): Effects {
    const s = this.state;
    if (s.phase === 'ended' || m.attempt !== this.config.attempt) return [];
    switch (m.t) {
      case 'newepoch':
        return this.onNewEpoch(m, now);
      case 'syncpart':
        if (s.phase !== 'synchronization' || s.installing || m.epoch !== s.epoch) return [];
        this.progressAt = now;
        if (m.snapshot === null) {
          s.parts.push(m);
          return [];
        }
        // Counted here, kept by the host: a large snapshot is decoded as it arrives, never held whole.
        s.parts.push({ ...m, snapshot: null });
        return [{ type: 'snapshotPart', part: m.snapshot }];
      case 'sync': {
        if (s.phase !== 'synchronization' || s.installing || m.epoch !== s.epoch) return [];
        this.progressAt = now;
        if (s.parts.length !== m.parts) return this.end(`lost sync parts: ${s.parts.length} of ${m.parts} arrived`);
        s.installing = assemble(m, s.parts);
        s.parts = [];
        return [{ type: 'install', sync: s.installing }];
      }
      case 'uptodate': {
        if (s.phase !== 'synced' || m.epoch !== s.epoch) return [];
        this.config.epochLeaders?.note(s.epoch, s.leader);
        this.state = { ...s, phase: 'broadcast', lastHeard: now };
        // What the stream has not brought yet is committed by a later broadcast.
        const fx = this.commit(Math.min(m.committed, this.lastLogged));
        fx.push({ type: 'phase', phase: 'broadcast', epoch: s.epoch });
        return fx;
      }
      case 'goaway':
        return this.end(`the leader sent us away: ${m.reason}`);
      case 'resent': {
        if ((s.phase !== 'synced' && s.phase !== 'broadcast') || m.epoch !== s.epoch) return [];
        const fx: Effects = [];
        for (const b of m.broadcasts) {
          fx.push(...this.receive(b, now));
          if (this.ended) return fx;
        }
        // Once for the whole run: what is still missing after all of it.
        return fx.concat(this.askResend(now));
      }
      case 'noresend':
        if (m.epoch !== this.epoch) return [];
        return this.end(`the leader no longer keeps the broadcasts from seq ${m.fromSeq}`);
    }
  }

  /** A broadcast on the shared subject, from `sender` (the subject's last token). */
  broadcast(b: Broadcast, sender: string, now: number): Effects {
    const s = this.state;
    if (s.phase === 'ended') return [];
    // Learners follow one leader: another member's broadcast (an old leader not yet stepped down, or a forgery) is not ours.
    const leader = this.leader ?? this.config.leader;
    if (leader !== undefined && sender !== leader) return [];
    if (s.phase === 'discovery' || s.phase === 'synchronization') {
      if (s.phase === 'discovery' || b.epoch === s.epoch) s.buffered.push(b);
      return [];
    }
    return this.receive(b, now).concat(this.ended ? [] : this.askResend(now));
  }

  /**
   * The host executed `install`: the log holds the leader's history up to
   * `lastLogged`, on disk. Only what the sync says is committed is applied;
   * the rest waits for uptodate or a broadcast's commit.
   */
  installed(lastLogged: number, now: number): Effects {
    const s = this.state;
    if (s.phase !== 'synchronization' || !s.installing) return [];
    this.progressAt = now;
    const m = s.installing;
    const before = this.facts();
    this.lastLogged = lastLogged;
    const streaming: Streaming & { phase: 'synced' } = {
      phase: 'synced',
      epoch: m.epoch,
      leader: s.leader,
      stream: new BroadcastStream(m.epoch, m.seq, { retryMs: this.config.tickTime, giveUpMs: this.config.syncLimit * this.config.tickTime }, this.config.streamLimits ?? DEFAULT_STREAM_LIMITS),
      durable: lastLogged,
    };
    this.state = streaming;
    const fx = this.commit(m.committed);
    this.currentEpoch = m.epoch;
    checkTransition(before, this.facts(), 'synchronization → synced');
    fx.push({ type: 'persistEpoch', kind: 'current', epoch: m.epoch });
    for (const b of s.buffered) {
      if (this.ended) return fx;
      fx.push(...this.receive(b, now));
    }
    if (this.ended) return fx;
    fx.push(this.acknl(m.epoch));
    return fx;
  }

  /** The host fsynced the log up to zxid (after a `log` effect): a voter acks it. */
  durable(zxid: number): Effects {
    const s = this.state;
    if (s.phase !== 'synced' && s.phase !== 'broadcast') return [];
    assert(zxid <= this.lastLogged, `durable ${zxid} beyond the last logged ${this.lastLogged}`);
    s.durable = Math.max(s.durable, zxid);
    return this.config.voter ? [{ type: 'toLeader', msg: { t: 'ack', from: this.config.id, epoch: s.epoch, zxid: s.durable } }] : [];
  }

  /** What the liveness probe found: the leader answered, nobody did, or the ask timed out (says nothing). */
  probed(result: 'answered' | 'nobody' | 'timeout', now: number): Effects {
    const s = this.state;
    if (s.phase !== 'broadcast' || result === 'timeout') return [];
    if (result === 'answered') {
      s.unansweredSince = undefined;
      return [];
    }
    s.unansweredSince ??= now;
    if (now - s.unansweredSince >= Math.max(this.config.leaderGoneMs, this.config.tickTime)) return this.end('leader is gone: nobody answers for it on the bus');
    return [];
  }

  /**
   * Time passes: handshake retries before broadcast; resend asks and the
   * liveness probe after. How long the handshake may take and how long the
   * leader may stay silent are the lifecycle machine's timers
   * (zabRoleMachine), fed by `lastHeard`.
   */
  tick(now: number): Effects {
    const s = this.state;
    if (s.phase === 'ended') return [];
    if (s.phase === 'broadcast') {
      const fx = this.askResend(now);
      if (this.ended) return fx;
      return fx.concat([{ type: 'probeLeader', leader: s.leader, epoch: s.epoch }]);
    }
    const fx = s.phase === 'synced' ? this.askResend(now) : [];
    if (this.ended) return fx;
    // At-most-once delivery: repeat the handshake step we are waiting on.
    if (s.phase === 'discovery') fx.push(this.info());
    if (s.phase === 'synced') fx.push(this.acknl(s.epoch));
    return fx;
  }

  /** While broadcasting, when the leader was last heard. */
  get lastHeard(): number | undefined {
    const s = this.state;
    return s.phase === 'broadcast' ? s.lastHeard : undefined;
  }

  /** The host cannot go on (its log or a sync failed): the role ends. */
  leave(reason: string): Effects {
    return this.ended ? [] : this.end(reason);
  }

  private onNewEpoch(m: Extract<ToLearner, { t: 'newepoch' }>, now: number): Effects {
    if (this.config.leader !== undefined && m.leader !== this.config.leader) return [];
    // Zab accepts an epoch once, from one leader: a higher one, or the same one from the leader it was
    // accepted from (an old leader not yet stepped down is below it). Two would-be leaders can pick the
    // same epoch from overlapping quorums; acking both would let both establish it. A leader that is
    // already established is the only one that ever will be in its epoch: following it is safe.
    const accepts = m.epoch > this.acceptedEpoch || (m.epoch === this.acceptedEpoch && (m.leader === this.acceptedLeader || m.established));
    if (!accepts) return [];
    const s = this.state;
    const fx: Effects = [];
    if (s.phase === 'discovery') {
      const before = this.facts();
      this.acceptedEpoch = m.epoch;
      this.acceptedLeader = m.leader;
      this.state = { phase: 'synchronization', epoch: m.epoch, leader: m.leader, parts: [], buffered: s.buffered };
      this.progressAt = now;
      checkTransition(before, this.facts(), 'discovery → synchronization');
      fx.push({ type: 'persistEpoch', kind: 'accepted', epoch: m.epoch, leader: m.leader }, { type: 'phase', phase: 'synchronization', epoch: m.epoch });
    } else if (m.epoch !== this.epoch || m.leader !== this.leader) {
      return [];
    }
    fx.push({ type: 'toLeader', msg: { t: 'ackepoch', from: this.config.id, attempt: this.config.attempt, epoch: m.epoch, currentEpoch: this.currentEpoch, lastZxid: this.lastLogged } });
    return fx;
  }

  /** A broadcast of our epoch, from the stream or resent: handed on strictly in sequence. */
  private receive(b: Broadcast, now: number): Effects {
    const s = this.state;
    if (s.phase !== 'synced' && s.phase !== 'broadcast') return [];
    const r = s.stream.receive(b, now);
    if (r.verdict === 'stale') return [];
    if (r.verdict === 'newer') return this.end(`the leader moved on to epoch ${b.epoch}`);
    if (r.verdict === 'overflow') return this.end(`too much waiting behind a gap in the broadcast stream at seq ${s.stream.next}`);
    if (s.phase === 'broadcast') {
      s.lastHeard = now;
      s.unansweredSince = undefined;
    }
    const fx: Effects = [];
    for (const next of r.ready) fx.push(...this.deliver(s, next));
    return fx;
  }

  private deliver(s: Streaming & { phase: 'synced' | 'broadcast' }, b: Broadcast): Effects {
    const fx: Effects = [];
    const fresh = b.proposals.filter(([zxid]) => zxid > this.lastLogged);
    if (fresh.length > 0) {
      this.lastLogged = checkAppend(this.lastLogged, fresh.map(([zxid]) => zxid), 'learner log');
      fx.push({ type: 'log', entries: fresh });
    } else if (b.proposals.length === 0 && this.config.voter && s.phase === 'broadcast') {
      // Heartbeat: answer with what is on disk, which also repairs a lost ack.
      fx.push({ type: 'toLeader', msg: { t: 'ack', from: this.config.id, epoch: s.epoch, zxid: s.durable } });
    }
    fx.push(...this.commit(b.commit));
    for (const [learner, sessionId, cxid, path] of b.syncs) if (learner === this.config.id) fx.push({ type: 'answerSync', sessionId, cxid, path });
    return fx;
  }

  private commit(zxid: number): Effects {
    if (zxid <= this.committed) return [];
    const before = this.facts();
    this.committed = zxid;
    checkTransition(before, this.facts(), 'commit');
    return [{ type: 'commit', zxid }];
  }

  /** Asks the leader for the broadcasts missing before those waiting, or resyncs when it has not sent them in time. */
  private askResend(now: number): Effects {
    const s = this.state;
    if (s.phase !== 'synced' && s.phase !== 'broadcast') return [];
    const step = s.stream.poll(now);
    if (step === undefined) return [];
    if (step === 'give-up') return this.end(`the broadcasts from seq ${s.stream.next} did not come within syncLimit`);
    return [{ type: 'toLeader', msg: { t: 'resend', from: this.config.id, attempt: this.config.attempt, epoch: s.epoch, ...step.ask } }];
  }

  private info(): Effects[number] {
    const msg: ToLeader = {
      t: 'info',
      from: this.config.id,
      attempt: this.config.attempt,
      voter: this.config.voter,
      acceptedEpoch: this.acceptedEpoch,
      currentEpoch: this.currentEpoch,
      lastZxid: this.lastLogged,
    };
    return { type: 'toLeader', msg };
  }

  private acknl(epoch: number): Effects[number] {
    return { type: 'toLeader', msg: { t: 'acknl', from: this.config.id, attempt: this.config.attempt, epoch } };
  }

  private end(reason: string): Effects {
    this.state = { phase: 'ended', reason };
    return [{ type: 'end', reason }];
  }

  private facts(): Facts {
    return { acceptedEpoch: this.acceptedEpoch, currentEpoch: this.currentEpoch, lastLogged: this.lastLogged, committed: this.committed };
  }
}

/** The sync with its parts' transactions put back in order (their snapshot bytes went to the host as they came). */
function assemble(m: Sync, parts: SyncPart[]): Sync {
  if (parts.length === 0) return m;
  return { ...m, txns: [...parts.flatMap((p) => p.txns), ...m.txns] };
}
