import type { Vote } from '@zooid/protocol';
import { isQuorum } from './quorum.js';

/** What a member proposes as leader: compared by epoch, then zxid, then id. */
export interface Proposal {
  leader: string;
  epoch: number;
  zxid: number;
}

/** Total order on proposals: the most up-to-date history wins, ties broken by id. */
export function better(a: Proposal, b: Proposal): boolean {
  if (a.epoch !== b.epoch) return a.epoch > b.epoch;
  if (a.zxid !== b.zxid) return a.zxid > b.zxid;
  return compareIds(a.leader, b.leader) > 0;
}

export function compareIds(a: string, b: string): number {
  const na = Number(a);
  const nb = Number(b);
  if (Number.isInteger(na) && Number.isInteger(nb)) return na - nb;
  return a < b ? -1 : a > b ? 1 : 0;
}

const same = (a: Proposal, b: Proposal) => a.leader === b.leader && a.epoch === b.epoch && a.zxid === b.zxid;

export interface ElectionStep {
  /** Broadcast this vote (our proposal changed, or a peer is behind). */
  send?: Vote;
  /** The ensemble already has a leader that a quorum follows: join it. */
  join?: Proposal & { round: number };
}

/**
 * Fast leader election as pure code: votes in, votes and decisions out.
 * Every looking member proposes the most up-to-date history it has heard of;
 * once a quorum proposes the same one, that member leads. Members that have
 * already decided answer with the leader they follow, so a member that
 * restarts joins the existing leader instead of forcing an election.
 *
 * A member that has logged a configuration change it has not seen commit
 * counts votes as ZooKeeper's election does with its last-seen quorum
 * verifier: a decision needs a quorum of the committed voters AND one of the
 * change's. Either may be the configuration a leader establishes, so a quorum
 * of only one of them could elect a second leader beside one the other set
 * elected.
 */
export class Election {
  private proposal: Proposal;
  private readonly votes = new Map<string, Proposal>();
  private readonly decided = new Map<string, Vote>();
  /** Every voter set a decision needs a quorum of: the committed one, then a pending change's. */
  private readonly sets: readonly (readonly string[])[];

  constructor(
    private readonly self: string,
    voters: readonly string[],
    private readonly own: Proposal,
    public round: number,
    pending?: readonly string[],
  ) {
    this.sets = pending ? [voters, pending] : [voters];
    this.proposal = { ...own };
    this.votes.set(self, this.proposal);
  }

  private isVoter(id: string): boolean {
    return this.sets.some((set) => set.includes(id));
  }

  /** Whether we and those that `agree` are a quorum of every set (we count only where we are a voter). */
  private quorumOfEach(agree: (id: string) => boolean): boolean {
    return this.sets.every((set) => isQuorum(set.filter((id) => id === this.self || agree(id)).length, set.length));
  }

  /**
   * Whether we take `v`'s proposal over `than`: a better history, for a
   * leader that votes in our committed configuration, as ZooKeeper's
   * totalOrderPredicate gives any other member no weight. A voter only a
   * pending change adds is no candidate either: members that have not logged
   * the change would not take it up, while those that have would hold out
   * for it, and no quorum would form; and passed on to members that do not
   * count it, it could be elected though by its own configuration it may not
   * lead. For the same reason a proposal for such a member (our own, when we
   * are one) gives way to any that may be taken up, as ZooKeeper starts such
   * a member's vote at the lowest rank.
   */
  private adoptable(v: Proposal, than: Proposal): boolean {
    const candidates = this.sets[0]!;
    return candidates.includes(v.leader) && (!candidates.includes(than.leader) || better(v, than));
  }

  vote(): Vote {
    return { from: this.self, state: 'looking', round: this.round, ...this.proposal };
  }

  current(): Proposal {
    return this.proposal;
  }

  receive(v: Vote): ElectionStep {
    if (!this.isVoter(v.from) || v.from === this.self) return {};
    if (v.state !== 'looking') return this.fromDecided(v);
    if (v.round < this.round) return { send: this.vote() };
    let changed = false;
    if (v.round > this.round) {
      this.round = v.round;
      this.votes.clear();
      this.proposal = this.adoptable(v, this.own) ? pick(v) : { ...this.own };
      changed = true;
    } else if (this.adoptable(v, this.proposal)) {
      this.proposal = pick(v);
      changed = true;
    }
    this.votes.set(v.from, pick(v));
    this.votes.set(this.self, this.proposal);
    return { send: changed ? this.vote() : undefined };
  }

  /**
   * Whether a quorum of this round's votes matches our proposal. Only
   * voters' votes count: a member joining by reconfig (not yet in the
   * configuration) looks for the leader with the others but is no part of
   * any quorum, and never leads.
   */
  hasQuorum(): boolean {
    if (!this.isVoter(this.self) && this.proposal.leader === this.self) return false;
    const agrees = (id: string) => {
      const p = this.votes.get(id);
      return p !== undefined && same(p, this.proposal);
    };
    return this.quorumOfEach(agrees);
  }

  private fromDecided(v: Vote): ElectionStep {
    this.decided.set(v.from, v);
    // Members that decided for us in our round wait for us to lead: they no
    // longer send looking votes, so their decisions are what make our quorum
    // (ZooKeeper's checkLeader). Anyone else leads only if it says so itself.
    // A member no configuration of ours lists never leads, whatever others say: a removed leader hears its
    // followers' answers of the round that chose it after the change removed it.
    const leaderSaysSo = v.leader === this.self ? v.round === this.round && this.isVoter(this.self) : this.decided.get(v.leader)?.state === 'leading';
    if (!leaderSaysSo) return {};
    const follows = (id: string) => {
      const d = this.decided.get(id);
      return d !== undefined && d.leader === v.leader && (v.leader !== this.self || d.round === this.round);
    };
    // We would follow too, so we count ourselves wherever we are a voter.
    return this.quorumOfEach(follows) ? { join: { leader: v.leader, epoch: v.epoch, zxid: v.zxid, round: v.round } } : {};
  }
}

function pick(v: Vote): Proposal {
  return { leader: v.leader, epoch: v.epoch, zxid: v.zxid };
}
