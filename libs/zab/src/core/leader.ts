import type { Broadcast, LogEntry, ToLeader, ToLearner } from '@zooid/protocol';
import { AckTracker, type PendingConfig } from '../acks.js';
import { assert } from '../assert.js';
import type { SyncPlan } from '../history.js';
import { epochOf, isQuorum } from '../quorum.js';
import { BroadcastWindow, DEFAULT_STREAM_LIMITS, broadcastBytes, type StreamLimits } from '../stream.js';
import type { DurableState, Effects, HistoryView, ZabPhase } from './effects.js';
import { checkAppend, checkQuorum, checkTransition, type EpochLeaders, type Facts } from './invariants.js';
import { splitBySize } from './split.js';

export interface LeaderConfig {
  /** ms; the heartbeat goes out every half tick. */
  tickTime: number;
  id: string;
  voters: readonly string[];
  /** Bytes of proposals one message may carry (the bus's max payload less an envelope): larger runs are split. */
  maxMessageBytes: number;
  streamLimits?: StreamLimits;
  /** The leaders this member has seen per epoch, kept across stints by the host. */
  epochLeaders?: EpochLeaders;
  /**
   * A configuration change in this leader's log that it has not seen
   * committed (its tree stops before it). Establishing the epoch commits the
   * whole history, the change with it, so discovery and synchronization need
   * a quorum of `voters` and one of these (ZooKeeper's last seen quorum
   * verifier); from broadcast on, these are the voters.
   */
  pendingConfig?: { zxid: number; voters: readonly string[] };
}

/** What the leader knows of one learner's handshake. */
interface LearnerEntry {
  attempt: number;
  /** Whether it said it is a follower (not an observer): a voter once the configuration lists it. */
  follower: boolean;
  voter: boolean;
  acceptedEpoch: number;
  stage: 'epoch' | 'sync' | 'uptodate';
}

/** A sync as the host gathered it: the snapshot for a SNAP, the log read back for a DIFF from further than memory. */
export interface PreparedSync {
  plan: SyncPlan;
  /** Entries after the plan's point, read from the log (empty when memory holds them all). */
  txns: LogEntry[];
  /** A SNAP's snapshot: its bytes, or null when the host sent them ahead of the sync as parts. */
  snapshot?: { zxid: number; bytes: Uint8Array | null };
}

/** State that exists only while broadcasting. */
interface Broadcasting {
  phase: 'broadcast';
  epoch: number;
  acks: AckTracker;
  /** Sequence number of the last broadcast. */
  seq: number;
  window: BroadcastWindow;
  /** Proposals and answered syncs for the next broadcast. */
  proposals: LogEntry[];
  syncs: Broadcast['syncs'];
  lastPublish: number;
  lastProposed: number;
  /** The commit point the last broadcast carried. */
  sentCommit: number;
  /** The last proposal broadcast: new ones wait until it is committed (see `due`). */
  lastSent: number;
}

type LeaderState =
  | { phase: 'discovery' }
  | { phase: 'synchronization'; epoch: number }
  | Broadcasting
  | { phase: 'ended'; reason: string };

/**
 * The Zab leader as a deterministic state machine: discovery (a new epoch
 * above every accepted epoch of a quorum), synchronization (DIFF, TRUNC or
 * SNAP per learner), broadcast (proposals, cumulative acks, commit on a
 * quorum). Messages, proposals and ticks in; effects out. No I/O, no clock.
 */
export class LeaderCore {
  private state: LeaderState = { phase: 'discovery' };
  private readonly learners = new Map<string, LearnerEntry>();
  private readonly synced = new Set<string>();
  /** When each learner last sent us anything (a follower acks every heartbeat). */
  private readonly heardFrom = new Map<string, number>();
  private acceptedEpoch: number;
  private currentEpoch: number;
  /** The committed voter set: the one this stint started with until a configuration change commits. */
  private currentVoters: readonly string[];

  constructor(
    private readonly config: LeaderConfig,
    durableState: DurableState,
    /** The leader's logged history, kept current by the host as it logs. */
    private readonly history: HistoryView,
  ) {
    // A voter the pending change adds may be elected (both quorums chose it): establishing commits that change.
    assert(config.voters.includes(config.id) || config.pendingConfig?.voters.includes(config.id) === true, 'a leader is a voter of the committed configuration or of the change it holds');
    this.currentVoters = [...config.voters];
    this.acceptedEpoch = durableState.acceptedEpoch;
    this.currentEpoch = durableState.currentEpoch;
  }

