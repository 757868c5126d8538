import { chmod, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { EpochFiles } from './epoch.js';
import { PRIVATE_DIR, type LogFn } from './fsutil.js';
import { SnapshotStore, type Snapshot } from './snapshot.js';
import { TxnLog, type LogReading } from './txnlog.js';

export interface RecoverOptions {
  segmentBytes?: number;
  retain?: number;
  log?: LogFn;
  /** See SnapshotStoreOptions.pruneOnWrite. */
  pruneOnWrite?: boolean;
}

export interface Recovered {
  log: TxnLog;
  snapshots: SnapshotStore;
  epochs: EpochFiles;
  /** The newest snapshot that verifies, or null to start from an empty state. */
  snapshot: Snapshot | null;
  /** The logged records after the snapshot, to apply on top of it in order. */
  replay: LogReading;
}

/**
 * Opens a member's data directory, laid out as dir/log (segments),
 * dir/snapshots and dir/{acceptedEpoch,currentEpoch}: the newest valid
 * snapshot and the log records after it.
 */
export async function recover(dir: string, opts: RecoverOptions = {}): Promise<Recovered> {
  // Also a data directory made by an older version or by hand: it holds every client's data.
  await mkdir(dir, { recursive: true, mode: PRIVATE_DIR });
  await chmod(dir, PRIVATE_DIR);
  const log = await TxnLog.open(join(dir, 'log'), { segmentBytes: opts.segmentBytes, log: opts.log });
  const snapshots = new SnapshotStore(join(dir, 'snapshots'), { retain: opts.retain, log: opts.log, pruneOnWrite: opts.pruneOnWrite });
  const snapshot = await snapshots.loadNewest();
  return { log, snapshots, epochs: new EpochFiles(dir), snapshot, replay: log.read(snapshot?.zxid ?? 0) };
}
