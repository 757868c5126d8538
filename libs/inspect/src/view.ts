/**
 * The shapes the gateway sends the inspector page (JSON over Server-Sent
 * Events). No imports: the page's scripts are compiled from the same file.
 */

export type ServiceKind = 'member' | 'observer' | 'gateway';

/** One actor of a service, as its latest inspect message had it. */
export interface ActorView {
  key: string;
  machine: string;
  value: unknown;
  status: string;
  context?: Record<string, string | number | boolean>;
  counts?: Record<string, number>;
}

export interface ServiceView {
  kind: ServiceKind;
  id: string;
  /** Presence role: looking, leading, following, observing, syncing, gateway; `gone` once silent. */
  role: string;
  serving: boolean;
  gone: boolean;
  pid: number;
  host: string;
  epoch: number;
  /** Last applied zxid, hex. */
  zxid: string;
  /** Transactions behind the leader (same epoch), when known. */
  lag?: number;
  /** A voting member's committed configuration version (hex), and whether it votes in it. */
  config?: string;
  voting?: boolean;
  sessions: number;
  watches?: number;
  znodes?: number;
  clientPort?: number;
  adminPort?: number;
  lastSeen: number;
  /** The Zab phase of the member's current role stint (discovery, synchronization, broadcast). */
  phase?: string;
  actors: ActorView[];
}

export interface VoteView {
  from: string;
  state: 'looking' | 'following' | 'leading';
  round: number;
  leader: string;
  epoch: number;
  zxid: number;
  zxidHex: string;
  at: number;
}

export interface ClusterView {
  cluster: string;
  at: number;
  leader?: string;
  members: ServiceView[];
  gateways: ServiceView[];
  election: { looking: string[]; votes: VoteView[] };
  totals: { sessions: number; watches: number; znodes: number; connections: number };
}

export interface LogEntry {
  n: number;
  at: number;
  service: string;
  kind: string;
  actor: string;
  machine: string;
  type: string;
  from?: string;
  to?: string;
}

/** A znode as `/inspect/tree?path=` returns it. */
export interface TreeNode {
  path: string;
  error?: string;
  from?: string;
  kind?: string;
  stat?: Record<string, string | number>;
  data?: string;
  text?: string | null;
  children?: string[];
  /** How many children each listed child has. */
  childCounts?: number[];
  numChildren?: number;
}
