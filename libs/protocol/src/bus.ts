/**
 * The internal bus: the msgpackr-encoded messages the services exchange.
 * Everything that crosses a process boundary is defined here, so a change of
 * wire shape is a change of one file; the subjects it travels on, and who may
 * use them, are in subjects.ts.
 *
 * Hot-path messages are batches of positional tuples, not objects: msgpackr
 * then writes no key names, and one publish carries everything a tick produced.
 */
import { randomInt } from 'node:crypto';
import { Packr } from 'msgpackr';
import { isSubjectToken } from './subjects.js';

const packr = new Packr({ useRecords: false, int64AsType: 'bigint', mapsAsObjects: true });

export function pack(value: unknown): Buffer {
  return packr.pack(value);
}

export function unpack<T>(data: Uint8Array): T {
  return packr.unpack(data) as T;
}


/**
 * Every hot stream is a series of numbered batches from one sender to one
 * receiver. NATS delivers at most once, so a receiver that sees a gap knows
 * something was lost and drops what depended on it (the clients reconnect,
 * as after any connection loss) instead of answering out of order. A gap is
 * only visible once a later batch arrives, so after traffic the sender
 * repeats its last number in a heartbeat: a batch with no entries.
 *
 * Between gateways and learners a series also has an id, random per sender
 * and receiver, so that a receiver can tell a new series (numbered from 1)
 * from one it first hears in the middle: there, its beginning was lost.
 */
export type GatewayBatch = [gateway: string, series: number, seq: number, entries: GwToLearner[]];
export type LearnerBatch = [learner: string, series: number, seq: number, entries: LearnerToGw[]];
export type ForwardBatch = [learner: string, seq: number, entries: Forwarded[]];

/**
 * How long after its last batch a stream keeps announcing its number. The
 * outage that loses a batch loses the heartbeats behind it too, until both
 * ends are on a working bus server again: a frozen server is left within
 * about 2–3 s (runtime's ping settings), and what is published after that
 * is buffered by the client and delivered once it has reconnected.
 */
export const HEARTBEAT_WINDOW_MS = 5000;

/** The numbers a sender stamps on its batches, one series per receiver. */
export class BatchNumbers {
  private readonly last = new Map<string, number>();
  private readonly ids = new Map<string, number>();
  /** Receivers that had traffic lately, and how many heartbeats each is still owed. */
  private readonly owed = new Map<string, number>();
  private readonly afterTraffic: number;

  /** `heartbeatMs`: how often the sender calls heartbeats(). */
  constructor(
    heartbeatMs: number,
    private readonly newSeries: () => number = () => randomInt(1, 2 ** 31),
  ) {
    this.afterTraffic = Math.max(2, Math.ceil(HEARTBEAT_WINDOW_MS / heartbeatMs));
  }

  next(receiver: string): number {
    const n = (this.last.get(receiver) ?? 0) + 1;
    this.last.set(receiver, n);
    if (n === 1) this.ids.set(receiver, this.newSeries());
    this.owed.set(receiver, this.afterTraffic);
    return n;
  }

  /** The id of the receiver's current series (after next() has started one). */
  seriesOf(receiver: string): number {
    const id = this.ids.get(receiver);
    if (id === undefined) throw new Error(`no series toward ${receiver} yet`);
    return id;
  }

  /** Starts the receiver's numbering over: its next batch opens a new series, which a receiver that restarted can follow from the start. */
  restart(receiver: string): void {
    this.last.delete(receiver);
    this.ids.delete(receiver);
    this.owed.delete(receiver);
  }

  /**
   * The heartbeats to send now: each receiver's series and last number, for
   * the streams that had traffic within the window. An idle stream costs nothing.
   */
  heartbeats(): [receiver: string, seq: number, series: number][] {
    const out: [string, number, number][] = [];
    for (const [receiver, owed] of this.owed) {
      out.push([receiver, this.last.get(receiver)!, this.ids.get(receiver)!]);
      if (owed > 1) this.owed.set(receiver, owed - 1);
      else this.owed.delete(receiver);
    }
    return out;
  }
}

/**
 * What a receiver makes of a batch number: the next one, a gap (batches were
 * lost), or a restart (the sender began a new series). A heartbeat carries
 * the sender's last number: the one we have, or a gap when we are behind it.
 */
export class BatchGaps {
  private readonly last = new Map<string, number>();

