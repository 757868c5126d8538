import { assert } from './assert.js';

/** The smallest majority of `voters`: any two quorums share a member. */
export function quorumSize(voters: number): number {
  assert(voters > 0, 'an ensemble has at least one voter');
  return Math.floor(voters / 2) + 1;
}

export function isQuorum(count: number, voters: number): boolean {
  return count >= quorumSize(voters);
}

/** zxid = epoch in the high 32 bits, a counter in the low 32 (kept below 2^53). */
export function epochOf(zxid: number): number {
  return Math.floor(zxid / 2 ** 32);
}

export function makeZxid(epoch: number, counter: number): number {
  assert(epoch >= 0 && epoch < 2 ** 21 && counter >= 0 && counter < 2 ** 32, 'zxid out of range');
  return epoch * 2 ** 32 + counter;
}
