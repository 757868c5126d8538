/**
 * Watch registration, firing and removal. Event sequences were observed on a
 * real ZooKeeper 3.8.0 server with one session watching and another writing.
 * Rows marked 3.9 follow ZooKeeper 3.9's WatchStats, where 3.8 has bugs (see
 * watches.ts); rows marked 3.8.4+ follow the security fix that filters
 * events by READ permission.
 */
import { describe, expect, it } from 'vitest';
import { Err, EventType, OpCode, WatcherType, type Id } from '@zooid/protocol';
import { digestOf } from '../src/index.js';
import { Harness, LOCAL_IP } from './harness.js';

const N: Record<number, string> = { 1: 'Created', 2: 'Deleted', 3: 'DataChanged', 4: 'ChildrenChanged' };

function setup() {
  const h = new Harness();
  const z = h.session();
  const w = h.session();
  const seen: string[][] = [];
  const write = (fn: () => ReturnType<Harness['write']>) => {
    for (const n of fn().notifications) if (n.sessionId === w.sessionId) seen.push([N[n.event.type]!, n.event.path]);
  };
  const events = () => seen.splice(0);
  const read = (op: number, path: string, watch = true) => h.read(w, op, { path, watch }).err;
  return { h, z, w, write, events, read };
}

describe('one-shot watches (observed)', () => {
  const { h, z, write, events, read } = setup();
  write(() => h.create(z, '/w'));
  write(() => h.create(z, '/w/a'));

  it('exists on a missing node fires NodeCreated', () => {
    expect(read(OpCode.exists, '/w/x')).toBe(Err.NONODE);
    write(() => h.create(z, '/w/x'));
    expect(events()).toEqual([['Created', '/w/x']]);
  });

  it('getData and exists on one node: one event, then gone', () => {
    read(OpCode.getData, '/w/a');
    read(OpCode.exists, '/w/a');
    write(() => h.setData(z, '/w/a', Buffer.from('1')));
    expect(events()).toEqual([['DataChanged', '/w/a']]);
    write(() => h.setData(z, '/w/a', Buffer.from('2')));
    expect(events()).toEqual([]);
  });

  it('getChildren fires NodeChildrenChanged once', () => {
    read(OpCode.getChildren, '/w');
    write(() => h.create(z, '/w/b'));
    expect(events()).toEqual([['ChildrenChanged', '/w']]);
    write(() => h.create(z, '/w/c'));
    expect(events()).toEqual([]);
  });

  it('a delete tells data and child watchers of the node once, then the parent', () => {
    read(OpCode.getData, '/w/b');
    read(OpCode.getChildren2, '/w/b');
    read(OpCode.getChildren, '/w');
    write(() => h.delete(z, '/w/b'));
    expect(events()).toEqual([
      ['Deleted', '/w/b'],
      ['ChildrenChanged', '/w'],
    ]);
  });

  it('a child watch ignores data changes', () => {
    read(OpCode.getChildren, '/w/a');
    write(() => h.setData(z, '/w/a', Buffer.from('3')));
    expect(events()).toEqual([]);
    write(() => h.create(z, '/w/a/k'));
    expect(events()).toEqual([['ChildrenChanged', '/w/a']]);
  });

  it('getData on a missing node or without READ sets no watch', () => {
    expect(read(OpCode.getData, '/w/none')).toBe(Err.NONODE);
    expect(read(OpCode.getChildren, '/w/none')).toBe(Err.NONODE);
    write(() => h.create(z, '/w/none'));
    expect(events()).toEqual([]);
  });
});