  check(sender: string, seq: number, heartbeat: boolean): 'next' | 'gap' | 'restart' {
    const prev = this.last.get(sender);
    this.last.set(sender, seq);
    if (prev === undefined || seq < prev || (seq === prev && !heartbeat)) return 'restart';
    return seq === prev + (heartbeat ? 0 : 1) ? 'next' : 'gap';
  }
}

/**
 * What a receiver makes of a batch of an identified series: whether batches
 * were lost before it, and whether the sender has begun a new series since
 * the one we knew (it restarted, or started over for us). A series heard
 * first at a batch other than its first, or at a heartbeat, lost its
 * beginning — or began before this receiver did, which costs the receiver
 * nothing it had.
 */
export class SeriesGaps {
  private readonly heard = new Map<string, { series: number; last: number }>();

  check(sender: string, series: number, seq: number, heartbeat: boolean): { gap: boolean; newSeries: boolean } {
    const h = this.heard.get(sender);
    if (h === undefined || h.series !== series) {
      this.heard.set(sender, { series, last: seq });
      return { gap: heartbeat || seq !== 1, newSeries: h !== undefined };
    }
    // Within a series numbers only grow: NATS keeps one publisher's order, so anything else is a loss too.
    if (seq < h.last || (seq === h.last && !heartbeat)) return { gap: true, newSeries: false };
    const expected = heartbeat ? h.last : h.last + 1;
    h.last = seq;
    return { gap: seq !== expected, newSeries: false };
  }
}

/** Gateway → learner entries. `conn` is the gateway's connection number. */
export type GwToLearner =
  | [kind: 'c', conn: number, connect: ConnectAsk]
  | [kind: 'r', conn: number, sessionId: bigint, frame: Uint8Array]
  | [kind: 'd', conn: number, sessionId: bigint]
  /**
   * The client has taken `bytes` more of the replies sent for this
   * connection: the learner may send that much more (its reply window).
   */
  | [kind: 'a', conn: number, sessionId: bigint, bytes: number];

export interface ConnectAsk {
  lastZxidSeen: number;
  timeOut: number;
  sessionId: bigint;
  passwd: Uint8Array;
  readOnly: boolean;
  /** Whether the client sent the trailing read-only byte (3.4-era clients do not). */
  hasReadOnlyByte: boolean;
  /** Client address, for ip ACLs. */
  ip: string;
  /** Subject of the client's verified TLS certificate (RFC 2253), for x509 ACLs. */
  x509?: string;
  /**
   * The gateway acknowledges the replies its client takes ('a'), so the
   * learner may hold the session to a reply window; a gateway of an older
   * version does not, and its sessions get no window.
   */
  acks?: boolean;
}

/** Learner → gateway entries. */
export type LearnerToGw =
  /** Answer to a connect: the ConnectResponse body; sessionId 0n when refused. */
  | [kind: 'c', conn: number, sessionId: bigint, body: Uint8Array]
  /** A reply or a notification frame body for the connection. */
  | [kind: 'o', conn: number, body: Uint8Array]
  /** Close the connection once what is queued has been written. */
  | [kind: 'x', conn: number, reason: string]
  /**
   * The learner lost batches from this gateway: close every connection pinned
   * to it, including connects it never received (conn is 0, unused).
   */
  | [kind: 'X', conn: 0, reason: string];

/** Learner → leader: a write the learner cannot apply itself. */
export type Forwarded =
  | [kind: 'w', learner: string, sessionId: bigint, cxid: number, op: number, body: Uint8Array, auth: AuthId[]]
  /** A new session: its password stays on the learner that made it; the ensemble keeps what verifies it. */
  | [kind: 's', learner: string, sessionId: bigint, timeout: number, verifier: Uint8Array];

export type AuthId = [scheme: string, id: string];

/** Gateway → leader, every half tick: the sessions with a live connection. */
export interface SessionTouch {
  gw: string;
  sessions: bigint[];
}

export interface Presence {
  kind: 'member' | 'observer' | 'gateway';
  id: string;
  role: string;
  pid: number;
  host: string;
  epoch: number;
  zxid: number;
  /** Members and observers: the last zxid in their transaction log, which may be ahead of `zxid` (applied) by what is not yet committed. */
  logged?: number;
  /** Sessions pinned to a learner or held by a gateway. */
  sessions: number;
  /** A learner takes clients only once it is in sync with the leader. */
  serving: boolean;
  clientPort?: number;
  adminPort?: number;
  /** Members and observers: the longest the event loop was late since the previous announcement, ms. */
  stallMs?: number;
  /**
   * A voting member's committed configuration: its version (the zxid of the
   * reconfig, 0 for the static one), whether it lists this member as a
   * voter, and its voters, from which a member started with --join and no
   * --ensemble learns the configuration.
   */
  config?: { version: number; voting: boolean; voters?: string[] };
}

