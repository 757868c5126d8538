/** A broken invariant: the member's state can no longer be trusted. */
export class InvariantError extends Error {}

/** Invariant check: a broken invariant stops the process rather than corrupting state. */
export function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new InvariantError(`invariant violated: ${msg}`);
}
