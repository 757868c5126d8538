import { randomBytes } from 'node:crypto';
import {
  Err,
  OpCode,
  Xid,
  JuteReader,
  decodeRequest,
  encodeReply,
  encodeNotification,
  encodeConnectResponse,
  encodeSaslFailure,
  hexZxid,
  type AuthId,
  type ConnectAsk,
  type Forwarded,
  type GwToLearner,
  type Id,
  type LearnerToGw,
  type ReplyOp,
} from '@zooid/protocol';
import {
  DataTree,
  DigestMd5Server,
  WatchManager,
  authenticate,
  passwordVerifier,
  verifiesPassword,
  executeRead,
  executeWatchOp,
  type ApplyResult,
  type Txn,
  type TxnHeader,
  type TreeConfig,
} from '@zooid/tree';
import { Outbox } from './outbox.js';
import { classify } from './ops.js';

export interface ReplicaOptions {
  /** This learner's id: the bus address gateways reach it at. */
  id: string;
  tickTime: number;
  minSessionTimeout: number;
  maxSessionTimeout: number;
  tree: TreeConfig;
  /** Writes, session creations and syncs go to the leader through this. */
  forward: (entries: Forwarded[]) => void;
  /** Batches for a gateway go out through this. */
  send: (gateway: string, entries: LearnerToGw[]) => void;
  warn: (fields: object, msg: string) => void;
  /**
   * The newest zxid this learner knows exists: the last it has logged. A
   * client that has seen more is ahead of everything this learner knows of,
   * and is refused as ZooKeeper refuses it (default: the tree's last zxid).
   */
  lastLogged?: () => number;
  /** Runs a batch's send at the end of the turn (default setImmediate; a process shares one such callback between its batchers). */
  defer?: (fn: () => void) => void;
  /** Random bytes for session ids and passwords (default node:crypto; a simulator passes its seeded generator). */
  random?: (n: number) => Uint8Array;
  /**
   * Reply bytes a session may have sent and not yet acknowledged by its
   * gateway (the client has not read them) before its next read waits.
   */
  replyWindow?: number;
  /** Watches one session may hold here; a request that takes it over the limit costs its connection. */
  maxSessionWatches?: number;
}

export const DEFAULT_REPLY_WINDOW = 4 * 1024 * 1024;
export const DEFAULT_MAX_SESSION_WATCHES = 100_000;

interface Pending {
  xid: number;
  op: number;
  frame: Uint8Array;
  /** Sent to the leader; the reply comes with its commit. */
  forwarded: boolean;
  /**
   * The connection the request came on. A session that moves to a new
   * connection keeps its forwarded writes in the queue (its new requests
   * wait behind them), but their answers belong to the old connection only:
   * on the new one they would answer xids the client never sent.
   */
  gateway: string;
  conn: number;
}

interface Attached {
  sessionId: bigint;
  gateway: string;
  conn: number;
  /** Connection gone: replies are dropped, in-flight writes still drain in order. */
  detached: boolean;
  ids: Id[];
  queue: Pending[];
  /** A SASL exchange under way on this connection. */
  sasl?: DigestMd5Server;
  /** Whether its gateway acknowledges replies; only then is the session held to the reply window. */
  windowed: boolean;
  /** Reply bytes sent on this connection and not yet acknowledged by the gateway. */
  unacked: number;
}

interface Connecting {
  gateway: string;
  conn: number;
  ask: ConnectAsk;
  timeout: number;
  passwd: Uint8Array;
}

/**
 * The learner's replica: the committed tree, the watches of the sessions
 * pinned here, and each session's request queue. Reads are answered from the
 * local tree; writes go to the leader, and a session's later requests wait
 * behind its writes until their commits arrive, which is what gives FIFO
 * client order and read-your-writes. Plain code, no timers: the host feeds it
 * gateway batches and commits, and it hands out gateway batches and forwards.
 */
