/** Invariant check: a broken invariant stops the process rather than corrupting state. */
export function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(`invariant violated: ${msg}`);
}
