/**
 * Watches of the sessions a learner serves (ZooKeeper's WatchManager pair:
 * one table for data watches, one for child watches).
 *
 * - getData/exists register a one-shot data watch (exists also on a missing
 *   node), getChildren a one-shot child watch.
 * - addWatch PERSISTENT puts a persistent watch in both tables: it sees
 *   NodeCreated/NodeDataChanged/NodeDeleted and NodeChildrenChanged of its
 *   path. PERSISTENT_RECURSIVE lives in the data table only and sees
 *   NodeCreated/NodeDataChanged/NodeDeleted of its path and every path below,
 *   never NodeChildrenChanged.
 * - A session may hold several modes on one path at once (ZooKeeper 3.9's
 *   WatchStats, ZOOKEEPER-4466): in 3.8 a getData on a path with a persistent
 *   watch silently turned it into a one-shot one, a bug no client relies on.
 *   checkWatches/removeWatches follow 3.9 too: Data and Children mean the
 *   one-shot watches, Persistent and PersistentRecursive (types 4, 5) the
 *   others, Any all of them — for the asking session only (3.8 answered
 *   checkWatches OK if any session watched the path).
 * - A session is told about a node only if it may READ it: the node's ACL for
 *   created/changed/deleted, the parent's for children changed (3.8.4+,
 *   CVE-2024-23944). The one-shot watch is used up either way.
 */
import { Err, EventType, KeeperState, Perms, WatcherType, AddWatchMode } from '@zooid/protocol';
import type { Id, WatcherEvent } from '@zooid/protocol';
import { checkACL } from './acl.js';
import type { TreeConfig } from './config.js';
import { parentOf } from './paths.js';
import type { DataTree, WatchTrigger } from './tree.js';

const STANDARD = 1;
const PERSISTENT = 2;
const RECURSIVE = 4;
const ALL_MODES = STANDARD | PERSISTENT | RECURSIVE;
const NOBODY: readonly bigint[] = [];
const NO_IDS: readonly Id[] = [];

export interface Notification {
  sessionId: bigint;
  event: WatcherEvent;
}

/** One table: path → session → mode bits, plus the reverse index for per-session work. */
class WatchTable {
  readonly byPath = new Map<string, Map<bigint, number>>();
  readonly bySession = new Map<bigint, Set<string>>();
  /** Entries with the RECURSIVE bit; while 0, triggers skip the walk up the parents. */
  recursive = 0;
  /** Number of (path, session) entries: ZooKeeper's watch count. */
  entries = 0;

  add(sessionId: bigint, path: string, mode: number): void {
    let watchers = this.byPath.get(path);
    if (watchers === undefined) this.byPath.set(path, (watchers = new Map()));
    const old = watchers.get(sessionId) ?? 0;
    if (old === 0) {
      this.entries++;
      let paths = this.bySession.get(sessionId);
      if (paths === undefined) this.bySession.set(sessionId, (paths = new Set()));
      paths.add(path);
    }
    if (mode & RECURSIVE && !(old & RECURSIVE)) this.recursive++;
    watchers.set(sessionId, old | mode);
  }

  has(sessionId: bigint, path: string, modes: number): boolean {
    return ((this.byPath.get(path)?.get(sessionId) ?? 0) & modes) !== 0;
  }

  /** Clears `modes` of one entry; true if any was set. */
  remove(sessionId: bigint, path: string, modes: number): boolean {
    const watchers = this.byPath.get(path);
    const old = watchers?.get(sessionId) ?? 0;
    if ((old & modes) === 0) return false;
    this.setMode(watchers!, sessionId, path, old, old & ~modes);
    return true;
  }

  removeSession(sessionId: bigint): void {
    for (const path of this.bySession.get(sessionId) ?? []) {
      const watchers = this.byPath.get(path)!;
      this.setMode(watchers, sessionId, path, watchers.get(sessionId)!, 0);
    }
  }

  setMode(watchers: Map<bigint, number>, sessionId: bigint, path: string, old: number, mode: number): void {
    if (old & RECURSIVE && !(mode & RECURSIVE)) this.recursive--;
    if (mode !== 0) {
      watchers.set(sessionId, mode);
      return;
    }
    watchers.delete(sessionId);
    if (watchers.size === 0) this.byPath.delete(path);
    this.entries--;
    const paths = this.bySession.get(sessionId)!;
    paths.delete(path);
    if (paths.size === 0) this.bySession.delete(sessionId);
  }