export class Replica {
  readonly tree: DataTree;
  readonly watches: WatchManager;
  private readonly attached = new Map<bigint, Attached>();
  private readonly connecting = new Map<bigint, Connecting>();
  /** Connects from clients that have seen a zxid this learner has logged but not yet applied. */
  private behind: { gateway: string; conn: number; ask: ConnectAsk }[] = [];
  private readonly outbox: Outbox;
  private readonly defer: (fn: () => void) => void;
  private readonly forwardBatch: Forwarded[] = [];
  private forwardScheduled = false;
  private readonly replyWindow: number;
  private readonly maxSessionWatches: number;
  /** Requests handled since start, for four-letter words. */
  packetsReceived = 0;
  packetsSent = 0;

  constructor(private readonly opts: ReplicaOptions, tree = new DataTree()) {
    this.tree = tree;
    this.watches = new WatchManager(opts.tree);
    this.defer = opts.defer ?? setImmediate;
    this.outbox = new Outbox(opts.send, this.defer);
    this.replyWindow = opts.replyWindow ?? DEFAULT_REPLY_WINDOW;
    this.maxSessionWatches = opts.maxSessionWatches ?? DEFAULT_MAX_SESSION_WATCHES;
  }

  get sessionCount(): number {
    return this.attached.size;
  }

  attachedSessions(): Iterable<Readonly<Attached>> {
    return this.attached.values();
  }

  /**
   * This learner stops serving (its role ended): every attached client is
   * disconnected so it reconnects to a learner that serves.
   */
  detachAll(reason: string): void {
    for (const s of this.attached.values()) if (!s.detached) this.outbox.push(s.gateway, ['x', s.conn, reason]);
    for (const c of this.connecting.values()) this.outbox.push(c.gateway, ['x', c.conn, reason]);
    for (const b of this.behind) this.outbox.push(b.gateway, ['x', b.conn, reason]);
    this.attached.clear();
    this.connecting.clear();
    this.behind = [];
    this.outbox.flush();
  }

  /**
   * Batches from this gateway were lost: the requests of its clients here can
   * no longer be answered in order, and a lost connect is one we never heard
   * of. The gateway closes every connection it pinned here (the clients
   * reconnect and keep their sessions); what they left here is let go.
   */
  dropGateway(gateway: string, reason: string): void {
    for (const s of this.attached.values()) {
      if (s.gateway !== gateway || s.detached) continue;
      s.detached = true;
      s.queue = s.queue.filter((p) => p.forwarded);
      if (s.queue.length === 0) this.attached.delete(s.sessionId);
    }
    for (const [id, c] of this.connecting) if (c.gateway === gateway) this.connecting.delete(id);
    this.behind = this.behind.filter((b) => b.gateway !== gateway);
    this.outbox.push(gateway, ['X', 0, reason]);
  }

  /** A batch from a gateway. */
  fromGateway(gateway: string, entries: GwToLearner[]): void {
    for (const e of entries) {
      try {
        switch (e[0]) {
          case 'c':
            this.connect(gateway, e[1], e[2]);
            break;
          case 'r':
            this.request(gateway, e[1], e[2], e[3]);
            break;
          case 'd':
            this.disconnected(gateway, e[1], e[2]);
            break;
          case 'a':
            this.acknowledged(gateway, e[1], e[2], e[3]);
            break;
        }
      } catch (err) {
        // One client's request that we fail on must not cost the other
        // clients in the batch theirs: close only that connection.
        this.opts.warn({ conn: e[1], err: String(err) }, 'failed to handle a client request; closing its connection');
        this.outbox.push(gateway, ['x', e[1], 'server failed to handle a request']);
      }
    }
  }

  /** A committed transaction, in zxid order. */
  committed(hdr: TxnHeader, txn: Txn): void {
    const result = this.tree.apply(hdr, txn);
    for (const n of this.watches.trigger(result.triggers)) {
      const s = this.attached.get(n.sessionId);
      if (s && !s.detached) this.out(s, ['o', s.conn, encodeNotification(n.event)]);
    }
    if (hdr.type === OpCode.createSession) this.sessionCreated(hdr.sessionId);
    const s = this.attached.get(hdr.sessionId);
    if (s) this.writeCommitted(s, hdr, result);
    if (hdr.type === OpCode.closeSession) this.sessionClosed(hdr.sessionId, hdr.cxid === 0 ? 'session expired' : 'session closed');
    if (this.behind.length > 0) this.retryBehind();
  }

