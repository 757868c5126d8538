/**
 * What the simulated clients did and saw, and what the ensemble recorded
 * about itself: the checker's whole input.
 */
export type ZOp =
  | { type: 'create'; path: string; data: string; ephemeral: boolean; sequential: boolean }
  /** version −1: unconditional; otherwise a compare-and-set. */
  | { type: 'set'; path: string; data: string; version: number }
  | { type: 'delete'; path: string; version: number }
  | { type: 'get'; path: string; watch: boolean }
  /** ZooKeeper's sync: a read after it sees every write answered before it was sent. */
  | { type: 'sync' }
  | { type: 'close' }
  /** An incremental reconfig (`-add`/`-remove` of voters by id), as a super user. */
  | { type: 'reconfig'; joining: string[]; leaving: string[] };

export interface Completion {
  err: number;
  /** The reply header's zxid. */
  zxid: number;
  /** get: the data read (utf8); create: the created path; reconfig: the new configuration's text. */
  data?: string;
  /** get and set: the stat's version. */
  version?: number;
}

export interface HistOp {
  id: number;
  client: string;
  /** Session id in hex. */
  session: string;
  /** Which connection of the client carried it. */
  conn: number;
  xid: number;
  op: ZOp;
  call: number;
  ret?: number;
  /** Absent: no answer came (timeout, connection lost) — it may or may not have taken effect. */
  result?: Completion;
}

/** What a client received, in the order it received it. */
export type ClientEvent =
  | { kind: 'reply'; session: string; conn: number; op: number; xid: number; zxid: number; at: number }
  | { kind: 'watch'; session: string; conn: number; path: string; type: number; at: number };

export interface AppliedTxn {
  zxid: number;
  payload: Uint8Array;
}

export interface EnsembleRecord {
  /** The static ensemble: who votes until a reconfig in the committed log changes it. */
  voters: string[];
  /** Per member life (`id#incarnation`): the committed transactions it applied, in order. */
  applied: Map<string, AppliedTxn[]>;
  /** Per zxid, when some member first applied it: the members whose disks held it durably then (their acks made the commit). */
  holders: Map<number, string[]>;
  /** Every configuration a member took as committed (and would elect by), and when. */
  configs: { member: string; version: number; text: string; at: number }[];
  /** Every time a member became leader. */
  leaders: { epoch: number; member: string; at: number }[];
  /** Every session expiry proposed, by whom, and whether that member led the epoch then. */
  expiries: { session: string; by: string; leading: boolean; at: number }[];
  /** Each member's lifecycle — crashes, restarts, roles, phases, ends and why — for a failing seed's trace. */
  trace: { at: number; member: string; what: string }[];
  /** At quiescence: each live member's last applied zxid and tree digest. */
  final: { member: string; lastZxid: number; digest: string }[];
}

export interface History {
  ops: HistOp[];
  events: ClientEvent[];
  ensemble: EnsembleRecord;
}

export interface Violation {
  kind:
    | 'logs-diverge'
    | 'lost-write'
    | 'reply-mismatch'
    | 'not-linearizable'
    | 'stale-read'
    | 'read-mismatch'
    | 'fifo'
    | 'watch-order'
    | 'digests-differ'
    | 'two-leaders'
    | 'expiry-not-by-leader'
    /** A transaction committed without being durable on a quorum of the voters (of both, for a configuration change). */
    | 'no-quorum'
    /** A member took as committed a configuration that the committed log does not hold. */
    | 'config-not-committed'
    /** An invariant the real code asserts threw, or the simulated process failed. */
    | 'assertion'
    /** After every fault healed, the ensemble did not come back to serving with one history. */
    | 'stuck';
  detail: string;
}

export function emptyRecord(voters: string[] = []): EnsembleRecord {
  return { voters, applied: new Map(), holders: new Map(), configs: [], leaders: [], expiries: [], trace: [], final: [] };
}
