/**
 * A ZooKeeper client over one TCP connection at a time.
 *
 * Requests are pipelined: each gets the next xid and joins one FIFO of
 * pending requests; the server answers a session's requests in order, so a
 * reply always matches the head of that queue. Requests made in one turn of
 * the event loop leave in one socket write. There is no timer per request:
 * one interval per connection sends pings (at a third of the negotiated
 * timeout) and notices a silent server (two thirds), one timer bounds each
 * connection attempt.
 *
 * On a lost connection the requests in flight fail with ConnectionLoss and
 * the client moves to the next server of the connect string, resuming the
 * session with its id and password. After the handshake it re-sends its
 * auth and re-registers its watches (setWatches, or setWatches2 when it has
 * persistent ones) before anything else. Requests made while disconnected
 * wait for the next connection, or fail with ConnectionLoss once the client
 * has been disconnected for a whole session timeout. The session ends when
 * a server answers that it expired, on `close()`, or when the server refuses
 * an auth; with `renewOnExpiry` an expired session is followed by a new one.
 */
import { EventEmitter } from 'node:events';
import { connect as tcpConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import {
  AddWatchMode,
  CreateFlags,
  Err,
  FrameDecoder,
  JuteReader,
  OpCode,
  WatcherType,
  Xid,
  decodeConnectResponse,
  decodeReply,
  encodeConnectRequest,
  encodeRequest,
  frame,
  readReplyHeader,
  validatePath,
  type ACL,
  type ClientInfo,
  type MultiOp,
  type MultiResult,
  type RequestBodies,
  type RequestOp,
  type ResponseBodies,
  type Stat,
} from '@zooid/protocol/wire';
import { OPEN_ACL_UNSAFE } from './acl.js';
import { ZooKeeperError, errorName, zkError } from './errors.js';
import {
  EVENT_TYPE_NAMES,
  type AddWatchModeName,
  type CreateMode,
  type CreateOptions,
  type Data,
  type KeeperStateName,
  type MultiResultItem,
  type Op,
  type ReadOp,
  type WatchedEvent,
  type Watcher,
  type WatcherTypeName,
} from './types.js';
import { WatchManager, type WatchKind } from './watches.js';
import { Channel } from './channel.js';
import { Transaction } from './transaction.js';

export interface ClientOptions {
  /** Requested session timeout in ms (the server clamps it to [2, 20] ticks). Default 30000. */
  sessionTimeout?: number;
  /** Receives session events (type None) and the events of watches set with `true`. */
  watcher?: Watcher;
  /** Resume this session instead of creating one. */
  sessionId?: bigint;
  sessionPassword?: Uint8Array;
  /** Bound on one connection attempt (TCP + handshake). Default sessionTimeout / number of servers. */
  attemptTimeout?: number;
  /** Keep the connect string's order instead of shuffling it. */
  noShuffle?: boolean;
  /** Connect with TLS (a secureClientPort): the CA to trust, and a client certificate if the server asks. */
  tls?: Pick<ConnectionOptions, 'ca' | 'cert' | 'key'>;
  /**
   * When the session expires, start a new one instead of ending the client,
   * as Curator's and kazoo's clients do: `Expired` is followed by
   * `SyncConnected` with a new `sessionId`. Default false (Java's client: an
   * expired client is done).
   */
  renewOnExpiry?: boolean;
}

/** Where the client is in its life: `connecting` also covers a reconnect. */
export type ClientState = 'idle' | 'connecting' | 'connected' | 'closed' | 'expired' | 'authFailed';

export interface HostPort {
  host: string;
  port: number;
}

/** `host1:2181,host2,[::1]:2182` → host/port pairs (port 2181 when absent). A chroot suffix is refused. */
export function parseConnectString(s: string): HostPort[] {
  if (s.includes('/')) throw new Error(`chroot in a connect string is not supported: ${s}`);
  const hosts = s
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h.length > 0)
    .map((h) => {
      const m = /^\[([^\]]+)\](?::(\d+))?$/.exec(h) ?? /^([^:]+)(?::(\d+))?$/.exec(h);
      if (!m) throw new Error(`bad host:port in connect string: ${h}`);
      const port = m[2] === undefined ? 2181 : Number(m[2]);
      if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new Error(`bad port in connect string: ${h}`);
      return { host: m[1]!, port };
    });
  if (hosts.length === 0) throw new Error('empty connect string');
  return hosts;
}

/** A request in the pending queue. `out` holds its bytes until a connection can take them. */
interface Pending {
  xid: number;
  op: number;
  path: string | undefined;
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  watchKind: WatchKind | undefined;
  watcher: Watcher | undefined;
  out: Buffer | undefined;
}

interface AuthWaiter {
  resolve?: () => void;
  reject?: (e: Error) => void;
}

/** A FIFO on an array with a moving head: push and shift without reallocation churn. */
class Queue<T> {
  private items: (T | undefined)[] = [];
  private head = 0;
  get length(): number {
    return this.items.length - this.head;
  }
  push(v: T): void {
    this.items.push(v);
  }
  peek(): T | undefined {
    return this.items[this.head];
  }
  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const v = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return v;
  }
  forEach(fn: (v: T) => void): void {
    for (let i = this.head; i < this.items.length; i++) fn(this.items[i]!);
  }
  /** Removes and returns every item. */
  drain(): T[] {
    const all = this.items.slice(this.head) as T[];
    this.items = [];
    this.head = 0;
    return all;
  }
}

/** One TCP connection and what belongs to it alone. */
interface Conn {
  socket: Socket;
  server: HostPort;
  decoder: FrameDecoder;
  handshaken: boolean;
  attemptTimer: NodeJS.Timeout | undefined;
  tick: NodeJS.Timeout | undefined;
  lastRecv: number;
  lastSend: number;
}

const SET_WATCHES_MAX_BYTES = 128 * 1024;
/** Replies may be larger than a server accepts requests (a big getChildren); 16 MiB bounds a broken stream. */
const MAX_REPLY_FRAME = 16 * 1024 * 1024;
const PING = encodeRequest({ xid: Xid.ping, type: OpCode.ping }, undefined);