  private retryBehind(): void {
    const waiting = this.behind;
    this.behind = [];
    for (const w of waiting) this.connect(w.gateway, w.conn, w.ask);
  }

  private connect(gateway: string, conn: number, ask: ConnectAsk): void {
    if (ask.lastZxidSeen > this.tree.lastZxid) {
      const logged = this.opts.lastLogged?.() ?? this.tree.lastZxid;
      if (ask.lastZxidSeen > logged || this.behind.length >= MAX_BEHIND) {
        // As ZooKeeper: no session with a client that has seen what we cannot show it; it tries again elsewhere.
        this.opts.warn({ conn, lastZxidSeen: hexZxid(ask.lastZxidSeen), logged: hexZxid(logged), waiting: this.behind.length }, 'refusing a connect from a client that has seen a newer zxid than this learner knows of');
        this.outbox.push(gateway, ['x', conn, 'client has seen a newer zxid than this learner']);
        return;
      }
      // Its commit is on the way: the client waits for it here, so it never reads older than it already has.
      this.behind.push({ gateway, conn, ask });
      return;
    }
    if (ask.sessionId === 0n) {
      const random = this.opts.random ?? randomBytes;
      const sessionId = newSessionId(Buffer.from(random(8)));
      const timeout = this.negotiate(ask.timeOut);
      const passwd = random(16);
      this.connecting.set(sessionId, { gateway, conn, ask, timeout, passwd });
      this.forward(['s', this.opts.id, sessionId, timeout, passwordVerifier(passwd)]);
      return;
    }
    const known = this.tree.sessions.get(ask.sessionId);
    if (!known || !verifiesPassword(known.verifier, ask.passwd)) {
      this.answerConnect(gateway, conn, ask, 0n, 0, new Uint8Array(16));
      this.outbox.push(gateway, ['x', conn, known ? 'wrong session password' : 'session expired']);
      return;
    }
    this.attach(gateway, conn, ask, ask.sessionId);
    this.answerConnect(gateway, conn, ask, ask.sessionId, known.timeout, ask.passwd);
  }

  private negotiate(requested: number): number {
    return Math.min(Math.max(requested, this.opts.minSessionTimeout), this.opts.maxSessionTimeout);
  }

  private sessionCreated(sessionId: bigint): void {
    const c = this.connecting.get(sessionId);
    if (!c) return;
    this.connecting.delete(sessionId);
    this.attach(c.gateway, c.conn, c.ask, sessionId);
    this.answerConnect(c.gateway, c.conn, c.ask, sessionId, c.timeout, c.passwd);
  }

  private attach(gateway: string, conn: number, ask: ConnectAsk, sessionId: bigint): void {
    const prior = this.attached.get(sessionId);
    if (prior && !prior.detached && (prior.gateway !== gateway || prior.conn !== conn)) {
      this.outbox.push(prior.gateway, ['x', prior.conn, 'session moved to another connection']);
    }
    const ids: Id[] = [{ scheme: 'ip', id: ask.ip }];
    if (ask.x509 !== undefined) ids.push({ scheme: 'x509', id: ask.x509 });
    // Requests not yet sent to the leader died with the old connection; the
    // client already reported them lost. Forwarded ones still come back, and
    // the new connection's requests wait behind them (their answers are
    // dropped: see Pending).
    const queue = prior ? prior.queue.filter((p) => p.forwarded) : [];
    this.attached.set(sessionId, { sessionId, gateway, conn, detached: false, ids, queue, windowed: ask.acks === true, unacked: 0 });
  }

