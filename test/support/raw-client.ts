/**
 * A minimal ZooKeeper wire client for tests that need to see, or break, the
 * protocol itself: exact frame order, pipelining without awaiting, pings
 * under the test's control, and hand-made bad bytes. Built on
 * @zooid/protocol's codecs so that it shares no code with the server besides
 * the jute records.
 */
import { connect as tcpConnect, type Socket } from 'node:net';
import {
  OpCode,
  Xid,
  FrameDecoder,
  JuteReader,
  decodeConnectResponse,
  decodeReply,
  encodeConnectRequest,
  encodeRequest,
  frame,
  readReplyHeader,
  type ConnectResponse,
  type ReplyOp,
  type RequestBodies,
  type RequestOp,
  type WatcherEvent,
} from '@zooid/protocol';

/** Everything the server sent after the handshake, in arrival order. */
export type Incoming =
  | { kind: 'reply'; xid: number; zxid: number; err: number; op: number; body: unknown; seq: number }
  | { kind: 'notification'; event: WatcherEvent; seq: number }
  | { kind: 'ping'; zxid: number; seq: number }
  | { kind: 'other'; xid: number; zxid: number; err: number; seq: number };

export type Reply = Extract<Incoming, { kind: 'reply' }>;

export interface RawConnectOptions {
  host?: string;
  timeOut?: number;
  sessionId?: bigint;
  passwd?: Uint8Array;
  lastZxidSeen?: number;
  /** Send the trailing read-only byte (3.4-era clients do not). */
  readOnlyByte?: boolean;
  /** Ping interval in ms; 0 sends no pings (a silent client). Default: a third of the negotiated timeout. */
  pingEvery?: number;
  /** How long to wait for the ConnectResponse. */
  deadlineMs?: number;
}

export class HandshakeRefused extends Error {}

/** Opens a TCP connection with no handshake: for sending hand-made bytes. */
export function openSocket(port: number, host = '127.0.0.1'): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = tcpConnect({ port, host, noDelay: true }, () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

/** Resolves once the peer has closed the connection (or it errored), rejects after the deadline. */
export function socketClosed(s: Socket, deadlineMs = 10_000): Promise<void> {
  if (s.destroyed || s.readableEnded) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`server did not close the connection within ${deadlineMs} ms`)), deadlineMs);
    const done = () => {
      clearTimeout(t);
      resolve();
    };
    s.once('close', done);
    s.once('end', done);
    s.on('error', () => undefined);
    // Keep reading so that 'end' can fire.
    s.resume();
  });
}

export class RawClient {
  readonly incoming: Incoming[] = [];
  /** Replies whose xid was not the oldest outstanding one (ZooKeeper's Java client calls this "Xid out of order"). */
  readonly outOfOrder: { expected: number; got: number }[] = [];
  private readonly pending: { xid: number; op: number; resolve: (r: Reply) => void; reject: (e: Error) => void }[] = [];
  private readonly listeners = new Set<(m: Incoming) => void>();
  private nextXid = 1;
  private seq = 0;
  private pingTimer: NodeJS.Timeout | undefined;
  private closedFlag = false;
  /** Why this client dropped the connection itself (a frame it could not decode), if it did. */
  failure: Error | undefined;
  readonly closed: Promise<void>;
  /** The client side's port, which the gateway logs as part of the remote address. */
  readonly localPort: number;

  private constructor(
    readonly socket: Socket,
    readonly session: ConnectResponse,
    decoder: FrameDecoder,
    pingEvery: number,
  ) {
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    this.localPort = socket.localPort!;
    socket.on('data', (chunk: Buffer) => {
      decoder.push(chunk);
      try {
        for (const f of decoder) this.onFrame(f);
      } catch (err) {
        this.failure = err as Error;
        socket.destroy(err as Error);
      }
    });
    socket.on('close', () => {
      this.closedFlag = true;
      if (this.pingTimer) clearInterval(this.pingTimer);
      const why = this.failure ? ` (client-side: ${String(this.failure)})` : '';
      for (const p of this.pending.splice(0)) p.reject(new Error(`connection closed before the reply to xid ${p.xid}${why}`));
    });
    socket.on('error', () => undefined);
    if (pingEvery > 0) {
      this.pingTimer = setInterval(() => this.ping(), pingEvery);
      this.pingTimer.unref();
    }
  }

  /** The highest zxid seen in a reply header, as a client sends it on reconnect. */
  lastZxid = 0;