function toBytes(data: Data | undefined): Uint8Array | null {
  if (data === null || data === undefined) return null;
  return typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
}

function checkPath(path: string, sequential = false): void {
  const why = validatePath(path, sequential);
  if (why !== null) throw zkError('BadArguments', path, why);
}

function isSequential(mode: CreateMode): boolean {
  return mode.includes('SEQUENTIAL');
}

function isTTL(mode: CreateMode): boolean {
  return mode.endsWith('_WITH_TTL');
}

/** The opcode and body of a create; `withStat` picks create2 over create for the plain modes. */
function createRequest(path: string, data: Data | undefined, opts: CreateOptions, withStat: boolean): { op: number; body: RequestBodies[typeof OpCode.createTTL] } {
  const mode = opts.mode ?? 'PERSISTENT';
  const flags = CreateFlags[mode];
  if (flags === undefined) throw zkError('BadArguments', path, `unknown create mode ${String(mode)}`);
  checkPath(path, isSequential(mode));
  const ttl = opts.ttl;
  if (isTTL(mode)) {
    if (ttl === undefined || !Number.isSafeInteger(ttl) || ttl <= 0) {
      throw zkError('BadArguments', path, `ttl must be a positive number of ms for ${mode}, got ${String(ttl)}`);
    }
  } else if (ttl !== undefined && ttl !== -1) {
    throw zkError('BadArguments', path, `ttl is only allowed with the *_WITH_TTL modes, not ${mode}`);
  }
  const acl = opts.acl ?? OPEN_ACL_UNSAFE;
  if (acl.length === 0) throw zkError('InvalidACL', path);
  const op = mode === 'CONTAINER' ? OpCode.createContainer : isTTL(mode) ? OpCode.createTTL : withStat ? OpCode.create2 : OpCode.create;
  return { op, body: { path, data: toBytes(data), acl, flags, ttl: ttl ?? -1 } };
}

function multiOp(o: Op): MultiOp {
  switch (o.type) {
    case 'create': {
      const { op, body } = createRequest(o.path, o.data, { mode: o.mode, acl: o.acl, ttl: o.ttl }, false);
      return op === OpCode.createTTL ? { type: OpCode.createTTL, req: body } : { type: op as 1 | 19, req: body };
    }
    case 'delete':
      checkPath(o.path);
      return { type: OpCode.delete, req: { path: o.path, version: o.version } };
    case 'setData':
      checkPath(o.path);
      return { type: OpCode.setData, req: { path: o.path, data: toBytes(o.data), version: o.version } };
    case 'check':
      checkPath(o.path);
      return { type: OpCode.check, req: { path: o.path, version: o.version } };
  }
}

function resultItem(r: MultiResult): MultiResultItem {
  switch (r.type) {
    case OpCode.create:
      return { type: 'create', path: r.path };
    case OpCode.create2:
    case OpCode.createContainer:
    case OpCode.createTTL:
      return { type: 'create', path: r.path, stat: r.stat };
    case OpCode.delete:
      return { type: 'delete' };
    case OpCode.check:
      return { type: 'check' };
    case OpCode.setData:
      return { type: 'setData', stat: r.stat };
    case OpCode.getData:
      return { type: 'getData', data: r.data === null ? null : Buffer.from(r.data), stat: r.stat };
    case OpCode.getChildren:
      return { type: 'getChildren', children: r.children };
    case OpCode.error:
      return { type: 'error', code: errorName(r.err), rc: r.err };
  }
}

export interface ClientEvents {
  state: [state: KeeperStateName];
}

/** Bounds on one call: it rejects with the signal's reason when aborted, with OperationTimeout after `timeout` ms. */
export interface CallOptions {
  signal?: AbortSignal;
  timeout?: number;
}

/**
 * Settles as `p` does, unless `signal` aborts or `timeout` ms pass first.
 * The request itself is not withdrawn: a write may still take effect on
 * the server, so treat an abort like a connection loss (outcome unknown).
 */
export function bounded<T>(p: Promise<T>, opts: CallOptions, path?: string): Promise<T> {
  const { signal, timeout } = opts;
  if (!signal && timeout === undefined) return p;
  if (signal?.aborted) {
    p.catch(() => undefined);
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const onAbort = () => {
      cleanup();
      reject(signal!.reason);
    };
    const cleanup = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    };
    if (timeout !== undefined) {
      timer = setTimeout(() => {
        cleanup();
        reject(zkError('OperationTimeout', path, `no answer within ${timeout} ms`));
      }, timeout);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        cleanup();
        resolve(v);
      },
      (e) => {
        cleanup();
        reject(e);
      },
    );
  });
}

/** The calls `client.with(opts)` bounds. */
const BOUNDED_CALLS = new Set<string | symbol>([
  'create', 'create2', 'delete', 'exists', 'getData', 'setData', 'getChildren', 'getChildren2', 'getACL', 'setACL', 'sync',
  'getAllChildrenNumber', 'getEphemerals', 'whoAmI', 'multi', 'multiRead', 'addWatch', 'removeWatches', 'removeAllWatches',
]);

export type BoundedCalls = Pick<
  ZooKeeperClient,
  | 'create' | 'create2' | 'delete' | 'exists' | 'getData' | 'setData' | 'getChildren' | 'getChildren2' | 'getACL' | 'setACL'
  | 'sync' | 'getAllChildrenNumber' | 'getEphemerals' | 'whoAmI' | 'multi' | 'multiRead' | 'addWatch' | 'removeWatches' | 'removeAllWatches'
>;

export interface WatchOptions {
  /** Every node below `path` too (PERSISTENT_RECURSIVE); default just `path` (PERSISTENT). */
  recursive?: boolean;
  /** Ends the iteration and removes the watch. */
  signal?: AbortSignal;
}