  private answerConnect(gateway: string, conn: number, ask: ConnectAsk, sessionId: bigint, timeOut: number, passwd: Uint8Array) {
    const body = encodeConnectResponse({
      protocolVersion: 0,
      timeOut,
      sessionId,
      passwd,
      readOnly: ask.hasReadOnlyByte ? false : undefined,
    });
    this.outbox.push(gateway, ['c', conn, sessionId, body]);
  }

  private disconnected(gateway: string, conn: number, sessionId: bigint): void {
    // A connect still waiting here is forgotten with its connection; a session it was creating expires unattached.
    this.behind = this.behind.filter((b) => b.gateway !== gateway || b.conn !== conn);
    for (const [id, c] of this.connecting) if (c.gateway === gateway && c.conn === conn) this.connecting.delete(id);
    const s = this.attached.get(sessionId);
    if (!s || s.gateway !== gateway || s.conn !== conn) return;
    s.detached = true;
    s.queue = s.queue.filter((p) => p.forwarded);
    if (s.queue.length === 0) this.attached.delete(sessionId);
    // Watches stay: they belong to the session, which lives until it expires.
  }

  /** The client read `bytes` more of its replies: that much of the window opens again. */
  private acknowledged(gateway: string, conn: number, sessionId: bigint, bytes: number): void {
    const s = this.attached.get(sessionId);
    if (!s || s.gateway !== gateway || s.conn !== conn || s.detached) return;
    s.unacked = Math.max(0, s.unacked - bytes);
    this.drain(s);
  }

  private request(gateway: string, conn: number, sessionId: bigint, frame: Uint8Array): void {
    const s = this.attached.get(sessionId);
    if (!s || s.gateway !== gateway || s.conn !== conn || s.detached) {
      this.outbox.push(gateway, ['x', conn, 'session is not attached to this learner']);
      return;
    }
    this.packetsReceived++;
    const xid = frame.length >= 8 ? Buffer.from(frame.buffer, frame.byteOffset, frame.length).readInt32BE(0) : 0;
    const op = frame.length >= 8 ? Buffer.from(frame.buffer, frame.byteOffset, frame.length).readInt32BE(4) : OpCode.error;
    s.queue.push({ xid, op, frame, forwarded: false, gateway, conn });
    this.drain(s);
  }

  /**
   * Serves the session's queue from its head until it meets a write in
   * flight, or a read while the client has a window's worth of replies
   * unread: what it asked for then waits here, in order, a few bytes a
   * request, instead of as replies in every buffer between here and it.
   */
  private drain(s: Attached): void {
    while (s.queue.length > 0 && !s.queue[0]!.forwarded) {
      const head = s.queue[0]!;
      const kind = classify(head.op);
      if (!this.admitted(s, head.op)) {
        // ZooKeeper's AuthenticationHelper.enforceAuthentication: answer, then close.
        this.opts.warn({ sessionId: s.sessionId.toString(16), op: head.op, schemes: this.opts.tree.enforceAuthSchemes }, 'request before authentication; closing connection');
        this.reply(s, head.xid, 0, Err.SESSIONCLOSEDREQUIRESASLAUTH, head.op, undefined);
        this.out(s, ['x', s.conn, 'authentication required']);
        s.queue.length = 0;
        return;
      }
      if (kind === 'write') break;
      if (s.windowed && s.unacked >= this.replyWindow) return;
      s.queue.shift();
      if (kind === 'invalid') {
        // ZooKeeper's UnimplementedRequestProcessor: answer, then close the connection.
        this.opts.warn({ sessionId: s.sessionId.toString(16), op: head.op }, 'unknown opcode; closing connection');
        this.reply(s, head.xid, this.tree.lastZxid, Err.UNIMPLEMENTED, head.op, undefined);
        this.closeConnection(s, `unknown opcode ${head.op}`);
        return;
      }
      const watches = this.watches.sessionCount(s.sessionId);
      this.serveLocal(s, head);
      // Only a request that adds watches past the limit: one already over it (setWatches after such a close) may still read.
      const now = this.watches.sessionCount(s.sessionId);
      if (now > this.maxSessionWatches && now > watches) {
        this.opts.warn({ sessionId: s.sessionId.toString(16), watches: now, limit: this.maxSessionWatches }, 'session holds more watches than allowed; closing its connection');
        this.closeConnection(s, 'too many watches');
        return;
      }
    }
    // Writes are pipelined to the leader, which keeps a learner's order; a
    // read waits behind every write sent before it, and so do writes after it.
    for (const p of s.queue) {
      if (p.forwarded) continue;
      // A write not yet admitted waits to reach the head, where it is refused in order.
      if (classify(p.op) !== 'write' || !this.admitted(s, p.op)) return;
      p.forwarded = true;
      this.forward(['w', this.opts.id, s.sessionId, p.xid, p.op, p.frame.subarray(8), s.ids.map((i): AuthId => [i.scheme, i.id])]);
    }
  }

