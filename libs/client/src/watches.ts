/**
 * The client's record of its watches, like Java's ZKWatchManager: which
 * watchers wait on which path, which of them an event fires (one-shot ones
 * are dropped as they fire), and the path lists re-registered after a
 * reconnect.
 */
import { EventType } from '@zooid/protocol/wire';
import type { WatcherTypeName, Watcher } from './types.js';

export type WatchKind = 'data' | 'exist' | 'child' | 'persistent' | 'recursive';

type Table = Map<string, Set<Watcher>>;

export class WatchManager {
  readonly data: Table = new Map();
  readonly exist: Table = new Map();
  readonly child: Table = new Map();
  readonly persistent: Table = new Map();
  readonly recursive: Table = new Map();

  add(kind: WatchKind, path: string, watcher: Watcher): void {
    const table = this[kind];
    let set = table.get(path);
    if (!set) table.set(path, (set = new Set()));
    set.add(watcher);
  }

  get size(): number {
    return this.data.size + this.exist.size + this.child.size + this.persistent.size + this.recursive.size;
  }

  clear(): void {
    for (const t of [this.data, this.exist, this.child, this.persistent, this.recursive]) t.clear();
  }

  /** The watchers a server event fires; one-shot watches are removed. */
  materialize(type: number, path: string): Set<Watcher> {
    const out = new Set<Watcher>();
    const take = (t: Table) => {
      const s = t.get(path);
      if (!s) return;
      t.delete(path);
      for (const w of s) out.add(w);
    };
    switch (type) {
      case EventType.NodeCreated:
      case EventType.NodeDataChanged:
        take(this.data);
        take(this.exist);
        break;
      case EventType.NodeChildrenChanged:
        take(this.child);
        break;
      case EventType.NodeDeleted:
        take(this.data);
        take(this.exist);
        take(this.child);
        break;
    }
    if (this.persistent.size) for (const w of this.persistent.get(path) ?? []) out.add(w);
    // A recursive watch reports no child events, even where the server sends one for a plain child watch.
    if (this.recursive.size && type !== EventType.NodeChildrenChanged) {
      for (let p = path; ; p = parent(p)) {
        for (const w of this.recursive.get(p) ?? []) out.add(w);
        if (p === '/') break;
      }
    }
    return out;
  }

  /** The tables a WatcherType covers, with the removal event each reports. */
  private tablesFor(type: WatcherTypeName): [Table, number][] {
    const d: [Table, number][] = [
      [this.data, EventType.DataWatchRemoved],
      [this.exist, EventType.DataWatchRemoved],
    ];
    const c: [Table, number] = [this.child, EventType.ChildWatchRemoved];
    const p: [Table, number] = [this.persistent, EventType.PersistentWatchRemoved];
    const r: [Table, number] = [this.recursive, EventType.PersistentWatchRemoved];
    switch (type) {
      case 'Children':
        return [c];
      case 'Data':
        return d;
      case 'Persistent':
        return [p];
      case 'PersistentRecursive':
        return [r];
      case 'Any':
        return [c, ...d, p, r];
    }
  }

  /** Whether `watcher` (any watcher when null) watches `path` as `type`. */
  contains(path: string, watcher: Watcher | null, type: WatcherTypeName): boolean {
    return this.tablesFor(type).some(([t]) => {
      const s = t.get(path);
      return s !== undefined && (watcher === null ? s.size > 0 : s.has(watcher));
    });
  }

  /** Removes `watcher` (every watcher when null) of `type` on `path`; returns who to tell, with which event. */
  remove(path: string, watcher: Watcher | null, type: WatcherTypeName): [Watcher, number][] {
    const removed: [Watcher, number][] = [];
    for (const [t, event] of this.tablesFor(type)) {
      const s = t.get(path);
      if (!s) continue;
      if (watcher === null) {
        for (const w of s) removed.push([w, event]);
        t.delete(path);
      } else if (s.delete(watcher)) {
        removed.push([watcher, event]);
        if (s.size === 0) t.delete(path);
      }
    }
    return removed;
  }
}

export function parent(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}