describe('persistent watches (observed)', () => {
  it('see their node and its children list, not grandchildren', () => {
    const { h, z, w, write, events } = setup();
    write(() => h.create(z, '/w'));
    expect(h.read(w, OpCode.addWatch, { path: '/w', mode: 0 })).toEqual({ err: Err.OK, response: { err: 0 } });
    write(() => h.create(z, '/w/p'));
    write(() => h.setData(z, '/w', Buffer.from('d')));
    write(() => h.setData(z, '/w/p', Buffer.from('d')));
    write(() => h.create(z, '/w/p/q'));
    write(() => h.delete(z, '/w/p/q'));
    write(() => h.delete(z, '/w/p'));
    expect(events()).toEqual([
      ['ChildrenChanged', '/w'],
      ['DataChanged', '/w'],
      ['ChildrenChanged', '/w'],
    ]);
  });

  it('survive the deletion of their node', () => {
    const { h, z, w, write, events } = setup();
    h.read(w, OpCode.addWatch, { path: '/pm', mode: 0 });
    write(() => h.create(z, '/pm'));
    write(() => h.create(z, '/pm/c'));
    write(() => h.delete(z, '/pm/c'));
    write(() => h.delete(z, '/pm'));
    write(() => h.create(z, '/pm'));
    expect(events()).toEqual([
      ['Created', '/pm'],
      ['ChildrenChanged', '/pm'],
      ['ChildrenChanged', '/pm'],
      ['Deleted', '/pm'],
      ['Created', '/pm'],
    ]);
  });

  it('recursive: every node below, never NodeChildrenChanged', () => {
    const { h, z, w, write, events } = setup();
    write(() => h.create(z, '/r'));
    h.read(w, OpCode.addWatch, { path: '/r', mode: 1 });
    write(() => h.create(z, '/r/a'));
    write(() => h.setData(z, '/r/a', Buffer.from('x')));
    write(() => h.create(z, '/r/a/b'));
    write(() => h.setData(z, '/r', Buffer.from('x')));
    write(() => h.delete(z, '/r/a/b'));
    write(() => h.delete(z, '/r/a'));
    expect(events()).toEqual([
      ['Created', '/r/a'],
      ['DataChanged', '/r/a'],
      ['Created', '/r/a/b'],
      ['DataChanged', '/r'],
      ['Deleted', '/r/a/b'],
      ['Deleted', '/r/a'],
    ]);
    // with a one-shot child watch on the same path: both, once
    h.read(w, OpCode.getChildren, { path: '/r', watch: true });
    write(() => h.create(z, '/r/c'));
    expect(events()).toEqual([
      ['Created', '/r/c'],
      ['ChildrenChanged', '/r'],
    ]);
    write(() => h.create(z, '/r/d'));
    expect(events()).toEqual([['Created', '/r/d']]);
  });

  it('recursive on "/" sees everything', () => {
    const { h, z, w, write, events } = setup();
    h.read(w, OpCode.addWatch, { path: '/', mode: 1 });
    write(() => h.create(z, '/rootc'));
    write(() => h.delete(z, '/rootc'));
    expect(events()).toEqual([
      ['Created', '/rootc'],
      ['Deleted', '/rootc'],
    ]);
  });

  it('3.9: a one-shot watch on the same path does not consume the persistent one', () => {
    const { h, z, w, write, events } = setup();
    write(() => h.create(z, '/r'));
    h.read(w, OpCode.addWatch, { path: '/r', mode: 1 });
    h.read(w, OpCode.getData, { path: '/r', watch: true });
    write(() => h.setData(z, '/r', Buffer.from('y')));
    write(() => h.setData(z, '/r', Buffer.from('z')));
    // 3.8.0 delivered the first event only and then lost the recursive watch
    expect(events()).toEqual([
      ['DataChanged', '/r'],
      ['DataChanged', '/r'],
    ]);
    expect(h.watches.checkWatches(w.sessionId, '/r', WatcherType.Data)).toBe(Err.NOWATCHER);
    expect(h.watches.checkWatches(w.sessionId, '/r', WatcherType.PersistentRecursive)).toBe(Err.OK);
  });
});

describe('checkWatches / removeWatches (3.9 semantics)', () => {
  const { h, z, w, write, events } = setup();
  write(() => h.create(z, '/w'));
  const check = (path: string, type: number) => h.read(w, OpCode.checkWatches, { path, type }).err;
  const remove = (path: string, type: number) => h.read(w, OpCode.removeWatches, { path, type }).err;

  it('finds and removes one-shot watches by type', () => {
    h.read(w, OpCode.getData, { path: '/w', watch: true });
    h.read(w, OpCode.getChildren, { path: '/w', watch: true });
    expect(check('/w', WatcherType.Data)).toBe(Err.OK);
    expect(remove('/w', WatcherType.Data)).toBe(Err.OK);
    expect(check('/w', WatcherType.Data)).toBe(Err.NOWATCHER);
    expect(check('/w', WatcherType.Children)).toBe(Err.OK);
    expect(check('/w', WatcherType.Any)).toBe(Err.OK);
    expect(remove('/w', WatcherType.Any)).toBe(Err.OK);
    expect(remove('/w', WatcherType.Any)).toBe(Err.NOWATCHER);
    write(() => h.create(z, '/w/x'));
    write(() => h.setData(z, '/w', Buffer.from('1')));
    expect(events()).toEqual([]);
  });

  it('exist watches are data watches', () => {
    h.read(w, OpCode.exists, { path: '/missing', watch: true });
    expect(check('/missing', WatcherType.Data)).toBe(Err.OK);
    expect(remove('/missing', WatcherType.Data)).toBe(Err.OK);
  });

  it('persistent watches answer to their own types and Any', () => {
    h.read(w, OpCode.addWatch, { path: '/w', mode: 0 });
    expect(check('/w', WatcherType.Data)).toBe(Err.NOWATCHER);
    expect(check('/w', WatcherType.Children)).toBe(Err.NOWATCHER);
    expect(check('/w', WatcherType.Persistent)).toBe(Err.OK);
    expect(check('/w', WatcherType.Any)).toBe(Err.OK);
    expect(remove('/w', WatcherType.Persistent)).toBe(Err.OK);
    expect(check('/w', WatcherType.Any)).toBe(Err.NOWATCHER);
    write(() => h.create(z, '/w/y'));
    expect(events()).toEqual([]);
  });

  it('only the asking session counts (3.8 answered OK for anyone watching the path)', () => {
    h.read(z, OpCode.getData, { path: '/w', watch: true });
    expect(check('/w', WatcherType.Data)).toBe(Err.NOWATCHER);
    expect(remove('/w', WatcherType.Data)).toBe(Err.NOWATCHER);
  });

  it('an unknown type is a MARSHALLINGERROR (observed)', () => {
    expect(check('/w', 9)).toBe(Err.MARSHALLINGERROR);
    expect(remove('/w', 0)).toBe(Err.MARSHALLINGERROR);
    expect(h.read(w, OpCode.addWatch, { path: '/w', mode: 7 }).err).toBe(Err.MARSHALLINGERROR);
  });
});