  get phase(): ZabPhase | 'ended' {
    return this.state.phase;
  }

  /** The epoch being established or led; 0 during discovery. */
  get epoch(): number {
    return this.state.phase === 'synchronization' || this.state.phase === 'broadcast' ? this.state.epoch : 0;
  }

  get serving(): boolean {
    return this.state.phase === 'broadcast';
  }

  /** The committed voter set. */
  get voters(): readonly string[] {
    return this.currentVoters;
  }

  /** The configuration change proposed and not yet committed, if any. */
  get pendingConfig(): PendingConfig | undefined {
    return this.state.phase === 'broadcast' ? this.state.acks.pending : undefined;
  }

  /**
   * The members that could ack a proposal now: this leader and the followers
   * it has brought up to date and heard from within `withinMs` (a follower
   * answers every heartbeat; one that died stays in the sync set until it
   * comes back, so silence is what tells). A reconfig is accepted only when
   * a quorum of its new voters is among them (NEWCONFIGNOQUORUM otherwise),
   * so the new quorum can ack at once. Observers never ack, so, as in
   * ZooKeeper's isQuorumSynced, they are not counted even when a change names
   * their id as a voter.
   */
  syncedLearners(now: number, withinMs: number): string[] {
    const live = [...this.synced].filter((id) => id !== this.config.id && this.learners.get(id)?.follower === true && now - (this.heardFrom.get(id) ?? -Infinity) <= withinMs);
    return [this.config.id, ...live];
  }

  /**
   * The ids whose latest handshake with this leader came from an observer
   * (`zooid observer`), which can never vote. An observer sends nothing
   * between handshakes, so silence does not tell whether it still runs: an
   * id stays here until a follower shakes hands as that id, or the leader changes.
   */
  get observers(): string[] {
    return [...this.learners].filter(([, l]) => !l.follower).map(([id]) => id);
  }

  /**
   * Whether proposals, a commit or answered syncs wait for `flush`. One
   * broadcast of proposals is in flight at a time: what is proposed while
   * the last broadcast's proposals are uncommitted waits for the commit that
   * frees it and goes out with it. Under load a batch then grows with the
   * round trip, where every turn's few writes cost each learner a message,
   * a log write and an ack; idle, nothing waits. The half-tick heartbeat
   * sends whatever waits regardless, so a silent quorum delays it no longer.
   */
  get due(): boolean {
    const s = this.state;
    if (s.phase !== 'broadcast') return false;
    // An answered sync already follows the writes before it: it need not wait.
    if (s.acks.commitPoint > s.sentCommit || s.syncs.length > 0) return true;
    return s.proposals.length > 0 && s.acks.commitPoint >= s.lastSent;
  }

  /** Begins discovery; the leader is its own first learner. */
  start(now: number): Effects {
    const fx: Effects = [{ type: 'phase', phase: 'discovery', epoch: 0 }];
    return fx.concat(
      this.step(
        {
          t: 'info',
          from: this.config.id,
          attempt: 0,
          voter: true,
          acceptedEpoch: this.acceptedEpoch,
          currentEpoch: this.currentEpoch,
          lastZxid: this.history.last,
        },
        now,
      ),
    );
  }

  /** A message from a learner (its sender already checked by the host). */
  step(m: ToLeader, now: number): Effects {
    if (this.state.phase === 'ended') return [];
    this.heardFrom.set(m.from, now);
    switch (m.t) {
      case 'info':
        return this.onInfo(m, now);
      case 'ackepoch':
        return this.onAckEpoch(m, now);
      case 'acknl':
        return this.onAckNewLeader(m, now);
      case 'ack': {
        const s = this.state;
        if (s.phase !== 'broadcast' || m.epoch !== s.epoch) return [];
        // Nobody can hold on disk what was never proposed: such an ack would commit too early.
        if (m.zxid > s.lastProposed) return [];
        return this.ack(s, m.from, m.zxid, now);
      }
      case 'resend':
        return this.onResend(m);
    }
  }

