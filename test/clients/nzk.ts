/**
 * Promise wrappers around node-zookeeper-client (CommonJS, callback API),
 * so compatibility tests read top to bottom. Only thin adapters: every call
 * goes straight to the library's own method.
 */
// @ts-expect-error node-zookeeper-client ships no type declarations
import zookeeper from 'node-zookeeper-client';

/* eslint-disable @typescript-eslint/no-explicit-any */
export const zk = zookeeper as any;
export const { ACL, Id, Permission, CreateMode, Exception, Event, State } = zk;

export interface ZkStat {
  czxid: Buffer;
  mzxid: Buffer;
  ctime: Buffer;
  mtime: Buffer;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: Buffer;
  dataLength: number;
  numChildren: number;
  pzxid: Buffer;
}

export type WireEntry =
  | { kind: 'event'; type: number; path: string }
  | { kind: 'reply'; type: number; path: string | undefined; err: number };

export interface ZkEvent {
  type: number;
  name: string;
  path: string;
}

/** Calls `fn(...args, cb)` and resolves with the callback's results after the error. */
function call<T>(fn: (...a: any[]) => void, ...args: any[]): Promise<T> {
  return new Promise((resolve, reject) => {
    fn(...args, (err: unknown, ...res: unknown[]) => {
      if (err) reject(err);
      else resolve((res.length <= 1 ? res[0] : res) as T);
    });
  });
}

/** The ZooKeeper error code of a rejected call (node-zookeeper-client's Exception). */
export async function errCode(p: Promise<unknown>): Promise<number> {
  try {
    await p;
  } catch (e: any) {
    if (typeof e?.getCode === 'function') return e.getCode();
    throw e;
  }
  throw new Error('expected the call to fail, it succeeded');
}

export class NzkClient {
  readonly raw: any;
  readonly states: string[] = [];
  /**
   * What the client took off the wire, in order: watch events and replies
   * (by request type and path), recorded where the library handles each
   * frame, before any callback deferral. Promise 4 is checked against this.
   */
  readonly wire: WireEntry[] = [];

  constructor(connectString: string, options: Record<string, unknown> = {}) {
    this.raw = zk.createClient(connectString, { sessionTimeout: 10_000, spinDelay: 100, retries: 0, ...options });
    this.raw.on('state', (s: any) => this.states.push(String(s.getName?.() ?? s)));
    const cm = this.raw.connectionManager;
    const wm = cm.watcherManager;
    const emit = wm.emit.bind(wm);
    wm.emit = (ev: any) => {
      this.wire.push({ kind: 'event', type: ev.type, path: ev.path });
      return emit(ev);
    };
    const queue = cm.queue.bind(cm);
    cm.queue = (request: any, cb?: (err: unknown, res: unknown) => void) =>
      queue(request, (err: unknown, res: any) => {
        this.wire.push({ kind: 'reply', type: request.header?.type, path: request.payload?.path, err: res?.header?.err ?? 0 });
        cb?.(err, res);
      });
  }