  /**
   * WatchManager.triggerWatch: the sessions to notify for an event on `path`
   * (in a stable order), using up one-shot watches. Recursive watches on the
   * parents see every event but NodeChildrenChanged.
   */
  fire(path: string, type: number): readonly bigint[] {
    const watchers = this.byPath.get(path);
    const walkUp = this.recursive > 0 && type !== EventType.NodeChildrenChanged;
    if (watchers === undefined && !walkUp) return NOBODY;
    const out: bigint[] = [];
    if (watchers !== undefined) {
      for (const [sessionId, mode] of watchers) {
        out.push(sessionId);
        if (mode & STANDARD) this.setMode(watchers, sessionId, path, mode, mode & ~STANDARD);
      }
    }
    if (walkUp) {
      let seen: Set<bigint> | null = null;
      for (let p = parentOf(path); p !== null; p = p === '' ? null : parentOf(p)) {
        const above = this.byPath.get(p === '' ? '/' : p);
        if (above === undefined) continue;
        for (const [sessionId, mode] of above) {
          if (!(mode & RECURSIVE)) continue;
          seen ??= new Set(out);
          if (seen.has(sessionId)) continue;
          seen.add(sessionId);
          out.push(sessionId);
        }
      }
    }
    return out;
  }
}

export class WatchManager {
  private readonly data = new WatchTable();
  private readonly child = new WatchTable();
  private readonly auth = new Map<bigint, readonly Id[]>();

  constructor(private readonly config: TreeConfig = {}) {}

  /**
   * The ids a session's notifications are filtered with. The array is kept by
   * reference, so ids pushed onto it later count too. executeRead and
   * executeWatchOp call this with each request's auth.
   */
  setAuth(sessionId: bigint, ids: readonly Id[]): void {
    this.auth.set(sessionId, ids);
  }

  /** getData/exists with watch=true (exists also on a missing node). */
  addDataWatch(sessionId: bigint, path: string): void {
    this.data.add(sessionId, path, STANDARD);
  }

  /** getChildren with watch=true. */
  addChildWatch(sessionId: bigint, path: string): void {
    this.child.add(sessionId, path, STANDARD);
  }

  /** addWatch; false for an unknown mode (ZooKeeper then answers MARSHALLINGERROR). */
  addWatch(sessionId: bigint, path: string, mode: number): boolean {
    if (mode === AddWatchMode.PERSISTENT) {
      this.data.add(sessionId, path, PERSISTENT);
      this.child.add(sessionId, path, PERSISTENT);
    } else if (mode === AddWatchMode.PERSISTENT_RECURSIVE) {
      this.data.add(sessionId, path, RECURSIVE);
    } else {
      return false;
    }
    return true;
  }

  /** Notifications for a txn's triggers, in the order ZooKeeper sends them. */
  trigger(triggers: readonly WatchTrigger[]): Notification[] {
    const out: Notification[] = [];
    if (this.data.entries === 0 && this.child.entries === 0) return out;
    for (const t of triggers) {
      switch (t.type) {
        case EventType.NodeCreated:
        case EventType.NodeDataChanged:
          this.deliver(this.data.fire(t.path, t.type), t, out, null);
          break;
        case EventType.NodeChildrenChanged:
          this.deliver(this.child.fire(t.path, t.type), t, out, null);
          break;
        case EventType.NodeDeleted: {
          // Both tables fire; a session watching in both hears it once.
          const told = this.data.fire(t.path, t.type);
          this.deliver(told, t, out, null);
          const alsoChild = this.child.fire(t.path, t.type);
          if (alsoChild.length > 0) this.deliver(alsoChild, t, out, told.length > 0 ? new Set(told) : null);
          break;
        }
      }
    }
    return out;
  }

  private deliver(sessions: readonly bigint[], t: WatchTrigger, out: Notification[], skip: Set<bigint> | null): void {
    let event: WatcherEvent | null = null;
    for (const sessionId of sessions) {
      if (skip !== null && skip.has(sessionId)) continue;
      if (!checkACL(t.acl, Perms.READ, this.auth.get(sessionId) ?? NO_IDS, this.config)) continue;
      event ??= { type: t.type, state: KeeperState.SyncConnected, path: t.path };
      out.push({ sessionId, event });
    }
  }

