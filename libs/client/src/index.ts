export { ZooKeeperClient, parseConnectString } from './client.js';
export type { ClientOptions, ClientState, HostPort, ClientEvents } from './client.js';
export { ZooKeeperError, errorCode, errorName, isZooKeeperError } from './errors.js';
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