describe('setWatches after a reconnect (observed)', () => {
  it('re-registers, or reports what changed after relativeZxid', () => {
    const { h, z, w, write, events } = setup();
    write(() => h.create(z, '/sw'));
    write(() => h.create(z, '/sw/a'));
    const seen = h.zxid;
    write(() => h.setData(z, '/sw/a', Buffer.from('n')));
    write(() => h.create(z, '/sw/b'));
    const r = h.read(w, OpCode.setWatches, {
      relativeZxid: seen,
      dataWatches: ['/sw/a', '/sw', '/sw/gone'],
      existWatches: ['/sw/a', '/sw/none'],
      childWatches: ['/sw', '/sw/a', '/sw/gone2'],
    });
    expect(r.err).toBe(Err.OK);
    expect(r.events!.map((e) => [N[e.type], e.path])).toEqual([
      ['DataChanged', '/sw/a'],
      ['Deleted', '/sw/gone'],
      ['Created', '/sw/a'],
      ['ChildrenChanged', '/sw'],
      ['Deleted', '/sw/gone2'],
    ]);
    write(() => h.create(z, '/sw/none'));
    write(() => h.setData(z, '/sw', Buffer.from('1')));
    write(() => h.create(z, '/sw/a/x'));
    expect(events()).toEqual([
      ['Created', '/sw/none'],
      ['DataChanged', '/sw'],
      ['ChildrenChanged', '/sw/a'],
    ]);
  });

  it('setWatches2 restores persistent and recursive watches', () => {
    const { h, z, w, write, events } = setup();
    h.read(w, OpCode.setWatches2, {
      relativeZxid: 0,
      dataWatches: [],
      existWatches: [],
      childWatches: [],
      persistentWatches: ['/sp'],
      persistentRecursiveWatches: ['/sq'],
    });
    write(() => h.create(z, '/sp'));
    write(() => h.create(z, '/sq'));
    write(() => h.create(z, '/sq/x'));
    expect(events()).toEqual([
      ['Created', '/sp'],
      ['Created', '/sq'],
      ['Created', '/sq/x'],
    ]);
  });
});

describe('event filtering by READ permission (3.8.4+)', () => {
  it('tells a watcher only about nodes it may read, still using up the watch', () => {
    const h = new Harness();
    const owner: Id = { scheme: 'digest', id: digestOf('u:p') };
    const z = h.session([LOCAL_IP, owner]);
    const w = h.session([LOCAL_IP]);
    const reader = h.session([LOCAL_IP, owner]);
    for (const s of [w, reader]) {
      h.read(s, OpCode.exists, { path: '/secret', watch: true });
      h.read(s, OpCode.addWatch, { path: '/', mode: 1 });
    }
    const r = h.create(z, '/secret', { acl: [{ perms: 31, id: owner }] });
    expect(r.notifications.map((n) => [n.sessionId, n.event.type])).toEqual([
      [reader.sessionId, EventType.NodeCreated],
      // the root's ACL is open: everyone hears about the children list (no child watch here, though)
    ]);
    expect(h.watches.checkWatches(w.sessionId, '/secret', WatcherType.Data)).toBe(Err.NOWATCHER);
  });
});

describe('bookkeeping', () => {
  it('counts, lists and forgets a session', () => {
    const { h, z, w } = setup();
    h.create(z, '/a');
    h.read(w, OpCode.getData, { path: '/a', watch: true });
    h.read(w, OpCode.getChildren, { path: '/a', watch: true });
    h.read(z, OpCode.exists, { path: '/b', watch: true });
    h.read(w, OpCode.addWatch, { path: '/p', mode: 0 });
    expect(h.watches.count).toBe(5);
    expect(h.watches.summary()).toEqual({ connections: 2, paths: 3, watches: 3 });
    expect(h.watches.bySession()).toEqual([
      { sessionId: w.sessionId, paths: ['/a', '/p'] },
      { sessionId: z.sessionId, paths: ['/b'] },
    ]);
    expect(h.watches.byPath()).toEqual([
      { path: '/a', sessionIds: [w.sessionId] },
      { path: '/b', sessionIds: [z.sessionId] },
      { path: '/p', sessionIds: [w.sessionId] },
    ]);
    h.watches.removeSession(w.sessionId);
    expect(h.watches.count).toBe(1);
    expect(h.create(z, '/p').notifications).toEqual([]);
  });
});
