/**
 * The shapes of the client's API: watch events and watchers, create modes,
 * multi operations and their results.
 */
import { AddWatchMode, CreateFlags, EventType, KeeperState, WatcherType } from '@zooid/protocol/wire';
import type { ACL, Stat } from '@zooid/protocol/wire';
import type { ErrorCodeName } from './errors.js';

export type { ACL, Id, Stat, ClientInfo } from '@zooid/protocol/wire';

/** Watcher.Event.EventType by name. */
export type EventTypeName = keyof typeof EventType;
/** Watcher.Event.KeeperState by name. */
export type KeeperStateName = keyof typeof KeeperState;

/**
 * What a watcher receives. Watch events carry SyncConnected and a path;
 * session events (type None, path null) go to the default watcher only.
 */
export interface WatchedEvent {
  type: EventTypeName;
  state: KeeperStateName;
  path: string | null;
}

export type Watcher = (event: WatchedEvent) => void;

/** CreateMode by name, as Java spells it. */
export type CreateMode = keyof typeof CreateFlags;
/** AddWatchMode by name. */
export type AddWatchModeName = keyof typeof AddWatchMode;
/** Watcher.WatcherType by name, for removeWatches. */
export type WatcherTypeName = keyof typeof WatcherType;

/** Znode data as given to the client: a string is sent as UTF-8; null is "no data". */
export type Data = string | Uint8Array | null;

export interface CreateOptions {
  mode?: CreateMode;
  /** Default: OPEN_ACL_UNSAFE (world:anyone:cdrwa). */
  acl?: ACL[];
  /** Milliseconds; required by the *_WITH_TTL modes and refused by the others. */
  ttl?: number;
}

/** One write of a `multi` transaction. Build them with `op.*`. */
export type Op =
  | { type: 'create'; path: string; data: Data; mode: CreateMode; acl: ACL[] | undefined; ttl: number | undefined }
  | { type: 'delete'; path: string; version: number }
  | { type: 'setData'; path: string; data: Data; version: number }
  | { type: 'check'; path: string; version: number };

/** One read of a `multiRead`. */
export type ReadOp = { type: 'getData'; path: string } | { type: 'getChildren'; path: string };

export const op = {
  create: (path: string, data: Data = null, opts: CreateOptions = {}): Op => ({
    type: 'create',
    path,
    data,
    mode: opts.mode ?? 'PERSISTENT',
    acl: opts.acl,
    ttl: opts.ttl,
  }),
  delete: (path: string, version = -1): Op => ({ type: 'delete', path, version }),
  setData: (path: string, data: Data, version = -1): Op => ({ type: 'setData', path, data, version }),
  check: (path: string, version: number): Op => ({ type: 'check', path, version }),
  getData: (path: string): ReadOp => ({ type: 'getData', path }),
  getChildren: (path: string): ReadOp => ({ type: 'getChildren', path }),
};

/**
 * One result of `multi` or `multiRead`. A create reports a stat when the
 * server sent one (container and TTL creates do). An op of a failed multi,
 * or a failed read of a multiRead, is an `error` with its code: in a failed
 * multi the ops before the culprit read 'Ok' and those after it
 * 'RuntimeInconsistency', as ZooKeeper answers.
 */
export type MultiResultItem =
  | { type: 'create'; path: string; stat?: Stat }
  | { type: 'delete' }
  | { type: 'setData'; stat: Stat }
  | { type: 'check' }
  | { type: 'getData'; data: Buffer | null; stat: Stat }
  | { type: 'getChildren'; children: string[] }
  | { type: 'error'; code: ErrorCodeName; rc: number };

export const EVENT_TYPE_NAMES = invert(EventType) as Record<number, EventTypeName>;
export const KEEPER_STATE_NAMES = invert(KeeperState) as Record<number, KeeperStateName>;

function invert(o: Record<string, number>): Record<number, string> {
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [v, k]));
}

/** Java's WatchedEvent.toString(): `WatchedEvent state:SyncConnected type:NodeDataChanged path:/x`. */
export function formatEvent(e: WatchedEvent): string {
  return `WatchedEvent state:${e.state} type:${e.type} path:${e.path}`;
}