  /** Connects again with this client's session id, password and last zxid (through any gateway). */
  resume(port: number, opts: RawConnectOptions = {}): Promise<{ client?: RawClient; response?: ConnectResponse }> {
    return RawClient.handshake(port, {
      timeOut: this.session.timeOut,
      sessionId: this.session.sessionId,
      passwd: this.session.passwd,
      lastZxidSeen: this.lastZxid,
      ...opts,
    });
  }

  get sessionId(): bigint {
    return this.session.sessionId;
  }

  get isClosed(): boolean {
    return this.closedFlag;
  }

  /** Connects and completes the handshake; rejects with HandshakeRefused when the server closes or refuses. */
  static async connect(port: number, opts: RawConnectOptions = {}): Promise<RawClient> {
    const { client, response } = await RawClient.handshake(port, opts);
    if (!client) throw new HandshakeRefused(`session refused: ${JSON.stringify({ ...response, sessionId: String(response?.sessionId) })}`);
    return client;
  }

  /**
   * The handshake with its raw answer: `client` is undefined when the server
   * refused (timeOut 0, as ZooKeeper answers an expired session or a wrong
   * password) or closed without a ConnectResponse (`response` undefined).
   */
  static async handshake(port: number, opts: RawConnectOptions = {}): Promise<{ client?: RawClient; response?: ConnectResponse }> {
    const socket = await openSocket(port, opts.host);
    const decoder = new FrameDecoder(64 * 1024 * 1024);
    socket.write(
      frame(
        encodeConnectRequest({
          protocolVersion: 0,
          lastZxidSeen: opts.lastZxidSeen ?? 0,
          timeOut: opts.timeOut ?? 10_000,
          sessionId: opts.sessionId ?? 0n,
          passwd: opts.passwd ?? new Uint8Array(16),
          readOnly: opts.readOnlyByte === false ? undefined : false,
        }),
      ),
    );
    const response = await new Promise<ConnectResponse | undefined>((resolve, reject) => {
      const deadline = setTimeout(() => {
        cleanup();
        socket.destroy();
        reject(new Error('no ConnectResponse within the deadline'));
      }, opts.deadlineMs ?? 15_000);
      const onData = (chunk: Buffer) => {
        decoder.push(chunk);
        for (const f of decoder) {
          cleanup();
          // Anything after the first frame stays in the decoder for the client.
          resolve(decodeConnectResponse(f));
          return;
        }
      };
      const onClose = () => {
        cleanup();
        resolve(undefined);
      };
      const cleanup = () => {
        clearTimeout(deadline);
        socket.off('data', onData);
        socket.off('close', onClose);
      };
      socket.on('data', onData);
      socket.once('close', onClose);
      socket.on('error', () => undefined);
    });
    if (!response || response.timeOut <= 0 || response.sessionId === 0n) {
      socket.destroy();
      return { response };
    }
    const client = new RawClient(socket, response, decoder, opts.pingEvery ?? Math.floor(response.timeOut / 3));
    // Frames that came in the same chunk as the ConnectResponse.
    queueMicrotask(() => {
      try {
        for (const f of decoder) client.onFrame(f);
      } catch (err) {
        client.failure = err as Error;
        socket.destroy(err as Error);
      }
    });
    return { client, response };
  }

  /** Sends a request and returns its reply; does not wait for earlier ones (pipelining). */
  call<K extends RequestOp>(op: K, req: RequestBodies[K]): Promise<Reply> {
    const xid = this.nextXid++;
    return this.callWithXid(xid, op, req);
  }

  callWithXid<K extends RequestOp>(xid: number, op: K, req: RequestBodies[K]): Promise<Reply> {
    const p = this.expect(xid, op);
    if (this.closedFlag) {
      this.pending.pop()!.reject(new Error('connection closed'));
    } else {
      this.socket.write(frame(encodeRequest({ xid, type: op }, req)));
    }
    return p;
  }

  /**
   * Sends a hand-made request body under a fresh xid; the reply (if any) is
   * awaited like any other. `op` is used to decode the reply.
   */
  callRaw(op: number, body: Uint8Array): Promise<Reply> {
    const xid = this.nextXid++;
    const hdr = Buffer.alloc(8);
    hdr.writeInt32BE(xid, 0);
    hdr.writeInt32BE(op, 4);
    const p = this.expect(xid, op);
    this.socket.write(frame(Buffer.concat([hdr, body])));
    return p;
  }

  private expect(xid: number, op: number): Promise<Reply> {
    const p = new Promise<Reply>((resolve, reject) => this.pending.push({ xid, op, resolve, reject }));
    // A caller that fires and forgets must not turn a closed connection into an unhandled rejection.
    p.catch(() => undefined);
    return p;
  }

