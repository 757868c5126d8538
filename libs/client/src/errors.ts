/**
 * ZooKeeper's error codes under the names of the Java client's
 * KeeperException subclasses (NoNode, NodeExists, BadVersion, ...), and the
 * one error class every failed call rejects with.
 */
import { Err } from '@zooid/protocol/wire';
import type { MultiResultItem } from './types.js';

const NAMES = {
  [Err.OK]: 'Ok',
  [Err.SYSTEMERROR]: 'SystemError',
  [Err.RUNTIMEINCONSISTENCY]: 'RuntimeInconsistency',
  [Err.DATAINCONSISTENCY]: 'DataInconsistency',
  [Err.CONNECTIONLOSS]: 'ConnectionLoss',
  [Err.MARSHALLINGERROR]: 'MarshallingError',
  [Err.UNIMPLEMENTED]: 'Unimplemented',
  [Err.OPERATIONTIMEOUT]: 'OperationTimeout',
  [Err.BADARGUMENTS]: 'BadArguments',
  [Err.UNKNOWNSESSION]: 'UnknownSession',
  [Err.NEWCONFIGNOQUORUM]: 'NewConfigNoQuorum',
  [Err.RECONFIGINPROGRESS]: 'ReconfigInProgress',
  [Err.APIERROR]: 'APIError',
  [Err.NONODE]: 'NoNode',
  [Err.NOAUTH]: 'NoAuth',
  [Err.BADVERSION]: 'BadVersion',
  [Err.NOCHILDRENFOREPHEMERALS]: 'NoChildrenForEphemerals',
  [Err.NODEEXISTS]: 'NodeExists',
  [Err.NOTEMPTY]: 'NotEmpty',
  [Err.SESSIONEXPIRED]: 'SessionExpired',
  [Err.INVALIDCALLBACK]: 'InvalidCallback',
  [Err.INVALIDACL]: 'InvalidACL',
  [Err.AUTHFAILED]: 'AuthFailed',
  [Err.SESSIONMOVED]: 'SessionMoved',
  [Err.NOTREADONLY]: 'NotReadOnly',
  [Err.EPHEMERALONLOCALSESSION]: 'EphemeralOnLocalSession',
  [Err.NOWATCHER]: 'NoWatcher',
  [Err.REQUESTTIMEOUT]: 'RequestTimeout',
  [Err.RECONFIGDISABLED]: 'ReconfigDisabled',
  [Err.SESSIONCLOSEDREQUIRESASLAUTH]: 'SessionClosedRequireSaslAuth',
  [Err.QUOTAEXCEEDED]: 'QuotaExceeded',
  [Err.THROTTLEDOP]: 'ThrottledOp',
} as const;

/** The code name of a KeeperException, e.g. 'NoNode'. */
export type ErrorCodeName = (typeof NAMES)[keyof typeof NAMES];

/** KeeperException.getCodeMessage: the name, except where Java words it differently. */
const MESSAGES: Partial<Record<ErrorCodeName, string>> = {
  Ok: 'ok',
  NotEmpty: 'Directory not empty',
  SessionExpired: 'Session expired',
  InvalidCallback: 'Invalid callback',
  SessionMoved: 'Session moved',
  NotReadOnly: 'Not a read-only call',
  EphemeralOnLocalSession: 'Ephemeral node on local session',
  NoWatcher: 'No such watcher',
  ReconfigDisabled: 'Reconfig is disabled',
  SessionClosedRequireSaslAuth: 'Session closed because client failed to authenticate',
  QuotaExceeded: 'Quota has exceeded',
  ThrottledOp: 'Op throttled due to high load',
};

const CODES = new Map<string, number>(Object.entries(NAMES).map(([rc, name]) => [name, Number(rc)]));

/** The name of a numeric error code; an unknown code reads as 'Unknown<rc>'. */
export function errorName(rc: number): ErrorCodeName {
  return (NAMES as Record<number, ErrorCodeName>)[rc] ?? (`Unknown${rc}` as ErrorCodeName);
}

