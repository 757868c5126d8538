import type { Broadcast, Forwarded, GwToLearner, LearnerToGw, ToLeader, ToLearner, Vote } from '@zooid/protocol';

/** Everything that travels on the simulated bus: the members' real messages, and the hosts' plumbing around them. */
export type SimMsg =
  | { t: 'vote'; vote: Vote }
  | { t: 'toLeader'; msg: ToLeader }
  | { t: 'toLearner'; msg: ToLearner }
  | { t: 'broadcast'; msg: Broadcast }
  /** The liveness probe of zab.alive.<leader>.<epoch>, and its answers. */
  | { t: 'probe'; epoch: number; n: number }
  | { t: 'alive'; n: number; answered: boolean }
  /** Learner → leader: forwarded writes, numbered per stint so a lost batch shows. */
  | { t: 'fwd'; attempt: number; seq: number; entries: Forwarded[] }
  /** Gateway → member → leader: sessions with a live connection. */
  | { t: 'touch'; sessions: bigint[] }
  /** Gateway ↔ learner batches, numbered in series per sender and receiver so a lost batch shows. */
  | { t: 'gw'; series: number; seq: number; entries: GwToLearner[] }
  | { t: 'out'; series: number; seq: number; entries: LearnerToGw[] }
  /** Learner → gateway: not serving (as its announcement tells the gateways): move what is pinned here. */
  | { t: 'stopped' };
