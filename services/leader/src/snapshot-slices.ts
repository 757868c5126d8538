import { setImmediate as nextTurn } from 'node:timers/promises';

/** Snapshots, log tails and syncs smaller than this finish too fast to be worth a progress report. */
export const PROGRESS_MIN_BYTES = 4 * 1024 * 1024;

/** Encoding or decoding a snapshot runs this long before the event loop gets a turn. */
export const SNAPSHOT_SLICE_MS = 8;
/** Nodes encoded or decoded between two looks at the clock. */
export const SNAPSHOT_STEP_NODES = 256;

/** The tree a snapshot was being taken of was replaced (SNAP, TRUNC), the store closed, or the sync it was for was given up. */
export class SnapshotAbandoned extends Error {}

/**
 * Calls step until it says it is done, SNAPSHOT_SLICE_MS of it per turn of
 * the event loop; `between` runs at each turn and may throw to give up.
 */
export async function inSlices(step: () => boolean, between: () => void): Promise<void> {
  for (;;) {
    const until = performance.now() + SNAPSHOT_SLICE_MS;
    do {
      if (step()) return;
    } while (performance.now() < until);
    await nextTurn();
    between();
  }
}