/** The numeric code of a name, e.g. errorCode('NoNode') === -101. */
export function errorCode(name: ErrorCodeName): number {
  return CODES.get(name) ?? Err.SYSTEMERROR;
}

/**
 * A failed ZooKeeper call. `code` is the Java exception's name ('NoNode',
 * 'NodeExists', 'ConnectionLoss', ...), `rc` the wire value, `path` the
 * path of the call when it has one; the message reads like Java's
 * ("KeeperErrorCode = NoNode for /x"). A failed multi carries every op's
 * result in `results`.
 */
export class ZooKeeperError extends Error {
  override name = 'ZooKeeperError';
  readonly rc: number;
  results?: MultiResultItem[];

  constructor(
    readonly code: ErrorCodeName,
    readonly path?: string,
    detail?: string,
    rc?: number,
  ) {
    super(detail ?? `KeeperErrorCode = ${MESSAGES[code] ?? code}${path ? ` for ${path}` : ''}`);
    this.rc = rc ?? errorCode(code);
  }

  static fromRc(rc: number, path?: string): ZooKeeperError {
    return zkError(errorName(rc), path, undefined, rc);
  }
}

/** A class per common code, so callers can `catch (e) { if (e instanceof NoNodeError) ... }`; each is a ZooKeeperError with that `code`. */
function subclass<C extends ErrorCodeName>(code: C) {
  return class extends ZooKeeperError {
    declare readonly code: C;
    constructor(path?: string, detail?: string) {
      super(code, path, detail);
      this.name = `${code}Error`;
    }
  };
}

export class NoNodeError extends subclass('NoNode') {}
export class NodeExistsError extends subclass('NodeExists') {}
export class BadVersionError extends subclass('BadVersion') {}
export class NotEmptyError extends subclass('NotEmpty') {}
export class NoChildrenForEphemeralsError extends subclass('NoChildrenForEphemerals') {}
export class NoAuthError extends subclass('NoAuth') {}
export class InvalidACLError extends subclass('InvalidACL') {}
export class AuthFailedError extends subclass('AuthFailed') {}
export class BadArgumentsError extends subclass('BadArguments') {}
export class ConnectionLossError extends subclass('ConnectionLoss') {}
export class SessionExpiredError extends subclass('SessionExpired') {}
export class SessionMovedError extends subclass('SessionMoved') {}
export class OperationTimeoutError extends subclass('OperationTimeout') {}
export class NoWatcherError extends subclass('NoWatcher') {}
export class UnimplementedError extends subclass('Unimplemented') {}

const CLASSES: Partial<Record<ErrorCodeName, new (path?: string, detail?: string) => ZooKeeperError>> = {
  NoNode: NoNodeError,
  NodeExists: NodeExistsError,
  BadVersion: BadVersionError,
  NotEmpty: NotEmptyError,
  NoChildrenForEphemerals: NoChildrenForEphemeralsError,
  NoAuth: NoAuthError,
  InvalidACL: InvalidACLError,
  AuthFailed: AuthFailedError,
  BadArguments: BadArgumentsError,
  ConnectionLoss: ConnectionLossError,
  SessionExpired: SessionExpiredError,
  SessionMoved: SessionMovedError,
  OperationTimeout: OperationTimeoutError,
  NoWatcher: NoWatcherError,
  Unimplemented: UnimplementedError,
};

/** The error of `code`: its own class when it has one, else a plain ZooKeeperError. */
export function zkError(code: ErrorCodeName, path?: string, detail?: string, rc?: number): ZooKeeperError {
  const C = CLASSES[code];
  return C ? new C(path, detail) : new ZooKeeperError(code, path, detail, rc);
}

/** True when `err` is a ZooKeeperError, and of the given code when one is named. */
export function isZooKeeperError(err: unknown, code?: ErrorCodeName): err is ZooKeeperError {
  return err instanceof ZooKeeperError && (code === undefined || err.code === code);
}
