export { ZooKeeperClient, bounded, parseConnectString } from './client.js';
export type { BoundedCalls, CallOptions, ClientOptions, ClientState, HostPort, ClientEvents, WatchOptions, WatchStream } from './client.js';
export { Transaction } from './transaction.js';
export type { CheckResult, CreateResult, DeleteResult, SetDataResult } from './transaction.js';
export {
  AuthFailedError,
  BadArgumentsError,
  BadVersionError,
  ConnectionLossError,
  InvalidACLError,
  NoAuthError,
  NoChildrenForEphemeralsError,
  NoNodeError,
  NoWatcherError,
  NodeExistsError,
  NotEmptyError,
  OperationTimeoutError,
  SessionExpiredError,
  SessionMovedError,
  UnimplementedError,
  ZooKeeperError,
  errorCode,
  errorName,
  isZooKeeperError,
  zkError,
} from './errors.js';
export type { ErrorCodeName } from './errors.js';
export { op, formatEvent } from './types.js';
export type {
  ACL,
  AddWatchModeName,
  ClientInfo,
  CreateMode,
  CreateOptions,
  Data,
  EventTypeName,
  Id,
  KeeperStateName,
  MultiResultItem,
  Op,
  ReadOp,
  Stat,
  WatchedEvent,
  Watcher,
  WatcherTypeName,
} from './types.js';
export { CREATOR_ALL_ACL, OPEN_ACL_UNSAFE, Perms, READ_ACL_UNSAFE, digestId, formatPerms, parseAcl, parsePerms } from './acl.js';