/** A persistent watch read with `for await`; `ready` settles once the server has registered it. */
export interface WatchStream extends AsyncIterableIterator<WatchedEvent> {
  readonly ready: Promise<void>;
}

/**
 * A ZooKeeper session. `await ZooKeeperClient.connect('h1:2181,h2:2181')`,
 * or construct and `await client.connect()`. Every call returns a promise
 * that rejects with a ZooKeeperError. A `watch` argument is a callback, or
 * `true` for the default watcher (the `watcher` option).
 *
 * Emits `state` with Disconnected, SyncConnected, Expired, AuthFailed and
 * Closed as the session moves.
 */
export class ZooKeeperClient extends EventEmitter<ClientEvents> {
  readonly servers: HostPort[];
  private readonly requestedTimeout: number;
  private readonly defaultWatcher: Watcher | undefined;
  private readonly attemptTimeout: number;
  private readonly tls: ClientOptions['tls'];
  private readonly renewOnExpiry: boolean;
  private readonly watches = new WatchManager();
  private readonly pending = new Queue<Pending>();
  private readonly authWaiters = new Queue<AuthWaiter>();
  private readonly authInfo: { scheme: string; auth: Uint8Array }[] = [];

  private _state: ClientState = 'idle';
  private _sessionId = 0n;
  private _password: Uint8Array = new Uint8Array(16);
  private _timeout = 0;
  private _lastZxid = 0;
  private xid = 1;
  private conn: Conn | undefined;
  private nextServer = 0;
  private failedInARow = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private disconnectedTimer: NodeJS.Timeout | undefined;
  private connectWaiters: { resolve: () => void; reject: (e: Error) => void }[] = [];
  private out: Buffer[] = [];
  private outBytes = 0;
  private flushQueued = false;
  private closing: Promise<void> | undefined;

  static async connect(connectString: string, opts: ClientOptions & { timeout?: number } = {}): Promise<ZooKeeperClient> {
    const c = new ZooKeeperClient(connectString, opts);
    await c.connect(opts.timeout);
    return c;
  }

  constructor(connectString: string, opts: ClientOptions = {}) {
    super();
    this.servers = parseConnectString(connectString);
    if (!opts.noShuffle) {
      for (let i = this.servers.length - 1; i > 0; i--) {
        const j = Math.floor(Math.random() * (i + 1));
        [this.servers[i], this.servers[j]] = [this.servers[j]!, this.servers[i]!];
      }
    }
    this.requestedTimeout = opts.sessionTimeout ?? 30_000;
    this.defaultWatcher = opts.watcher;
    this.tls = opts.tls;
    this.renewOnExpiry = opts.renewOnExpiry ?? false;
    this.attemptTimeout = opts.attemptTimeout ?? Math.max(1000, Math.floor(this.requestedTimeout / this.servers.length));
    if (opts.sessionId !== undefined) {
      this._sessionId = opts.sessionId;
      this._password = opts.sessionPassword ?? new Uint8Array(16);
    }
  }

  get state(): ClientState {
    return this._state;
  }
  get sessionId(): bigint {
    return this._sessionId;
  }
  /** The session id as ZooKeeper logs it: 0x followed by lowercase hex. */
  get sessionIdHex(): string {
    return '0x' + this._sessionId.toString(16);
  }
  get sessionPassword(): Uint8Array {
    return this._password;
  }
  /** The timeout the server granted, in ms (0 before the first connection). */
  get sessionTimeout(): number {
    return this._timeout;
  }
  /** The highest zxid seen in a reply. */
  get lastZxid(): number {
    return this._lastZxid;
  }
  /** Requests sent or queued and not yet answered (a load generator's window). */
  get pendingCount(): number {
    return this.pending.length;
  }
  /** Some server accepted a TCP connection, whether or not a session followed. */
  private reachedServer = false;
  /** The server of the current connection, if connected. */
  get server(): HostPort | undefined {
    return this._state === 'connected' ? this.conn?.server : undefined;
  }