  ping(): void {
    if (!this.closedFlag) this.socket.write(frame(encodeRequest({ xid: Xid.ping, type: OpCode.ping }, undefined)));
  }

  stopPinging(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = undefined;
  }

  onMessage(fn: (m: Incoming) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** The first received message (past or future) that matches, within the deadline. */
  waitFor(pred: (m: Incoming) => boolean, deadlineMs = 10_000, what = 'a matching message'): Promise<Incoming> {
    const seen = this.incoming.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        off();
        reject(new Error(`timed out waiting for ${what}`));
      }, deadlineMs);
      const off = this.onMessage((m) => {
        if (!pred(m)) return;
        clearTimeout(t);
        off();
        resolve(m);
      });
    });
  }

  /** closeSession, as a client's close(): waits for the reply, then the server's close. */
  async close(deadlineMs = 10_000): Promise<void> {
    if (this.closedFlag) return;
    this.stopPinging();
    const r = this.call(OpCode.closeSession, undefined).catch(() => undefined);
    await Promise.race([Promise.all([r, this.closed]), new Promise((res) => setTimeout(res, deadlineMs).unref())]);
    this.socket.destroy();
  }

  /** Drops the TCP connection without closing the session. */
  destroy(): void {
    this.stopPinging();
    this.socket.destroy();
  }

  private onFrame(f: Uint8Array): void {
    const r = new JuteReader(f);
    const hdr = readReplyHeader(r);
    const seq = this.seq++;
    if (hdr.zxid > this.lastZxid && hdr.xid !== Xid.notification) this.lastZxid = hdr.zxid;
    let m: Incoming;
    if (hdr.xid === Xid.notification) {
      m = { kind: 'notification', event: decodeReply(OpCode.notification, r), seq };
    } else if (hdr.xid === Xid.ping) {
      m = { kind: 'ping', zxid: hdr.zxid, seq };
    } else {
      const i = this.pending.findIndex((p) => p.xid === hdr.xid);
      if (i < 0) {
        m = { kind: 'other', ...hdr, seq };
      } else {
        if (i !== 0) this.outOfOrder.push({ expected: this.pending[0]!.xid, got: hdr.xid });
        const [p] = this.pending.splice(i, 1);
        const body = hdr.err === 0 && hasReplyCodec(p!.op) ? decodeReply(p!.op as ReplyOp, r) : undefined;
        m = { kind: 'reply', ...hdr, op: p!.op, body, seq };
        this.incoming.push(m);
        for (const l of [...this.listeners]) l(m);
        p!.resolve(m);
        return;
      }
    }
    this.incoming.push(m);
    for (const l of [...this.listeners]) l(m);
  }
}

const BODYLESS_OK = new Set<number>([OpCode.delete, OpCode.ping, OpCode.checkWatches, OpCode.removeWatches, OpCode.auth, OpCode.setWatches, OpCode.setWatches2, OpCode.closeSession]);
const WITH_BODY = new Set<number>([
  OpCode.create,
  OpCode.exists,
  OpCode.getData,
  OpCode.setData,
  OpCode.getACL,
  OpCode.setACL,
  OpCode.getChildren,
  OpCode.sync,
  OpCode.getChildren2,
  OpCode.check,
  OpCode.multi,
  OpCode.create2,
  OpCode.reconfig,
  OpCode.createContainer,
  OpCode.createTTL,
  OpCode.multiRead,
  OpCode.sasl,
  OpCode.getEphemerals,
  OpCode.getAllChildrenNumber,
  OpCode.addWatch,
  OpCode.whoAmI,
]);

function hasReplyCodec(op: number): boolean {
  return WITH_BODY.has(op) || BODYLESS_OK.has(op);
}

/** ZooDefs.Ids.OPEN_ACL_UNSAFE */
export const OPEN_ACL = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];

/** Convenience bodies. */
export const req = {
  create: (path: string, data: string | Uint8Array = '', flags = 0) => ({
    path,
    data: typeof data === 'string' ? Buffer.from(data) : data,
    acl: OPEN_ACL,
    flags,
  }),
  setData: (path: string, data: string | Uint8Array, version = -1) => ({ path, data: typeof data === 'string' ? Buffer.from(data) : data, version }),
  getData: (path: string, watch = false) => ({ path, watch }),
  exists: (path: string, watch = false) => ({ path, watch }),
  delete: (path: string, version = -1) => ({ path, version }),
  children: (path: string, watch = false) => ({ path, watch }),
};