  private serveLocal(s: Attached, p: Pending): void {
    let reader: JuteReader;
    let req: unknown;
    try {
      reader = new JuteReader(p.frame.subarray(8));
      req = decodeRequest(p.op, reader).req;
    } catch (err) {
      // As ZooKeeper's FinalRequestProcessor: the request fails, the session goes on.
      this.opts.warn({ sessionId: s.sessionId.toString(16), op: p.op, err: String(err) }, 'malformed request; answering MARSHALLINGERROR');
      this.reply(s, p.xid, this.tree.lastZxid, Err.MARSHALLINGERROR, p.op, undefined);
      return;
    }
    const zxid = this.tree.lastZxid;
    const auth = { sessionId: s.sessionId, ids: s.ids };
    if (p.op === OpCode.auth) {
      const a = req as { scheme: string; auth: Uint8Array };
      const id = authenticate(a.scheme, a.auth);
      if (!id) {
        this.reply(s, Xid.auth, zxid, Err.AUTHFAILED, p.op, undefined);
        this.out(s, ['x', s.conn, 'authentication failed']);
        return;
      }
      if (!s.ids.some((i) => i.scheme === id.scheme && i.id === id.id)) s.ids.push(id);
      this.reply(s, Xid.auth, zxid, Err.OK, p.op, undefined);
      return;
    }
    if (p.op === OpCode.sasl) {
      this.saslStep(s, p.xid, (req as { token: Uint8Array }).token);
      return;
    }
    const watchOp = executeWatchOp(this.tree, this.watches, p.op, req, auth);
    if (watchOp) {
      this.reply(s, p.xid, zxid, watchOp.err, p.op, watchOp.response);
      for (const event of watchOp.events ?? []) this.out(s, ['o', s.conn, encodeNotification(event)]);
      return;
    }
    const r = executeRead(this.tree, p.op, req, auth, this.watches, this.opts.tree);
    if (r.err === Err.BADARGUMENTS) this.opts.warn({ sessionId: s.sessionId.toString(16), op: p.op }, 'bad arguments; answering BADARGUMENTS');
    this.reply(s, p.xid, zxid, r.err, p.op, r.response);
  }

  /** Whether the session may make this request under enforce.auth.schemes. */
  private admitted(s: Attached, op: number): boolean {
    const schemes = this.opts.tree.enforceAuthSchemes;
    if (!schemes || schemes.length === 0 || op === OpCode.auth || op === OpCode.sasl) return true;
    return s.ids.some((i) => schemes.includes(i.scheme));
  }

  /** One SASL packet (ZooKeeperServer.processSasl): the next token, or AUTHFAILED and a closed connection. */
  private saslStep(s: Attached, xid: number, token: Uint8Array): void {
    const users = this.opts.tree.saslUsers;
    s.sasl ??= users && new DigestMd5Server(users, () => randomBytes(24).toString('base64'));
    const step = s.sasl ? s.sasl.step(token) : { failed: 'SASL is not configured (no JAAS Server users)' };
    if ('failed' in step) {
      this.opts.warn({ sessionId: s.sessionId.toString(16), reason: step.failed }, 'SASL authentication failed; closing connection');
      const schemes = this.opts.tree.enforceAuthSchemes;
      this.out(s, ['o', s.conn, encodeSaslFailure(xid, schemes?.includes('sasl') ? Err.SESSIONCLOSEDREQUIRESASLAUTH : Err.AUTHFAILED)]);
      this.out(s, ['x', s.conn, 'SASL authentication failed']);
      s.queue.length = 0;
      return;
    }
    if (step.authorized !== undefined && !s.ids.some((i) => i.scheme === 'sasl' && i.id === step.authorized)) s.ids.push({ scheme: 'sasl', id: step.authorized });
    // ZooKeeper answers SASL packets with zxid 0.
    this.reply(s, xid, 0, Err.OK, OpCode.sasl, { token: step.token });
  }

