export { DataTree, type ApplyResult, type SessionInfo, type WatchTrigger } from './tree.js';
export { Preparer, sequenceSuffix, type CreateSessionRequest, type DeleteContainerRequest } from './prep.js';
export { executeRead, executeWatchOp, type ReadResult } from './reads.js';
export { WatchManager, type Notification } from './watches.js';
export { authenticate, checkACL, digestOf, fixupACL, ipMatches, isSuper, maskDigests, type AuthContext } from './acl.js';
export { encodeTxn, decodeTxn, txnType } from './txn.js';
export { Slabs } from './slabs.js';
export {
  ackingConfigs,
  ConfigError,
  formatConfig,
  formatServer,
  isQuorum,
  isQuorumOfAll,
  memberServer,
  serverLine,
  observers,
  parseConfig,
  parseServer,
  staticEnsemble,
  voterIds,
  voters,
  type Ensemble,
  type LearnerType,
  type Member,
} from './ensemble.js';
export { CONFIG } from './paths.js';
export { committedEnsemble, configOf, prepareReconfig, staticConfigTxn, type ReconfigContext, type ReconfigOutcome } from './reconfig.js';
export { MemberConfig } from './member-config.js';
export type { ReconfigJudge } from './prep.js';
export type {
  Txn,
  TxnHeader,
  SubTxn,
  CreateOp,
  CreateTxn,
  DeleteTxn,
  DeleteContainerTxn,
  SetDataTxn,
  SetACLTxn,
  CheckTxn,
  MultiTxn,
  ErrorTxn,
  CreateSessionTxn,
  CloseSessionTxn,
  ReconfigTxn,
} from './txn.js';
export { SnapshotDecoder, SnapshotEncoder, encodeSnapshot, decodeSnapshot } from './snapshot.js';
export { passwordVerifier, verifiesPassword } from './session-secret.js';
export { DigestMd5Server, SASL_DIGEST_SERVER_NAME, type SaslStep } from './sasl-digest.js';
export { CONTAINER_OWNER, MAX_TTL, toStat, ttlOf, type NodeKind } from './stat.js';
export type { ZNode } from './node-store.js';
export { DEFAULT_MAX_DATA_BYTES, type TreeConfig } from './config.js';
