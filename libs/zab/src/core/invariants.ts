import { assert } from '../assert.js';
import { isQuorum } from '../quorum.js';

/**
 * What a core promises about itself across any transition. Cores take these
 * facts before and after each phase change and commit and check them in
 * pairs, as TigerBeetle does: a bug shows where it happens, not later as a
 * diverged replica.
 */
export interface Facts {
  acceptedEpoch: number;
  currentEpoch: number;
  /** The last zxid logged (learner) or proposed (leader). */
  lastLogged: number;
  /** The commit point this core has handed out. */
  committed: number;
}

export function checkTransition(before: Facts, after: Facts, where: string): void {
  assert(after.acceptedEpoch >= before.acceptedEpoch, `${where}: accepted epoch went back (${before.acceptedEpoch} → ${after.acceptedEpoch})`);
  assert(after.currentEpoch >= before.currentEpoch, `${where}: current epoch went back (${before.currentEpoch} → ${after.currentEpoch})`);
  assert(after.currentEpoch <= after.acceptedEpoch, `${where}: current epoch ${after.currentEpoch} above accepted ${after.acceptedEpoch}`);
  assert(after.committed >= before.committed, `${where}: commit point went back (${before.committed} → ${after.committed})`);
  assert(after.committed <= after.lastLogged, `${where}: commit point ${after.committed} beyond the last logged ${after.lastLogged}`);
}

/** Zxids of proposals taken in order: each strictly above the one before. */
export function checkAppend(last: number, zxids: Iterable<number>, where: string): number {
  for (const z of zxids) {
    assert(z > last, `${where}: zxid ${z} after ${last} does not increase`);
    last = z;
  }
  return last;
}

/** A quorum is a majority of the current voter set, counting voters only. */
export function checkQuorum(members: Iterable<string>, voters: readonly string[], where: string): void {
  let n = 0;
  for (const m of members) if (voters.includes(m)) n++;
  assert(isQuorum(n, voters.length), `${where}: ${n} of ${voters.length} voters is not a quorum`);
}

/**
 * The established leaders this member has seen (led, or been told uptodate
 * by), per epoch. Zab establishes at most one leader per epoch; as far as
 * one member can see, no epoch has two. Only establishment counts: a
 * would-be leader that chose an epoch and failed is not its leader. A host
 * keeps one for the member's life, across its role stints.
 */
export class EpochLeaders {
  private readonly seen = new Map<number, string>();

  note(epoch: number, leader: string): void {
    const known = this.seen.get(epoch);
    assert(known === undefined || known === leader, `two leaders for epoch ${epoch}: ${known} and ${leader}`);
    this.seen.set(epoch, leader);
  }
}