  /**
   * Time passes: the heartbeat while broadcasting. The limits on how long
   * establishing may take and how long a quorum may stay silent are the
   * lifecycle machine's timers (zabRoleMachine), fed by `quorumHeardAt`.
   */
  tick(now: number): Effects {
    const s = this.state;
    if (s.phase !== 'broadcast') return [];
    // Heartbeat: an empty broadcast when nothing else went out this half tick.
    if (now - s.lastPublish >= Math.floor(this.config.tickTime / 2)) return this.flush(now);
    return [];
  }

  /** While broadcasting, the latest time by which a quorum of voters (this leader always among them) had been heard. */
  get quorumHeardAt(): number | undefined {
    const s = this.state;
    return s.phase === 'broadcast' ? s.acks.quorumHeardAt(this.config.id) : undefined;
  }

  /**
   * New proposals, in zxid order, of this epoch: the host's write pipeline
   * has appended them to its log. They go out with the next `flush`.
   * `reconfig` marks the one among them that changes the configuration:
   * from it on, proposals commit only with a quorum of the committed voters
   * and one of `reconfig.voters`, until it commits.
   */
  propose(entries: LogEntry[], reconfig?: { zxid: number; voters: readonly string[] }): Effects {
    const s = this.state;
    // The host's pipeline may still hand over a turn's proposals after the role ended: they go nowhere.
    if (s.phase === 'ended') return [];
    assert(s.phase === 'broadcast', 'proposals only while broadcasting');
    for (const e of entries) assert(epochOf(e[0]) === s.epoch, `proposal ${e[0]} is not of epoch ${s.epoch}`);
    if (reconfig) {
      const i = entries.findIndex((e) => e[0] === reconfig.zxid);
      assert(i >= 0, `configuration change ${reconfig.zxid} is not among the proposals`);
      s.acks.propose({ zxid: reconfig.zxid, before: i > 0 ? entries[i - 1]![0] : s.lastProposed, voters: reconfig.voters });
    }
    s.lastProposed = checkAppend(s.lastProposed, entries.map((e) => e[0]), 'propose');
    for (const e of entries) s.proposals.push(e);
    return [];
  }

  /** The leader's own log is durable up to zxid: its own ack. */
  durable(zxid: number, now: number): Effects {
    const s = this.state;
    if (s.phase !== 'broadcast') return [];
    return this.ack(s, this.config.id, zxid, now);
  }

  /** A learner's client asked for sync: answered with the next broadcast, after the writes before it. */
  answerSync(learner: string, sessionId: bigint, cxid: number, path: string): Effects {
    const s = this.state;
    if (s.phase === 'broadcast') s.syncs.push([learner, sessionId, cxid, path]);
    return [];
  }

  /** One publish for every learner: new proposals, the commit point, answered syncs. */
  flush(now: number): Effects {
    const s = this.state;
    if (s.phase !== 'broadcast') return [];
    // A turn's proposals can exceed what one message carries: consecutive broadcasts, the syncs on the last.
    const parts = splitBySize(s.proposals, ([, payload]) => payload.byteLength + 16, this.config.maxMessageBytes);
    if (parts.length === 0) parts.push([]);
    const commit = s.acks.commitPoint;
    const fx: Effects = parts.map((proposals, i) => {
      const msg: Broadcast = { epoch: s.epoch, seq: ++s.seq, proposals, commit, syncs: i === parts.length - 1 ? s.syncs : [] };
      s.window.push(msg);
      return { type: 'broadcast', msg };
    });
    if (s.proposals.length > 0) s.lastSent = s.proposals.at(-1)![0];
    s.proposals = [];
    s.syncs = [];
    s.lastPublish = now;
    s.sentCommit = commit;
    return fx;
  }

