import type { Broadcast, LogEntry, ToLeader, ToLearner } from '@zooid/protocol';
import type { SyncPlan } from '../history.js';

/** The phases a role reports to its lifecycle machine. */
export type ZabPhase = 'discovery' | 'synchronization' | 'broadcast';

/**
 * What a core asks its host to do, in the order given. A host executes a
 * list front to back and never reorders it: a `persistEpoch` is durable
 * before anything after it goes out, which is what makes "persist before
 * send" hold for epochs. Entries are the one exception: `log` is an append,
 * and the host tells the core when they are on disk (`durable`), which is
 * the only thing that produces an ack.
 */
export type Effect =
  /**
   * Write and fsync this epoch file before executing the next effect. An
   * accepted epoch is written with the leader it was accepted from: a member
   * accepts an epoch from one leader only.
   */
  | { type: 'persistEpoch'; kind: 'accepted'; epoch: number; leader: string }
  | { type: 'persistEpoch'; kind: 'current'; epoch: number }
  /** Learner: append these proposals to the log (in zxid order); call `durable` once fsynced. */
  | { type: 'log'; entries: LogEntry[] }
  /** Leader → one learner. */
  | { type: 'send'; to: string; msg: ToLearner }
  /** Leader → every learner, one publish. */
  | { type: 'broadcast'; msg: Broadcast }
  /** Learner → its leader. */
  | { type: 'toLeader'; msg: ToLeader }
  /**
   * Everything logged up to zxid is committed. Leader: commit the pipeline's
   * in-flight transactions up to it. Learner: apply logged transactions up to it.
   */
  | { type: 'commit'; zxid: number }
  /**
   * Leader: gather what a learner's sync needs — the snapshot for a SNAP,
   * the log after `from` when that left memory — and call `syncPrepared`.
   */
  | { type: 'prepareSync'; to: string; attempt: number; plan: SyncPlan }
  /**
   * Learner: bring the log and tree to the leader's (truncate, install the
   * snapshot, append what is newer than the log), fsync, then call `installed`.
   */
  | { type: 'install'; sync: Extract<ToLearner, { t: 'sync' }> }
  /**
   * Learner: the next part of a SNAP's snapshot, in the order sent. The host
   * stores and decodes it while the rest arrives; the `install` that follows
   * carries no snapshot of its own then (`snapshot` null).
   */
  | { type: 'snapshotPart'; part: Uint8Array }
  /** Learner: a client's sync is answered here (the writes ahead of it are committed and applied). */
  | { type: 'answerSync'; sessionId: bigint; cxid: number; path: string }
  /** Learner: ask whether the leader's process is still there (answered or not: `probed`). */
  | { type: 'probeLeader'; leader: string; epoch: number }
  /** The role moved to a new phase (the lifecycle machine records it; a leader starts serving at broadcast). */
  | { type: 'phase'; phase: ZabPhase; epoch: number }
  /** The role is over (lost quorum, silent leader, refused): the host stops it and the member looks again. */
  | { type: 'end'; reason: string };

export type Effects = Effect[];

/** Where a stint starts from: the member's durable state as the host recovered it. */
export interface DurableState {
  acceptedEpoch: number;
  /** Who the accepted epoch was accepted from; unknown for epoch files written before it was recorded. */
  acceptedLeader?: string;
  currentEpoch: number;
  /** The last logged zxid (or the snapshot's, when no record follows it). */
  lastLogged: number;
}

/** What a core times by itself, as ZooKeeper configures it: tickTime in ms, syncLimit in ticks. */
export interface ZabTiming {
  tickTime: number;
  syncLimit: number;
}

/** The part of the leader's history the core reads to plan and fill syncs (History provides it). */
export interface HistoryView {
  readonly last: number;
  /** The zxid just before the oldest entry whose payload is in memory. */
  readonly memoryBase: number;
  plan(learnerLast: number): SyncPlan;
  after(zxid: number): LogEntry[];
}