/**
 * A presence's configuration when well formed, else undefined: the bus
 * vouches for who sent a presence, not for its fields. Voters, where given,
 * must be ids a subject can name.
 */
export function presenceConfig(p: { config?: unknown }): NonNullable<Presence['config']> | undefined {
  const c = p.config as { version?: unknown; voting?: unknown; voters?: unknown } | undefined;
  if (!c || typeof c !== 'object' || typeof c.voting !== 'boolean') return undefined;
  const version = c.version ?? 0;
  if (typeof version !== 'number' || !Number.isSafeInteger(version) || version < 0) return undefined;
  if (c.voters === undefined) return { version, voting: c.voting };
  const voters = c.voters;
  if (!Array.isArray(voters) || voters.length === 0 || !voters.every((v) => typeof v === 'string' && isSubjectToken(v))) return undefined;
  return { version, voting: c.voting, voters };
}

/**
 * Asks a member for what a four-letter word or admin command shows; `tree`
 * reads one znode (path) for the inspector, `metrics` returns the member's
 * Prometheus metrics as JSON, `ping` measures the bus round trip.
 */
export interface AdminAsk {
  command: 'stat' | 'dump' | 'wchs' | 'wchc' | 'wchp' | 'mntr' | 'conf' | 'dirs' | 'srst' | 'tree' | 'metrics' | 'ping' | 'heap';
  path?: string;
}

/**
 * The answer to a `heap` ask: the process's memory, after a full garbage
 * collection when the process runs with `--expose-gc` (the bench starts it
 * so, to compare live heap with a JVM's after `GC.run`); `collected` says
 * whether it did. Without the flag nobody can make a member stop for one.
 */
export interface HeapReport {
  /** A full collection ran first (only with `--expose-gc`, and never while a snapshot is in progress). */
  collected: boolean;
  /** V8's heap in use, bytes. */
  heapUsed: number;
  /** Memory of Buffers and other objects outside V8's heap (larger znode data), bytes. */
  external: number;
  rss: number;
  /** A snapshot was being encoded or written: its bytes, held whole until written, are in `external`. */
  snapshotting: boolean;
}

/**
 * What one service publishes for the inspector, at most a few times a second
 * and never per request: the current state of each of its actors (latest
 * wins), the lifecycle events since the previous message, and, when new or
 * asked for, the definitions of its machines (xstate's JSON) to draw them.
 */
export interface InspectMessage {
  kind: Presence['kind'];
  id: string;
  seq: number;
  at: number;
  actors: InspectActor[];
  events: InspectEvent[];
  /** Events left out since the previous message (too many in one interval). */
  dropped: number;
  /** Machine id → `machine.toJSON()`. */
  defs?: Record<string, unknown>;
}

export interface InspectActor {
  /** Path in the service's actor tree: `member`, `member/role`, `sessions`. */
  key: string;
  /** Machine id (the key of its definition). */
  machine: string;
  /** xstate state value. */
  value: unknown;
  status: string;
  /** Scalar context fields. */
  context?: Record<string, string | number | boolean>;
  /** For a group of like actors (client sessions): how many are in each state. */
  counts?: Record<string, number>;
}

export interface InspectEvent {
  at: number;
  actor: string;
  machine: string;
  type: string;
  /** State before and after, as dotted paths (atomic states only). */
  from?: string;
  to?: string;
}

/** A fast-leader-election notification: who the sender votes for, and in which round. */
export interface Vote {
  from: string;
  state: 'looking' | 'following' | 'leading';
  round: number;
  leader: string;
  /** The proposed leader's current epoch and last logged zxid. */
  epoch: number;
  zxid: number;
  /**
   * The sender's committed configuration as /zookeeper/config's text, once
   * a reconfig has committed one: a looking member that missed a change
   * learns the voters from it (ZooKeeper's notifications carry it too).
   */
  config?: string;
}

/** A logged transaction as it travels between members: zxid and encoded txn. */
export type LogEntry = [zxid: number, payload: Uint8Array];