  /** The host gathered a sync the core asked for (`prepareSync`): send it, current as of now. */
  syncPrepared(to: string, attempt: number, p: PreparedSync): Effects {
    const l = this.learners.get(to);
    // A log read arrives later: the learner may have started over, or we stopped leading.
    const s = this.state;
    if (s.phase === 'ended' || s.phase === 'discovery' || !l || l.attempt !== attempt || l.stage !== 'sync') return [];
    const h = this.history;
    let txns = p.txns;
    if (p.plan.mode === 'snap') {
      assert(p.snapshot !== undefined, 'a SNAP needs the snapshot');
      txns = h.after(p.snapshot.zxid);
    } else {
      // Top up from memory to now, so that the sync is current with the broadcast sequence;
      // a memory that moved past what the log read gave means a snapshot after all.
      const upTo = txns.at(-1)?.[0] ?? (p.plan.mode === 'diff' ? p.plan.from : p.plan.truncTo);
      if (upTo < h.memoryBase) return [{ type: 'prepareSync', to, attempt, plan: { mode: 'snap' } }];
      if (upTo < h.last) txns = txns.concat(h.after(upTo));
    }
    // Until a quorum has synced, nothing of this history is known committed (the epoch may never be
    // established): the learner logs it and applies it only at uptodate.
    const committed = s.phase === 'broadcast' ? s.acks.commitPoint : 0;
    const seq = s.phase === 'broadcast' ? s.seq : 0;
    const msg: ToLearner = {
      t: 'sync',
      attempt,
      epoch: s.epoch,
      mode: p.plan.mode,
      truncTo: p.plan.mode === 'trunc' ? p.plan.truncTo : 0,
      snapshot: p.snapshot?.bytes ?? null,
      snapZxid: p.snapshot?.zxid ?? 0,
      txns,
      committed,
      seq,
      parts: 0,
    };
    return [{ type: 'send', to, msg }];
  }

  /** A learner must start over (its forwarded writes were lost): tell it to go away. */
  sendAway(learner: string, reason: string): Effects {
    const l = this.learners.get(learner);
    if (this.state.phase === 'ended' || !l) return [];
    return [{ type: 'send', to: learner, msg: { t: 'goaway', attempt: l.attempt, reason } }];
  }

  /** The host cannot go on (its log failed): the role ends. */
  stepDown(reason: string): Effects {
    return this.state.phase === 'ended' ? [] : this.end(reason);
  }

  private onInfo(m: Extract<ToLeader, { t: 'info' }>, now: number): Effects {
    const epoch = this.epoch;
    const prior = this.learners.get(m.from);
    if (prior && prior.attempt === m.attempt) {
      // A retransmission: our newepoch was lost.
      if (epoch > 0 && prior.stage === 'epoch') return [this.newEpoch(m.from, prior)];
      return [];
    }
    if (epoch > 0 && m.acceptedEpoch > epoch) {
      const away: Effects = [{ type: 'send', to: m.from, msg: { t: 'goaway', attempt: m.attempt, reason: 'your accepted epoch is newer than ours' } }];
      // A voter that promised a newer epoch can never follow ours, and would stay out until the leader changed:
      // stepping down lets the next election choose an epoch above its promise. An observer just waits.
      if (m.voter && this.currentVoters.includes(m.from)) return away.concat(this.end(`voter ${m.from} accepted epoch ${m.acceptedEpoch}, newer than ours (${epoch})`));
      return away;
    }
    this.synced.delete(m.from);
    if (this.state.phase === 'broadcast') this.state.acks.drop(m.from);
    const l: LearnerEntry = { attempt: m.attempt, follower: m.voter, voter: m.voter && this.establishingVoter(m.from), acceptedEpoch: m.acceptedEpoch, stage: 'epoch' };
    this.learners.set(m.from, l);
    if (epoch > 0) return this.announceEpoch(m.from, l, now);
    const voters = [...this.learners].filter(([, x]) => x.voter);
    if (!this.quorumOfEach(voters.map(([id]) => id))) return [];
    // Discovery: a new epoch above every accepted epoch of a quorum (of each configuration in play).
    for (const set of this.establishingSets()) checkQuorum(voters.map(([id]) => id), set, 'discovery');
    const before = this.facts();
    const next = Math.max(...voters.map(([, x]) => x.acceptedEpoch)) + 1;
    assert(next > this.acceptedEpoch, `new epoch ${next} not above our accepted ${this.acceptedEpoch}`);
    this.acceptedEpoch = next;
    this.state = { phase: 'synchronization', epoch: next };
    checkTransition(before, this.facts(), 'discovery → synchronization');
    const fx: Effects = [
      { type: 'persistEpoch', kind: 'accepted', epoch: next, leader: this.config.id },
      { type: 'phase', phase: 'synchronization', epoch: next },
    ];
    for (const [id, x] of this.learners) fx.push(...this.announceEpoch(id, x, now));
    return fx;
  }

  private newEpoch(to: string, l: LearnerEntry): Effects[number] {
    return { type: 'send', to, msg: { t: 'newepoch', attempt: l.attempt, epoch: this.epoch, leader: this.config.id, established: this.state.phase === 'broadcast' } };
  }