  /**
   * setWatches/setWatches2 after a reconnect: re-registers the client's
   * watches, or — when the node changed after `relativeZxid` (the last zxid
   * the client saw) — returns the event it missed instead.
   */
  setWatches(
    tree: DataTree,
    sessionId: bigint,
    relativeZxid: number,
    lists: { dataWatches: string[]; existWatches: string[]; childWatches: string[]; persistentWatches?: string[]; persistentRecursiveWatches?: string[] },
  ): WatcherEvent[] {
    const events: WatcherEvent[] = [];
    const missed = (type: number, path: string) => events.push({ type, state: KeeperState.SyncConnected, path });
    for (const path of lists.dataWatches) {
      const n = tree.getNode(path);
      if (n === undefined) missed(EventType.NodeDeleted, path);
      else if (n.mzxid > relativeZxid) missed(EventType.NodeDataChanged, path);
      else this.data.add(sessionId, path, STANDARD);
    }
    for (const path of lists.existWatches) {
      if (tree.getNode(path) !== undefined) missed(EventType.NodeCreated, path);
      else this.data.add(sessionId, path, STANDARD);
    }
    for (const path of lists.childWatches) {
      const n = tree.getNode(path);
      if (n === undefined) missed(EventType.NodeDeleted, path);
      else if (n.pzxid > relativeZxid) missed(EventType.NodeChildrenChanged, path);
      else this.child.add(sessionId, path, STANDARD);
    }
    for (const path of lists.persistentWatches ?? []) this.addWatch(sessionId, path, AddWatchMode.PERSISTENT);
    for (const path of lists.persistentRecursiveWatches ?? []) this.addWatch(sessionId, path, AddWatchMode.PERSISTENT_RECURSIVE);
    return events;
  }

  /** checkWatches: OK, NOWATCHER, or MARSHALLINGERROR for an unknown type. */
  checkWatches(sessionId: bigint, path: string, type: number): number {
    let found: boolean;
    switch (type) {
      case WatcherType.Children:
        found = this.child.has(sessionId, path, STANDARD);
        break;
      case WatcherType.Data:
        found = this.data.has(sessionId, path, STANDARD);
        break;
      case WatcherType.Persistent:
        found = this.data.has(sessionId, path, PERSISTENT);
        break;
      case WatcherType.PersistentRecursive:
        found = this.data.has(sessionId, path, RECURSIVE);
        break;
      case WatcherType.Any:
        found = this.child.has(sessionId, path, ALL_MODES) || this.data.has(sessionId, path, ALL_MODES);
        break;
      default:
        return Err.MARSHALLINGERROR;
    }
    return found ? Err.OK : Err.NOWATCHER;
  }

  /** removeWatches: OK, NOWATCHER, or MARSHALLINGERROR for an unknown type. */
  removeWatches(sessionId: bigint, path: string, type: number): number {
    let removed: boolean;
    switch (type) {
      case WatcherType.Children:
        removed = this.child.remove(sessionId, path, STANDARD);
        break;
      case WatcherType.Data:
        removed = this.data.remove(sessionId, path, STANDARD);
        break;
      case WatcherType.Persistent:
        // not short-circuited: both tables hold the persistent watch
        removed = this.child.remove(sessionId, path, PERSISTENT);
        removed = this.data.remove(sessionId, path, PERSISTENT) || removed;
        break;
      case WatcherType.PersistentRecursive:
        removed = this.data.remove(sessionId, path, RECURSIVE);
        break;
      case WatcherType.Any:
        removed = this.child.remove(sessionId, path, ALL_MODES);
        removed = this.data.remove(sessionId, path, ALL_MODES) || removed;
        break;
      default:
        return Err.MARSHALLINGERROR;
    }
    return removed ? Err.OK : Err.NOWATCHER;
  }

  /** The session closed or moved away: drop all its watches. */
  removeSession(sessionId: bigint): void {
    this.data.removeSession(sessionId);
    this.child.removeSession(sessionId);
    this.auth.delete(sessionId);
  }

  /** Watches one session holds: its (path, table) entries, as it would re-register them. */
  sessionCount(sessionId: bigint): number {
    return (this.data.bySession.get(sessionId)?.size ?? 0) + (this.child.bySession.get(sessionId)?.size ?? 0);
  }

  /** zk_watch_count: entries in both tables. */
  get count(): number {
    return this.data.entries + this.child.entries;
  }

  /** wchs. Like ZooKeeper's, it reports the data table only. */
  summary(): { connections: number; paths: number; watches: number } {
    return { connections: this.data.bySession.size, paths: this.data.byPath.size, watches: this.data.entries };
  }

  /** wchc (data table, as ZooKeeper). */
  bySession(): Array<{ sessionId: bigint; paths: string[] }> {
    return [...this.data.bySession].map(([sessionId, paths]) => ({ sessionId, paths: [...paths] }));
  }

  /** wchp (data table, as ZooKeeper). */
  byPath(): Array<{ path: string; sessionIds: bigint[] }> {
    return [...this.data.byPath].map(([path, watchers]) => ({ path, sessionIds: [...watchers.keys()] }));
  }
}
