let queued: Array<() => void> = [];

/**
 * Runs fn at the end of this turn of the event loop, in one callback with
 * everything else queued for it. A process's batchers (replies to gateways,
 * writes forwarded to the leader, broadcasts, acks) all publish from that
 * one callback, so the NATS client sends what a turn produced in one socket
 * write rather than one write per batcher.
 */
export function atTurnEnd(fn: () => void): void {
  if (queued.push(fn) === 1) setImmediate(runQueued);
}

function runQueued(): void {
  const fns = queued;
  queued = [];
  let failure: { err: unknown } | undefined;
  for (const fn of fns) {
    try {
      fn();
    } catch (err) {
      failure ??= { err };
    }
  }
  // The others ran; the first failure still fails the process, as a throw in setImmediate would.
  if (failure) throw failure.err;
}