  private announceEpoch(id: string, l: LearnerEntry, now: number): Effects {
    if (id !== this.config.id) return [this.newEpoch(id, l)];
    return this.step({ t: 'ackepoch', from: id, attempt: l.attempt, epoch: this.epoch, currentEpoch: this.currentEpoch, lastZxid: this.history.last }, now);
  }

  private onAckEpoch(m: Extract<ToLeader, { t: 'ackepoch' }>, now: number): Effects {
    const l = this.learners.get(m.from);
    if (!l || l.attempt !== m.attempt || m.epoch !== this.epoch || l.stage !== 'epoch') return [];
    const mine = { epoch: this.currentEpoch, zxid: this.history.last };
    const newer = m.currentEpoch > mine.epoch || (m.currentEpoch === mine.epoch && m.lastZxid > mine.zxid);
    // A follower no configuration of ours counts (a joiner, a removed voter) is no candidate of the election
    // either: were its newer history to stop us, no leader would ever establish. What it holds beyond ours
    // no quorum of ours holds, so it was never committed: it is cut back like any uncommitted tail.
    if (m.from !== this.config.id && newer && (l.voter || !l.follower)) {
      return this.end(`member ${m.from} has a newer history (${hex(m.lastZxid)}) than ours (${hex(mine.zxid)})`);
    }
    l.stage = 'sync';
    if (m.from === this.config.id) return this.step({ t: 'acknl', from: m.from, attempt: m.attempt, epoch: this.epoch }, now);
    return [{ type: 'prepareSync', to: m.from, attempt: l.attempt, plan: this.history.plan(m.lastZxid) }];
  }

  private onAckNewLeader(m: Extract<ToLeader, { t: 'acknl' }>, now: number): Effects {
    const l = this.learners.get(m.from);
    if (!l || l.attempt !== m.attempt || m.epoch !== this.epoch) return [];
    const s = this.state;
    // Uptodate says the epoch is established: never before broadcast, even to a repeated acknl.
    const uptodate = (): Effects =>
      s.phase === 'broadcast' && m.from !== this.config.id ? [{ type: 'send', to: m.from, msg: { t: 'uptodate', attempt: l.attempt, epoch: s.epoch, committed: s.acks.commitPoint } }] : [];
    if (l.stage === 'uptodate') return uptodate();
    if (l.stage !== 'sync') return [];
    l.stage = 'uptodate';
    this.synced.add(m.from);
    if (s.phase === 'broadcast') return uptodate();
    return this.quorumOfEach([...this.synced]) ? this.startBroadcast(now) : [];
  }

  /** The voter sets establishing this epoch needs a quorum of: the committed one, and a change pending in our log. */
  private establishingSets(): (readonly string[])[] {
    const p = this.config.pendingConfig;
    return p ? [this.currentVoters, p.voters] : [this.currentVoters];
  }

  private establishingVoter(id: string): boolean {
    return this.establishingSets().some((set) => set.includes(id));
  }

  private quorumOfEach(ids: readonly string[]): boolean {
    return this.establishingSets().every((set) => isQuorum(set.filter((v) => ids.includes(v)).length, set.length));
  }

  /** A quorum holds our whole history: it is committed, and the epoch current. */
  private startBroadcast(now: number): Effects {
    const s = this.state;
    assert(s.phase === 'synchronization', 'broadcast follows synchronization');
    for (const set of this.establishingSets()) checkQuorum(this.synced, set, 'synchronization → broadcast');
    const before = this.facts();
    const start = this.history.last;
    const pending = this.config.pendingConfig;
    if (pending) {
      // Our whole history is committed now, the change in it too: its voters are the configuration.
      assert(pending.zxid <= start, `pending configuration ${pending.zxid} is not in our history (last ${start})`);
      this.currentVoters = [...pending.voters];
      for (const [id, x] of this.learners) x.voter = x.follower && this.currentVoters.includes(id);
    }
    const acks = new AckTracker(this.currentVoters, start);
    for (const v of this.synced) if (this.currentVoters.includes(v)) acks.ack(v, start, now);
    this.currentEpoch = s.epoch;
    this.state = {
      phase: 'broadcast',
      epoch: s.epoch,
      acks,
      seq: 0,
      window: new BroadcastWindow(this.config.streamLimits ?? DEFAULT_STREAM_LIMITS),
      proposals: [],
      syncs: [],
      lastPublish: now,
      lastProposed: start,
      sentCommit: start,
      lastSent: start,
    };
    checkTransition(before, this.facts(), 'synchronization → broadcast');
    this.config.epochLeaders?.note(s.epoch, this.config.id);
    const fx: Effects = [
      { type: 'persistEpoch', kind: 'current', epoch: s.epoch },
      { type: 'commit', zxid: start },
      { type: 'phase', phase: 'broadcast', epoch: s.epoch },
    ];
    for (const [id, l] of this.learners) {
      if (l.stage === 'uptodate' && id !== this.config.id) fx.push({ type: 'send', to: id, msg: { t: 'uptodate', attempt: l.attempt, epoch: s.epoch, committed: start } });
    }
    // The change we just committed removed us: the learners hold it (uptodate said so), the new voters elect.
    if (!this.currentVoters.includes(this.config.id)) fx.push(...this.end(`removed from the configuration at ${hex(pending!.zxid)}; a new voter leads`));
    return fx;
  }