  private writeCommitted(s: Attached, hdr: TxnHeader, result: ApplyResult): void {
    const head = this.takeHead(s, hdr.cxid);
    if (!head) return;
    if (this.answerable(s, head)) {
      this.reply(s, head.xid, hdr.zxid, result.err, head.op, result.response);
      if (head.op === OpCode.closeSession) this.out(s, ['x', s.conn, 'session closed']);
    }
    this.drain(s);
  }

  /**
   * Closes the session's connection from here: nothing it sent after the
   * request that cost it the connection is served (while a read is served,
   * nothing is in flight to the leader behind it).
   */
  private closeConnection(s: Attached, reason: string): void {
    this.out(s, ['x', s.conn, reason]);
    s.detached = true;
    s.queue.length = 0;
    this.attached.delete(s.sessionId);
  }

  /** A request is answered only on the live connection it came on. */
  private answerable(s: Attached, p: Pending): boolean {
    return !s.detached && p.gateway === s.gateway && p.conn === s.conn;
  }

  /** The forwarded request at the head of the queue, if `cxid` answers it. */
  private takeHead(s: Attached, cxid: number): Pending | undefined {
    const head = s.queue[0];
    if (!head || !head.forwarded || head.xid !== cxid) return undefined;
    s.queue.shift();
    // A detached session stays only while its forwarded writes drain.
    if (s.detached && s.queue.length === 0) this.attached.delete(s.sessionId);
    return head;
  }

  /** The leader's answer to a sync: everything before it has been applied here. */
  synced(sessionId: bigint, cxid: number, path: string): void {
    const s = this.attached.get(sessionId);
    const head = s && this.takeHead(s, cxid);
    if (!s || !head) return;
    if (this.answerable(s, head)) this.reply(s, head.xid, this.tree.lastZxid, Err.OK, OpCode.sync, { path });
    this.drain(s);
  }

  private sessionClosed(sessionId: bigint, reason: string): void {
    this.watches.removeSession(sessionId);
    const s = this.attached.get(sessionId);
    if (!s) return;
    this.attached.delete(sessionId);
    if (!s.detached) this.out(s, ['x', s.conn, reason]);
  }

  private reply(s: Attached, xid: number, zxid: number, err: number, op: number, response: unknown): void {
    this.out(s, ['o', s.conn, encodeReply({ xid, zxid, err }, op as ReplyOp, response as never)]);
  }

  private out(s: Attached, entry: LearnerToGw): void {
    this.packetsSent++;
    // As the gateway counts them: the frame, length prefix included.
    if (entry[0] === 'o') s.unacked += entry[2].length + 4;
    this.outbox.push(s.gateway, entry);
  }

  private forward(entry: Forwarded): void {
    this.forwardBatch.push(entry);
    if (this.forwardScheduled) return;
    this.forwardScheduled = true;
    this.defer(() => {
      this.forwardScheduled = false;
      this.opts.forward(this.forwardBatch.splice(0));
    });
  }
}

/** Connects waiting for a commit this learner has logged; more than this many is abuse, not lag. */
const MAX_BEHIND = 10_000;

/** Random 63-bit positive ids: unique without coordination between learners. */
function newSessionId(b: Buffer): bigint {
  b[0]! &= 0x7f;
  const id = b.readBigUInt64BE(0);
  return id === 0n ? 1n : id;
}