  /** Connects and resolves once SyncConnected; rejects on expiry or after `deadlineMs`. */
  connect(deadlineMs = 15_000): Promise<this> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('node-zookeeper-client did not connect')), deadlineMs);
      this.raw.once('connected', () => {
        clearTimeout(timer);
        resolve(this);
      });
      this.raw.once('expired', () => {
        clearTimeout(timer);
        reject(Object.assign(new Error('session expired'), { expired: true }));
      });
      this.raw.connect();
    });
  }

  /** Closes the session (closeSession request) and resolves when the socket is gone. */
  close(deadlineMs = 10_000): Promise<void> {
    return new Promise((resolve) => {
      const cm = this.raw.connectionManager;
      const done = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(done, deadlineMs);
      // The connection manager reports CLOSED once the server ends the socket.
      cm.on('state', (s: number) => {
        if (s === -2) done();
      });
      if (cm.state === -2 || cm.state === 0) return done();
      this.raw.close();
    });
  }

  get sessionId(): Buffer {
    return this.raw.getSessionId();
  }
  get sessionPassword(): Buffer {
    return this.raw.getSessionPassword();
  }
  get sessionTimeout(): number {
    return this.raw.getSessionTimeout();
  }

  create(path: string, data?: Buffer | null, acls?: unknown[], mode?: number): Promise<string> {
    const args: unknown[] = [path];
    if (data) args.push(data);
    if (acls) args.push(acls);
    if (mode !== undefined) args.push(mode);
    return call(this.raw.create.bind(this.raw), ...args);
  }
  remove(path: string, version = -1): Promise<void> {
    return call(this.raw.remove.bind(this.raw), path, version);
  }
  removeRecursive(path: string, version = -1): Promise<void> {
    return call(this.raw.removeRecursive.bind(this.raw), path, version);
  }
  exists(path: string, watcher?: (e: ZkEvent) => void): Promise<ZkStat | null> {
    return watcher ? call(this.raw.exists.bind(this.raw), path, watcher) : call(this.raw.exists.bind(this.raw), path);
  }
  async getData(path: string, watcher?: (e: ZkEvent) => void): Promise<{ data: Buffer | undefined; stat: ZkStat }> {
    const [data, stat] = watcher
      ? await call<[Buffer, ZkStat]>(this.raw.getData.bind(this.raw), path, watcher)
      : await call<[Buffer, ZkStat]>(this.raw.getData.bind(this.raw), path);
    return { data, stat };
  }
  setData(path: string, data: Buffer | null, version = -1): Promise<ZkStat> {
    return call(this.raw.setData.bind(this.raw), path, data, version);
  }
  async getChildren(path: string, watcher?: (e: ZkEvent) => void): Promise<{ children: string[]; stat: ZkStat }> {
    const [children, stat] = watcher
      ? await call<[string[], ZkStat]>(this.raw.getChildren.bind(this.raw), path, watcher)
      : await call<[string[], ZkStat]>(this.raw.getChildren.bind(this.raw), path);
    return { children, stat };
  }
  listSubTreeBFS(path: string): Promise<string[]> {
    return call(this.raw.listSubTreeBFS.bind(this.raw), path);
  }
  async getACL(path: string): Promise<{ acls: any[]; stat: ZkStat }> {
    const [acls, stat] = await call<[any[], ZkStat]>(this.raw.getACL.bind(this.raw), path);
    return { acls, stat };
  }
  setACL(path: string, acls: unknown[], version = -1): Promise<ZkStat> {
    return call(this.raw.setACL.bind(this.raw), path, acls, version);
  }
  mkdirp(path: string, data?: Buffer, acls?: unknown[], mode?: number): Promise<string> {
    const args: unknown[] = [path];
    if (data) args.push(data);
    if (acls) args.push(acls);
    if (mode !== undefined) args.push(mode);
    return call(this.raw.mkdirp.bind(this.raw), ...args);
  }
  addAuthInfo(scheme: string, auth: string): void {
    this.raw.addAuthInfo(scheme, Buffer.from(auth));
  }
  /** Builds a transaction with `build` and commits it; resolves with the per-op results. */
  commit(build: (t: any) => void): Promise<any[]> {
    const t = this.raw.transaction();
    build(t);
    return new Promise((resolve, reject) => {
      t.commit((err: any, results: any[]) => {
        if (err) reject(Object.assign(err, { results }));
        else resolve(results);
      });
    });
  }
}

/** A session id buffer as ZooKeeper prints it (0x…, no leading zeros). */
export function sessionHex(id: Buffer): string {
  return '0x' + id.readBigUInt64BE(0).toString(16);
}

/** Stat zxid/time buffers (8 bytes) as bigint. */
export function long(b: Buffer): bigint {
  return b.readBigInt64BE(0);
}