  private ack(s: Broadcasting, from: string, zxid: number, now: number): Effects {
    const before = this.facts();
    const pending = s.acks.pending;
    const oldVoters = s.acks.voters;
    const point = s.acks.ack(from, zxid, now);
    if (point === undefined) return [];
    checkTransition(before, this.facts(), 'commit');
    const fx: Effects = [{ type: 'commit', zxid: point }];
    if (pending && point >= pending.zxid) fx.push(...this.configCommitted(s, pending, oldVoters, now));
    return fx;
  }

  /**
   * The configuration change committed: checked against both voter sets, it
   * becomes the configuration. A leader that is no longer a voter broadcasts
   * the commit and steps down, so the new voters elect one of their own.
   */
  private configCommitted(s: Broadcasting, c: PendingConfig, oldVoters: readonly string[], now: number): Effects {
    const holders = s.acks.ackedAtLeast(c.zxid);
    checkQuorum(holders, oldVoters, `configuration ${c.zxid} committed (old voters)`);
    checkQuorum(holders, c.voters, `configuration ${c.zxid} committed (new voters)`);
    this.currentVoters = c.voters;
    for (const [id, l] of this.learners) l.voter = l.follower && c.voters.includes(id);
    if (c.voters.includes(this.config.id)) return [];
    // The commit must reach the learners before the goaway: the new voters then hold the change when they elect.
    return [...this.flush(now), ...this.end(`removed from the configuration at ${hex(c.zxid)}; a new voter leads`)];
  }

  /** A learner missed broadcasts: send them again, or tell it to resync when they are no longer kept. */
  private onResend(m: Extract<ToLeader, { t: 'resend' }>): Effects {
    const s = this.state;
    const l = this.learners.get(m.from);
    if (s.phase !== 'broadcast' || !l || l.attempt !== m.attempt || m.epoch !== s.epoch || m.fromSeq > m.toSeq || m.toSeq > s.seq) return [];
    const missed = s.window.range(m.fromSeq, m.toSeq);
    if (!missed) return [{ type: 'send', to: m.from, msg: { t: 'noresend', attempt: l.attempt, epoch: s.epoch, fromSeq: m.fromSeq } }];
    return splitBySize(missed, broadcastBytes, this.config.maxMessageBytes).map((broadcasts) => ({
      type: 'send',
      to: m.from,
      msg: { t: 'resent', attempt: l.attempt, epoch: s.epoch, broadcasts },
    }));
  }

  private end(reason: string): Effects {
    // As a ZooKeeper leader's shutdown closes its learners' connections: they look again at once, rather
    // than wait out their limits on a stint that is over (and answer a looking member that we still lead).
    const fx: Effects = [];
    for (const [id, l] of this.learners) {
      if (id !== this.config.id) fx.push({ type: 'send', to: id, msg: { t: 'goaway', attempt: l.attempt, reason: `the leader stepped down: ${reason}` } });
    }
    this.state = { phase: 'ended', reason };
    fx.push({ type: 'end', reason });
    return fx;
  }

  private facts(): Facts {
    const s = this.state;
    return {
      acceptedEpoch: this.acceptedEpoch,
      currentEpoch: this.currentEpoch,
      lastLogged: s.phase === 'broadcast' ? s.lastProposed : this.history.last,
      committed: s.phase === 'broadcast' ? s.acks.commitPoint : 0,
    };
  }
}

const hex = (zxid: number) => '0x' + zxid.toString(16);
