import { InvariantError, type Effect, type Effects } from '@zooid/zab';
import type { EpochFiles } from '@zooid/store';
import type { Logger } from '@zooid/runtime';

/**
 * Calls into a Zab core for a host. A broken invariant means this member's
 * state can no longer be trusted, so it crashes the process — from outside
 * the bus callback, which would log the error and carry on. The supervisor
 * or the operator restarts it from its disk.
 */
export function callCore(log: Logger, call: () => Effects): Effects {
  try {
    return call();
  } catch (err) {
    if (!(err instanceof InvariantError)) throw err;
    log.fatal({ err }, 'invariant violated; stopping the process');
    setImmediate(() => {
      throw err;
    });
    return [];
  }
}

/** Writes (and fsyncs) an epoch file, as a `persistEpoch` effect asks before anything after it. */
export function persistEpoch(epochs: EpochFiles, e: Extract<Effect, { type: 'persistEpoch' }>): void {
  if (e.kind === 'accepted') epochs.writeAccepted(e.epoch, e.leader);
  else epochs.writeCurrent(e.epoch);
}