  /**
   * Starts the session (once) and resolves when it is connected. Rejects
   * with ConnectionLoss when no server answered within `timeoutMs` (default:
   * the requested session timeout; the client is then closed), or with
   * SessionExpired / AuthFailed.
   */
  connect(timeoutMs = this.requestedTimeout): Promise<void> {
    if (this._state === 'connected') return Promise.resolve();
    if (this.isTerminal()) return Promise.reject(this.terminalError());
    const p = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.connectWaiters = this.connectWaiters.filter((w) => w !== waiter);
        void this.close();
        // A server that accepts the TCP connection but sets up no session is not serving (no quorum yet, or still loading).
        const why = this.reachedServer ? `reached ${this.describeServers()} but no session was established within ${timeoutMs} ms: is the ensemble serving?` : `could not connect to ${this.describeServers()} within ${timeoutMs} ms`;
        reject(zkError('ConnectionLoss', undefined, why));
      }, timeoutMs);
      const waiter = {
        resolve: () => (clearTimeout(timer), resolve()),
        reject: (e: Error) => (clearTimeout(timer), reject(e)),
      };
      this.connectWaiters.push(waiter);
    });
    if (this._state === 'idle') {
      this._state = 'connecting';
      this.openNext();
    }
    return p;
  }

  // ---- data operations -------------------------------------------------

  /** Creates a node; resolves to its actual path (sequential nodes get a counter). */
  create(path: string, data: Data = null, opts: CreateOptions = {}): Promise<string> {
    try {
      const { op, body } = createRequest(path, data, opts, false);
      if (op === OpCode.create) return this.submit(op, body, path);
      // Container and TTL creates always answer with a Stat; this call wants the path.
      return this.submit<{ path: string }>(op as RequestOp, body, path).then((r) => r.path);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  /** Creates a node and returns its path and Stat. */
  create2(path: string, data: Data = null, opts: CreateOptions = {}): Promise<{ path: string; stat: Stat }> {
    try {
      const { op, body } = createRequest(path, data, opts, true);
      return this.submit(op as RequestOp, body, path);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  delete(path: string, version = -1): Promise<void> {
    return this.pathCall(OpCode.delete, path, { path, version });
  }

  /** The node's Stat, or null when it does not exist; a watch fires on its creation, change or deletion. */
  exists(path: string, watch?: Watcher | boolean): Promise<Stat | null> {
    return this.pathCall(OpCode.exists, path, { path, watch: false }, watch, 'data');
  }

  getData(path: string, watch?: Watcher | boolean): Promise<{ data: Buffer | null; stat: Stat }> {
    return this.pathCall(OpCode.getData, path, { path, watch: false }, watch, 'data');
  }

  setData(path: string, data: Data, version = -1): Promise<Stat> {
    return this.pathCall(OpCode.setData, path, { path, data: toBytes(data), version });
  }

  getChildren(path: string, watch?: Watcher | boolean): Promise<string[]> {
    return this.pathCall(OpCode.getChildren, path, { path, watch: false }, watch, 'child');
  }

  getChildren2(path: string, watch?: Watcher | boolean): Promise<{ children: string[]; stat: Stat }> {
    return this.pathCall(OpCode.getChildren2, path, { path, watch: false }, watch, 'child');
  }

  getACL(path: string): Promise<{ acl: ACL[]; stat: Stat }> {
    return this.pathCall(OpCode.getACL, path, { path });
  }

  setACL(path: string, acl: ACL[], version = -1): Promise<Stat> {
    if (acl.length === 0) return Promise.reject(zkError('InvalidACL', path));
    return this.pathCall(OpCode.setACL, path, { path, acl, version });
  }

  /** Waits until the server this client reads from has every write committed before the call. */
  sync(path: string): Promise<string> {
    return this.pathCall(OpCode.sync, path, { path });
  }

  /** Total number of descendants of `path` (not counting itself). */
  getAllChildrenNumber(path: string): Promise<number> {
    return this.pathCall(OpCode.getAllChildrenNumber, path, { path });
  }

  /** The session's ephemeral nodes whose path starts with `prefixPath`. */
  getEphemerals(prefixPath = '/'): Promise<string[]> {
    return this.pathCall(OpCode.getEphemerals, prefixPath, { prefixPath });
  }

  /** The ensemble's configuration: the data of /zookeeper/config (ZooKeeper's getConfig). */
  getConfig(watch?: Watcher | boolean): Promise<{ data: Buffer | null; stat: Stat }> {
    return this.getData('/zookeeper/config', watch);
  }

  /**
   * Changes the ensemble's membership (ZooKeeper's reconfig): incremental
   * (`joining` server specs, `leaving` ids, comma-separated) or whole
   * (`newMembers`); `fromConfig` the version it must replace (-1: any).
   * Resolves to the new configuration once committed.
   */
  reconfig(change: { joining?: string; leaving?: string; newMembers?: string; fromConfig?: number }): Promise<{ data: Buffer | null; stat: Stat }> {
    return this.submit(
      OpCode.reconfig,
      { joiningServers: change.joining ?? null, leavingServers: change.leaving ?? null, newMembers: change.newMembers ?? null, curConfigId: change.fromConfig ?? -1 },
      undefined,
    );
  }

  whoAmI(): Promise<ClientInfo[]> {
    return this.submit(OpCode.whoAmI, undefined, undefined);
  }

  /**
   * All-or-nothing writes. Resolves to one result per op; on failure
   * rejects with the culprit op's error, whose `results` hold every op's
   * outcome.
   */
  multi(ops: Op[]): Promise<MultiResultItem[]> {
    let body: MultiOp[];
    try {
      body = ops.map(multiOp);
    } catch (err) {
      return Promise.reject(err);
    }
    return this.submit(OpCode.multi, body, undefined);
  }

  /** Several reads in one round trip; a failed read is an `error` item, the others still answer. */
  multiRead(ops: ReadOp[]): Promise<MultiResultItem[]> {
    let body: MultiOp[];
    try {
      body = ops.map((o) => {
        checkPath(o.path);
        return { type: o.type === 'getData' ? OpCode.getData : OpCode.getChildren, req: { path: o.path, watch: false } };
      });
    } catch (err) {
      return Promise.reject(err);
    }
    return this.submit(OpCode.multiRead, body, undefined);
  }

  /**
   * Adds an identity to the session (e.g. 'digest', 'user:password') and
   * resolves when the server accepted it; it is sent again after every
   * reconnect. A refused auth rejects with AuthFailed and ends the session,
   * as ZooKeeper closes the connection.
   */
  addAuth(scheme: string, auth: string | Uint8Array): Promise<void> {
    if (this.isTerminal()) return Promise.reject(this.terminalError());
    const entry = { scheme, auth: typeof auth === 'string' ? Buffer.from(auth, 'utf8') : auth };
    this.authInfo.push(entry);
    return new Promise((resolve, reject) => {
      if (this._state === 'connected') {
        this.authWaiters.push({ resolve, reject });
        this.send(encodeRequest({ xid: Xid.auth, type: OpCode.auth }, { type: 0, ...entry }));
      } else {
        // Sent with the others when the next connection is primed.
        this.pendingAuth.push({ resolve, reject });
      }
    });
  }
  private pendingAuth: AuthWaiter[] = [];

  /** A persistent watch (every change of `path`), or with PERSISTENT_RECURSIVE of every node below it too; it stays until removed. */
  addWatch(path: string, watch: Watcher | true, mode: AddWatchModeName = 'PERSISTENT'): Promise<void> {
    if (AddWatchMode[mode] === undefined) return Promise.reject(zkError('BadArguments', path, `unknown watch mode ${String(mode)}`));
    const kind: WatchKind = mode === 'PERSISTENT' ? 'persistent' : 'recursive';
    return this.pathCall(OpCode.addWatch, path, { path, mode: AddWatchMode[mode] }, watch, kind);
  }

  /**
   * Removes `watcher` (or, with null, every watcher) of `type` from `path`;
   * each removed watcher gets a DataWatchRemoved / ChildWatchRemoved /
   * PersistentWatchRemoved event. Rejects with NoWatcher when there is none.
   * With `local`, the watches are dropped here even if the server cannot be
   * told.
   */
  async removeWatches(path: string, watcher: Watcher | null, type: WatcherTypeName = 'Any', local = false): Promise<void> {
    checkPath(path);
    if (WatcherType[type] === undefined) throw zkError('BadArguments', path, `unknown watcher type ${String(type)}`);
    if (!this.watches.contains(path, watcher, type)) throw zkError('NoWatcher', path);
    const op = watcher === null ? OpCode.removeWatches : OpCode.checkWatches;
    try {
      await this.submit(op, { path, type: WatcherType[type] }, path);
    } catch (err) {
      if (!local) throw err;
    }
    for (const [w, event] of this.watches.remove(path, watcher, type)) {
      this.fire(w, { type: EVENT_TYPE_NAMES[event]!, state: 'SyncConnected', path });
    }
  }

  /** Every watcher of `type` on `path`. */
  removeAllWatches(path: string, type: WatcherTypeName = 'Any', local = false): Promise<void> {
    return this.removeWatches(path, null, type, local);
  }

  /** Paths with a watch of each kind, as this client holds them. */
  watchedPaths(): { data: string[]; exist: string[]; child: string[]; persistent: string[]; persistentRecursive: string[] } {
    const w = this.watches;
    return {
      data: [...w.data.keys()],
      exist: [...w.exist.keys()],
      child: [...w.child.keys()],
      persistent: [...w.persistent.keys()],
      persistentRecursive: [...w.recursive.keys()],
    };
  }

  /**
   * Ends the session: sends closeSession and waits (at most `timeoutMs`)
   * for the answer, then closes the socket. Requests still pending fail with
   * ConnectionLoss. Safe to call more than once.
   */
  close(timeoutMs = 2000): Promise<void> {
    if (this.closing) return this.closing;
    if (this.isTerminal() || this._state === 'idle') {
      this._state = this._state === 'idle' ? 'closed' : this._state;
      return (this.closing = Promise.resolve());
    }
    const conn = this.conn;
    const wasConnected = this._state === 'connected';
    this.closing = (async () => {
      if (wasConnected && conn) {
        const closed = new Promise<void>((r) => conn.socket.once('close', () => r()));
        const answer = this.submit(OpCode.closeSession, undefined, undefined).catch(() => undefined);
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([answer, closed, new Promise<void>((r) => (timer = setTimeout(r, timeoutMs)))]);
        clearTimeout(timer);
      }
      this.finish('closed', 'Closed', zkError('ConnectionLoss'));
    })();
    return this.closing;
  }

  // ---- TypeScript-native conveniences -----------------------------------

  /**
   * The same calls, each bounded by `opts` (an AbortSignal, a timeout in
   * ms, or both): `await zk.with({ timeout: 500 }).getData('/x')`.
   */
  with(opts: CallOptions): BoundedCalls {
    return new Proxy(this, {
      get: (target, prop) => {
        const v = Reflect.get(target, prop, target) as unknown;
        if (typeof v !== 'function' || !BOUNDED_CALLS.has(prop)) return v;
        return (...args: unknown[]) => bounded((v as (...a: unknown[]) => Promise<unknown>).apply(target, args), opts, typeof args[0] === 'string' ? args[0] : undefined);
      },
    });
  }

  /**
   * A persistent watch as an async iterable:
   * `for await (const e of zk.watch('/app', { recursive: true })) ...`.
   * Breaking out of the loop (or aborting `signal`) removes the watch; the
   * iteration ends when the client closes and throws SessionExpired when
   * the session expires. The watch survives reconnects, as addWatch does.
   */
  watch(path: string, opts: WatchOptions = {}): WatchStream {
    const type: WatcherTypeName = opts.recursive ? 'PersistentRecursive' : 'Persistent';
    const watcher: Watcher = (e) => {
      if (e.type !== 'PersistentWatchRemoved') channel.push(e);
    };
    const stop = () => {
      this.off('state', onState);
      opts.signal?.removeEventListener('abort', onAbort);
      if (!this.isTerminal()) this.removeWatches(path, watcher, type, true).catch(() => undefined);
    };
    const channel = new Channel<WatchedEvent>(stop);
    const onState = (state: KeeperStateName) => {
      if (state === 'Expired') channel.end(zkError('SessionExpired', path));
      else if (state === 'Closed' || state === 'AuthFailed') channel.end(state === 'AuthFailed' ? zkError('AuthFailed', path) : undefined);
      if (channel.ended) stop();
    };
    const onAbort = () => void channel.return();
    this.on('state', onState);
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const ready = this.addWatch(path, watcher, opts.recursive ? 'PERSISTENT_RECURSIVE' : 'PERSISTENT');
    ready.catch((err: unknown) => {
      channel.end(err);
      stop();
    });
    if (opts.signal?.aborted) onAbort();
    return Object.assign(channel, { ready });
  }

  /**
   * Session events (Disconnected, SyncConnected, Expired, AuthFailed,
   * Closed) as an async iterable, from now on; it ends after the client's
   * last event (with `renewOnExpiry`, Expired is not one). The same events
   * are emitted as `state`.
   */
  states(signal?: AbortSignal): AsyncIterableIterator<KeeperStateName> {
    const stop = () => {
      this.off('state', onState);
      signal?.removeEventListener('abort', onAbort);
    };
    const channel = new Channel<KeeperStateName>(stop);
    const onState = (state: KeeperStateName) => {
      channel.push(state);
      if (this.isTerminal()) {
        channel.end();
        stop();
      }
    };
    const onAbort = () => void channel.return();
    if (this.isTerminal()) channel.end();
    else this.on('state', onState);
    signal?.addEventListener('abort', onAbort, { once: true });
    return channel;
  }

  /** A typed builder for `multi`: `await zk.transaction().create('/a').setData('/b', 'x').commit()`. */
  transaction(): Transaction {
    return new Transaction((ops) => this.multi(ops));
  }

  /** `await using zk = await ZooKeeperClient.connect(...)` closes the session at the end of the block. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  // ---- request plumbing ------------------------------------------------

  private pathCall<T>(op: RequestOp, path: string, body: unknown, watch?: Watcher | boolean, kind?: WatchKind): Promise<T> {
    try {
      checkPath(path);
    } catch (err) {
      return Promise.reject(err);
    }
    let watcher: Watcher | undefined;
    if (watch === true) {
      if (!this.defaultWatcher) return Promise.reject(zkError('BadArguments', path, 'watch: true needs a default watcher (the watcher option)'));
      watcher = this.defaultWatcher;
    } else if (typeof watch === 'function') {
      watcher = watch;
    }
    if (watcher && kind !== 'persistent' && kind !== 'recursive') (body as { watch: boolean }).watch = true;
    if (!watcher && (kind === 'persistent' || kind === 'recursive')) return Promise.reject(zkError('BadArguments', path, 'addWatch needs a watcher'));
    return this.submit(op, body as RequestBodies[RequestOp], path, watcher ? kind : undefined, watcher);
  }

  private submit<T>(op: RequestOp, body: RequestBodies[RequestOp], path: string | undefined, watchKind?: WatchKind, watcher?: Watcher): Promise<T> {
    if (this.isTerminal() || (this.closing && op !== OpCode.closeSession)) return Promise.reject(this.terminalError(path));
    if (this._state === 'idle') return Promise.reject(zkError('ConnectionLoss', path, 'not connected: call connect() first'));
    const xid = this.xid;
    this.xid = xid === 0x7fffffff ? 1 : xid + 1;
    let bytes: Buffer;
    try {
      bytes = encodeRequest({ xid, type: op }, body as never);
    } catch (err) {
      return Promise.reject(zkError('MarshallingError', path, (err as Error).message));
    }
    return new Promise<T>((resolve, reject) => {
      const p: Pending = { xid, op, path, resolve: resolve as (v: unknown) => void, reject, watchKind, watcher, out: undefined };
      this.pending.push(p);
      if (this._state === 'connected') this.send(bytes);
      else p.out = bytes;
    });
  }

  /** Queues a frame body for the next flush; one write per event-loop turn. */
  private send(body: Buffer): void {
    this.out.push(body);
    this.outBytes += 4 + body.length;
    if (!this.flushQueued) {
      this.flushQueued = true;
      process.nextTick(this.flush);
    }
  }

  private readonly flush = (): void => {
    this.flushQueued = false;
    const conn = this.conn;
    if (this.out.length === 0) return;
    if (!conn || !conn.handshaken) {
      // The connection went away; what was queued belongs to it (its requests have failed).
      this.out = [];
      this.outBytes = 0;
      return;
    }
    let buf: Buffer;
    if (this.out.length === 1) {
      buf = frame(this.out[0]!);
    } else {
      buf = Buffer.allocUnsafe(this.outBytes);
      let off = 0;
      for (const b of this.out) {
        buf.writeInt32BE(b.length, off);
        b.copy(buf, off + 4);
        off += 4 + b.length;
      }
    }
    this.out = [];
    this.outBytes = 0;
    conn.lastSend = Date.now();
    conn.socket.write(buf);
  };

  // ---- connection lifecycle --------------------------------------------

  private isTerminal(): boolean {
    return this._state === 'closed' || this._state === 'expired' || this._state === 'authFailed';
  }

  /** What a call on an ended session fails with, as Java words it (`KeeperErrorCode = ConnectionLoss for /x`). */
  private terminalError(path?: string): ZooKeeperError {
    switch (this._state) {
      case 'expired':
        return zkError('SessionExpired', path);
      case 'authFailed':
        return zkError('AuthFailed', path);
      default:
        return zkError('ConnectionLoss', path);
    }
  }

  private describeServers(): string {
    return this.servers.map((s) => `${s.host}:${s.port}`).join(',');
  }

  private openNext(): void {
    if (this.isTerminal()) return;
    const server = this.servers[this.nextServer % this.servers.length]!;
    this.nextServer = (this.nextServer + 1) % this.servers.length;
    const socket = this.tls
      ? // SNI takes names only; the certificate is checked against an address all the same.
        tlsConnect({ ...this.tls, host: server.host, port: server.port, servername: isIP(server.host) ? undefined : server.host })
      : tcpConnect({ host: server.host, port: server.port });
    socket.setNoDelay(true);
    const conn: Conn = {
      socket,
      server,
      decoder: new FrameDecoder(MAX_REPLY_FRAME),
      handshaken: false,
      attemptTimer: undefined,
      tick: undefined,
      lastRecv: Date.now(),
      lastSend: Date.now(),
    };
    this.conn = conn;
    conn.attemptTimer = setTimeout(() => this.drop(conn), this.attemptTimeout);
    socket.on(this.tls ? 'secureConnect' : 'connect', () => {
      this.reachedServer = true;
      socket.write(
        frame(
          encodeConnectRequest({
            protocolVersion: 0,
            lastZxidSeen: this._lastZxid,
            timeOut: this.requestedTimeout,
            sessionId: this._sessionId,
            passwd: this._password,
            readOnly: false,
          }),
        ),
      );
    });
    socket.on('data', (chunk: Buffer) => this.onData(conn, chunk));
    socket.on('error', () => {
      /* 'close' follows and handles it */
    });
    socket.on('close', () => this.drop(conn));
  }

  private onData(conn: Conn, chunk: Buffer): void {
    if (conn !== this.conn) return;
    conn.lastRecv = Date.now();
    conn.decoder.push(chunk);
    try {
      for (const f of conn.decoder) {
        if (conn !== this.conn) return;
        if (conn.handshaken) this.onReply(conn, f);
        else this.onConnectResponse(conn, f);
      }
    } catch {
      // A frame we cannot read: the stream is lost, as any other connection loss.
      this.drop(conn);
    }
  }

  private onConnectResponse(conn: Conn, f: Buffer): void {
    const resp = decodeConnectResponse(f);
    clearTimeout(conn.attemptTimer);
    conn.attemptTimer = undefined;
    if (resp.timeOut <= 0) {
      if (this.renewOnExpiry) this.renew(conn);
      else this.finish('expired', 'Expired', zkError('SessionExpired'));
      return;
    }
    this._sessionId = resp.sessionId;
    this._password = Buffer.from(resp.passwd);
    this._timeout = resp.timeOut;
    conn.handshaken = true;
    this._state = 'connected';
    this.failedInARow = 0;
    clearTimeout(this.disconnectedTimer);
    this.disconnectedTimer = undefined;

    // Prime the session before any request: auth first, then the watches.
    for (const a of this.authInfo) {
      this.send(encodeRequest({ xid: Xid.auth, type: OpCode.auth }, { type: 0, scheme: a.scheme, auth: a.auth }));
    }
    // Waiters of auths added while disconnected take the last places; the others are re-sends nobody awaits.
    const silent = this.authInfo.length - this.pendingAuth.length;
    for (let i = 0; i < silent; i++) this.authWaiters.push({});
    for (const w of this.pendingAuth) this.authWaiters.push(w);
    this.pendingAuth = [];
    this.sendSetWatches();
    this.pending.forEach((p) => {
      if (p.out) {
        this.send(p.out);
        p.out = undefined;
      }
    });

    // One interval per connection: a ping when nothing went out for half a period, a drop after 2/3 of the timeout of silence.
    const readTimeout = Math.floor((resp.timeOut * 2) / 3);
    const period = Math.max(1, Math.floor(resp.timeOut / 3));
    conn.tick = setInterval(() => {
      const now = Date.now();
      if (now - conn.lastRecv > readTimeout) {
        this.drop(conn);
        return;
      }
      if (now - conn.lastSend >= period / 2) this.send(PING);
    }, period);

    this.sessionEvent('SyncConnected');
    const waiters = this.connectWaiters;
    this.connectWaiters = [];
    for (const w of waiters) w.resolve();
  }

  private sendSetWatches(): void {
    const w = this.watches;
    if (w.size === 0) return;
    const lists = {
      dataWatches: [...w.data.keys()],
      existWatches: [...w.exist.keys()],
      childWatches: [...w.child.keys()],
      persistentWatches: [...w.persistent.keys()],
      persistentRecursiveWatches: [...w.recursive.keys()],
    };
    const v2 = lists.persistentWatches.length > 0 || lists.persistentRecursiveWatches.length > 0;
    // Split like Java's client so no one request grows past what the server accepts.
    const order = ['dataWatches', 'existWatches', 'childWatches', 'persistentWatches', 'persistentRecursiveWatches'] as const;
    let batch = { dataWatches: [] as string[], existWatches: [] as string[], childWatches: [] as string[], persistentWatches: [] as string[], persistentRecursiveWatches: [] as string[] };
    let bytes = 0;
    const emit = () => {
      const relativeZxid = this._lastZxid;
      if (v2) this.send(encodeRequest({ xid: Xid.setWatches, type: OpCode.setWatches2 }, { relativeZxid, ...batch }));
      else this.send(encodeRequest({ xid: Xid.setWatches, type: OpCode.setWatches }, { relativeZxid, dataWatches: batch.dataWatches, existWatches: batch.existWatches, childWatches: batch.childWatches }));
      batch = { dataWatches: [], existWatches: [], childWatches: [], persistentWatches: [], persistentRecursiveWatches: [] };
      bytes = 0;
    };
    for (const key of order) {
      for (const path of lists[key]) {
        batch[key].push(path);
        bytes += Buffer.byteLength(path) + 4;
        if (bytes > SET_WATCHES_MAX_BYTES) emit();
      }
    }
    if (bytes > 0) emit();
  }

  private onReply(conn: Conn, f: Buffer): void {
    const r = new JuteReader(f);
    const hdr = readReplyHeader(r);
    switch (hdr.xid) {
      case Xid.notification:
        this.onNotification(decodeReply(OpCode.notification, r));
        return;
      case Xid.ping:
        return;
      case Xid.auth: {
        const w = this.authWaiters.shift();
        if (hdr.err === 0) {
          w?.resolve?.();
          return;
        }
        const err = ZooKeeperError.fromRc(hdr.err);
        w?.reject?.(err);
        if (hdr.err === Err.AUTHFAILED) this.finish('authFailed', 'AuthFailed', err);
        return;
      }
      case Xid.setWatches:
        return;
    }
    const p = this.pending.peek();
    if (!p || p.xid !== hdr.xid || p.out) {
      // Out of order: the stream cannot be trusted any more.
      this.drop(conn);
      return;
    }
    this.pending.shift();
    if (hdr.zxid > 0) this._lastZxid = hdr.zxid;
    if (hdr.err !== 0) {
      if (p.op === OpCode.exists && hdr.err === Err.NONODE) {
        if (p.watcher) this.watches.add('exist', p.path!, p.watcher);
        p.resolve(null);
        return;
      }
      p.reject(ZooKeeperError.fromRc(hdr.err, p.path));
      return;
    }
    let value: unknown;
    try {
      value = this.decodeValue(p.op, r);
    } catch (err) {
      p.reject(zkError('MarshallingError', p.path, (err as Error).message));
      this.drop(conn);
      return;
    }
    if (p.op === OpCode.multi) {
      const items = value as MultiResultItem[];
      const bad = items.find((i): i is Extract<MultiResultItem, { type: 'error' }> => i.type === 'error' && i.rc !== 0);
      if (bad) {
        const err = ZooKeeperError.fromRc(bad.rc);
        err.results = items;
        p.reject(err);
        return;
      }
    }
    if (p.watcher && p.watchKind) this.watches.add(p.watchKind, p.path!, p.watcher);
    p.resolve(value);
  }

  /** The value a call resolves to, from the reply body of its opcode. */
  private decodeValue(op: number, r: JuteReader): unknown {
    switch (op) {
      case OpCode.create:
      case OpCode.sync:
        return decodeReply(op, r).path;
      case OpCode.create2:
      case OpCode.createContainer:
      case OpCode.createTTL: {
        const b = decodeReply(op as typeof OpCode.create2, r);
        return { path: b.path, stat: b.stat };
      }
      case OpCode.exists:
      case OpCode.setData:
      case OpCode.setACL:
        return decodeReply(op as typeof OpCode.exists, r).stat;
      case OpCode.getData:
      case OpCode.reconfig: {
        // reconfig answers a GetDataResponse: the new configuration and /zookeeper/config's stat.
        const b = decodeReply(OpCode.getData, r);
        return { data: b.data === null ? null : Buffer.from(b.data), stat: b.stat };
      }
      case OpCode.getChildren:
        return decodeReply(OpCode.getChildren, r).children;
      case OpCode.getChildren2:
        return decodeReply(OpCode.getChildren2, r);
      case OpCode.getACL:
        return decodeReply(OpCode.getACL, r);
      case OpCode.getAllChildrenNumber:
        return decodeReply(OpCode.getAllChildrenNumber, r).totalNumber;
      case OpCode.getEphemerals:
        return decodeReply(OpCode.getEphemerals, r).ephemerals;
      case OpCode.whoAmI:
        return decodeReply(OpCode.whoAmI, r).clientInfo;
      case OpCode.multi:
      case OpCode.multiRead:
        return (decodeReply(op, r) as ResponseBodies[typeof OpCode.multi]).map(resultItem);
      default:
        return undefined;
    }
  }

  private onNotification(e: { type: number; state: number; path: string }): void {
    const type = EVENT_TYPE_NAMES[e.type];
    if (!type || type === 'None') return;
    const event: WatchedEvent = { type, state: 'SyncConnected', path: e.path };
    for (const w of this.watches.materialize(e.type, e.path)) this.fire(w, event);
  }

  private fire(w: Watcher, e: WatchedEvent): void {
    try {
      w(e);
    } catch (err) {
      // A watcher's bug must not break the connection's read loop.
      queueMicrotask(() => {
        throw err;
      });
    }
  }

  private sessionEvent(state: KeeperStateName): void {
    if (this.defaultWatcher) this.fire(this.defaultWatcher, { type: 'None', state, path: null });
    this.emit('state', state);
  }

  /** Ends a connection (any reason) and, unless the session is over, moves to the next server. */
  private drop(conn: Conn): void {
    if (conn !== this.conn) return;
    this.conn = undefined;
    clearTimeout(conn.attemptTimer);
    clearInterval(conn.tick);
    conn.socket.destroy();
    if (this.isTerminal() || this.closing) return;
    const wasConnected = conn.handshaken;
    this._state = 'connecting';
    this.failRequests(zkError('ConnectionLoss'), true);
    if (wasConnected) {
      this.sessionEvent('Disconnected');
      this.disconnectedTimer ??= setTimeout(() => {
        this.disconnectedTimer = undefined;
        this.failRequests(zkError('ConnectionLoss', undefined, `disconnected for the whole session timeout`), false);
      }, this._timeout || this.requestedTimeout);
    }
    // Java waits up to a second before a reconnect and after trying every server once.
    this.failedInARow++;
    const delay = wasConnected ? Math.floor(Math.random() * 100) : this.failedInARow % this.servers.length === 0 ? 1000 : 0;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.openNext();
    }, delay);
  }

  /**
   * Rejects the requests sent on a lost connection (all of them when
   * `sentOnly` is false) and the auths awaiting an answer.
   */
  private failRequests(err: ZooKeeperError, sentOnly: boolean): void {
    const keep: Pending[] = [];
    for (const p of this.pending.drain()) {
      if (sentOnly && p.out) keep.push(p);
      else p.reject(zkError(err.code, p.path));
    }
    for (const p of keep) this.pending.push(p);
    for (const w of this.authWaiters.drain()) w.reject?.(err);
    if (!sentOnly) {
      for (const w of this.pendingAuth) w.reject?.(err);
      this.pendingAuth = [];
    }
    this.out = [];
    this.outBytes = 0;
  }

  /**
   * The session expired and `renewOnExpiry` asks for another: what the old
   * one had fails and goes as in `finish`, then the client connects afresh
   * (with its auth, and its last zxid so that it never reads older).
   */
  private renew(conn: Conn): void {
    this.conn = undefined;
    clearTimeout(conn.attemptTimer);
    clearInterval(conn.tick);
    conn.socket.destroy();
    clearTimeout(this.disconnectedTimer);
    this.disconnectedTimer = undefined;
    this._sessionId = 0n;
    this._password = new Uint8Array(16);
    this._state = 'connecting';
    this.failRequests(zkError('SessionExpired'), false);
    this.watches.clear();
    this.sessionEvent('Expired');
    if (this._state !== 'connecting' || this.closing) return;
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = undefined;
      this.openNext();
    }, 0);
  }

  /** The session is over: fail everything, drop the watches, tell the default watcher. */
  private finish(state: 'closed' | 'expired' | 'authFailed', event: KeeperStateName, err: ZooKeeperError): void {
    if (this.isTerminal()) return;
    this._state = state;
    clearTimeout(this.reconnectTimer);
    clearTimeout(this.disconnectedTimer);
    const conn = this.conn;
    this.conn = undefined;
    if (conn) {
      clearTimeout(conn.attemptTimer);
      clearInterval(conn.tick);
      conn.socket.destroy();
    }
    this.failRequests(err, false);
    this.watches.clear();
    const waiters = this.connectWaiters;
    this.connectWaiters = [];
    for (const w of waiters) w.reject(err);
    this.sessionEvent(event);
  }
}