/** Learner → leader. `attempt` ties answers to one handshake, so stale ones are dropped. */
export type ToLeader =
  | { t: 'info'; from: string; attempt: number; voter: boolean; acceptedEpoch: number; currentEpoch: number; lastZxid: number }
  | { t: 'ackepoch'; from: string; attempt: number; epoch: number; currentEpoch: number; lastZxid: number }
  | { t: 'acknl'; from: string; attempt: number; epoch: number }
  /** Cumulative: every proposal up to zxid is on the learner's disk. Also the heartbeat answer. */
  | { t: 'ack'; from: string; epoch: number; zxid: number }
  /** Broadcasts fromSeq..toSeq of the epoch never arrived: send them to me (on my zab.learner subject). */
  | { t: 'resend'; from: string; attempt: number; epoch: number; fromSeq: number; toSeq: number };

/**
 * Learner → leader, beside ToLeader on the same subject: how many bytes of
 * sync parts (a SNAP's snapshot, a long DIFF's transactions) arrived in this
 * attempt. The leader keeps only a
 * window of parts unacknowledged in flight, so a learner that reads slowly
 * (a busy machine, a long pause) is never sent more than its nats-server
 * will buffer for it — past that the server cuts it off as a slow consumer
 * and the parts in between are lost.
 */
export type SyncReceived = { t: 'received'; from: string; attempt: number; bytes: number };

/**
 * Learner → leader, beside ToLeader: a non-voting follower started with
 * `--add-self` asks to be added as a voter (see the leader's addVoter).
 * Repeated until a committed configuration lists it as a participant.
 */
export type AddMe = { t: 'addme'; from: string; epoch: number };

/** A learner says how far a sync's parts arrived every this many bytes (well under the leader's window). */
export const SYNC_RECEIVED_EVERY_BYTES = 4 * 1024 * 1024;

/** Leader → one learner. */
export type ToLearner =
  /**
   * established: the leader already broadcasts in this epoch (a quorum synced
   * with it), so a member that accepted the same epoch from a would-be leader
   * that failed may follow this one.
   */
  | { t: 'newepoch'; attempt: number; epoch: number; leader: string; established: boolean }
  | {
      t: 'sync';
      attempt: number;
      epoch: number;
      mode: 'diff' | 'trunc' | 'snap';
      /** trunc: drop everything after this zxid first. */
      truncTo: number;
      /** snap: the leader's tree at snapZxid, or null when it came ahead in syncparts. */
      snapshot: Uint8Array | null;
      snapZxid: number;
      /** Transactions after the learner's (possibly truncated) point, up to the last proposal. */
      txns: LogEntry[];
      /** Everything up to here is committed (0 while the epoch is not established: apply nothing until uptodate). */
      committed: number;
      /** The broadcast sequence number this sync is current with. */
      seq: number;
      /** Syncpart messages sent just before this one (a large snapshot or diff does not fit in one). */
      parts: number;
    }
  /**
   * A piece of the next sync: a slice of the snapshot, sent as the leader's
   * walk of its tree makes it, or some of its transactions. For
   * transactions, bytes counts the transaction bytes of all the parts, so
   * that a learner can show how far a long sync has got; for a snapshot's
   * slices it is 0, since the total is known only when the walk ends (the
   * learner counts the znodes it decodes instead).
   */
  | { t: 'syncpart'; attempt: number; epoch: number; snapshot: Uint8Array | null; txns: LogEntry[]; bytes: number }
  /** The epoch is established; everything up to committed is committed (at its start: the whole synced history). */
  | { t: 'uptodate'; attempt: number; epoch: number; committed: number }
  | { t: 'goaway'; attempt: number; reason: string }
  /** Broadcasts a learner asked for again, consecutive, in order (a long run goes as several messages). */
  | { t: 'resent'; attempt: number; epoch: number; broadcasts: Broadcast[] }
  /** The broadcasts from fromSeq are no longer kept: the learner must resync. */
  | { t: 'noresend'; attempt: number; epoch: number; fromSeq: number };

/**
 * Leader → all learners, one NATS publish for the whole ensemble. Every
 * message has the next sequence number of its epoch; a learner that sees a
 * gap asks the leader to resend what it missed. An empty message is the
 * heartbeat.
 */
export interface Broadcast {
  epoch: number;
  seq: number;
  proposals: LogEntry[];
  /** Every proposal up to this zxid is committed. */
  commit: number;
  /** Syncs answered by this commit point: [learner, sessionId, cxid, path]. */
  syncs: [learner: string, sessionId: bigint, cxid: number, path: string][];
}
