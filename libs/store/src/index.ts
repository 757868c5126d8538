export type { LogRecord } from './record.js';
export type { LogFn } from './fsutil.js';
export { LogReading, TxnLog, type TxnLogOptions } from './txnlog.js';
export { SnapshotStore, type Snapshot, type SnapshotStoreOptions, type SnapshotStream } from './snapshot.js';
export { EpochFiles } from './epoch.js';
export { CommittedConfigFile } from './config-file.js';
export { recover, type Recovered, type RecoverOptions } from './recover.js';
