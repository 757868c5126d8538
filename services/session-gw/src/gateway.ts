import { createServer, type Server, type Socket } from 'node:net';
import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import { createActor, type Actor } from 'xstate';
import {
  DEFAULT_MAX_BUFFER,
  FRAME_MARGIN,
  OpCode,
  Xid,
  FrameDecoder,
  decodeConnectRequest,
  encodeReply,
  frame,
  pack,
  senderOf,
  subjects,
  unpack,
  type GatewayBatch,
  type GwToLearner,
  type LearnerBatch,
  BatchNumbers,
  SeriesGaps,
  type AdminAsk,
  type Presence,
  type SessionTouch,
} from '@zooid/protocol';
import { atTurnEnd, closeBus, connectBus, dropImpostor, maxPayload, splitForPayload, testDrop, type BusConfig, type Logger, type NatsConnection } from '@zooid/runtime';
import { LearnerDirectory } from './learners.js';
import { sessionMachine } from './session-machine.js';
import { FOUR_LETTER_WORDS, fourLetterReply } from './fourletter.js';
import { InspectPublisher } from '@zooid/inspect';
import { AdminHttp } from './admin-http.js';
import { createSecureServer, x509Id, type SecurePortOptions } from './tls.js';
import type { AdminContext } from './admin/gather.js';
import { Latency } from './admin/latency.js';
import { GatewayMetrics } from './admin/metrics.js';

export interface GatewayOptions {
  id: string;
  /** The plain client port; none (TLS only) when undefined, as ZooKeeper with secureClientPort alone. */
  clientPort?: number;
  host: string;
  bus: BusConfig;
  cluster: string;
  tickTime: number;
  maxBuffer: number;
  /**
   * Reply bytes waiting to be written to a client beyond which the gateway
   * stops reading from it until they drain; beyond CLIENT_QUEUE_HARD_CAP
   * times this (only a learner that sends past its reply window gets there)
   * the client is disconnected.
   */
  maxClientQueue: number;
  /** Requests of one connection forwarded and not yet answered beyond which the gateway stops reading from it. */
  maxOutstanding: number;
  /**
   * Requests of all connections forwarded and not yet answered beyond which
   * the gateway stops reading from those holding more than an equal share
   * (ZooKeeper's globalOutstandingLimit, which stops reading from all).
   */
  globalOutstandingLimit: number;
  maxClientCnxns: number;
  /** Four-letter words allowed, or '*' for all. */
  fourLetterWhitelist: Set<string> | '*';
  /** Admin HTTP (inspector, /commands, /metrics); none when undefined. */
  adminPort?: number;
  adminHost?: string;
  adminToken?: string;
  /** TLS client port (secureClientPort), beside the plain one. */
  secure?: SecurePortOptions;
  /** Mirror the cluster to the Stately inspector (`sky` or a ws:// URL). */
  stately?: string;
}

export const defaultGatewayOptions: Omit<GatewayOptions, 'id' | 'bus'> = {
  clientPort: 2181,
  host: '0.0.0.0',
  cluster: 'zooid',
  tickTime: 2000,
  maxBuffer: DEFAULT_MAX_BUFFER,
  maxClientQueue: 8 * 1024 * 1024,
  maxOutstanding: 1000,
  globalOutstandingLimit: 10_000,
  maxClientCnxns: 60,
  fourLetterWhitelist: new Set(['srvr', 'ruok']),
};

/**
 * A client whose replies wait to be written and that takes none of them for
 * this long is not reading: it is disconnected (it holds no more than its
 * reply window meanwhile, but its session lives on what it sends).
 */
const CLIENT_QUEUE_GRACE_MS = 5000;
/**
 * Replies a client has taken are acknowledged to its learner in steps of at
 * least this, well under any reply window: its reads go on while the ack
 * travels, and a client of small replies costs an ack now and then.
 */
const ACK_BYTES = 64 * 1024;
/** Bounds the memory a client that does not read can hold during its grace period. */
const CLIENT_QUEUE_HARD_CAP = 4;

/** One client TCP connection. */
export interface Conn {
  id: number;
  socket: Socket;
  ip: string;
  /** The x509 id of a verified client certificate on the TLS port. */
  x509: string | undefined;
  remote: string;
  actor: Actor<typeof sessionMachine>;
  sessionId: bigint;
  learner: string | undefined;
  established: boolean;
  /** Frames read from the socket and not yet handled: what arrived with the one after which reading stopped. */
  decoder: FrameDecoder;
  /** Reading stopped: before the session exists, or while too much is outstanding or unwritten. */
  paused: boolean;
  /** A bad frame closed it; what follows is not read. */
  refused: boolean;
  /** Bytes handed to the socket, and of those the learner's replies and notifications (framed). */
  written: number;
  replyBytes: number;
  /** Reply bytes the learner has been told the client took. */
  acked: number;
  received: number;
  sent: number;
  lastZxid: number;
  connectedAt: number;
  timeout: number;
  /** When each unanswered request was forwarded (replies come back in order). */
  pending: number[];
  latency: Latency;
  /** A frame arrived since the last touch: the only thing that keeps a session alive. */
  heard: boolean;
}

/**
 * The client-facing gateway: speaks ZooKeeper's wire protocol on TCP, pins
 * each session to a learner, and relays frames both ways without decoding
 * request bodies. Holds no state a client cannot rebuild by reconnecting.
 */
export class Gateway {
  private readonly conns = new Map<number, Conn>();
  /** Requests forwarded for all connections and not yet answered. */
  private outstanding = 0;
  /** Past globalOutstandingLimit, until replies bring the total under three quarters of it. */
  private throttled = false;
  private readonly learners = new LearnerDirectory();
  private outgoing = new Map<string, GwToLearner[]>();
  private flushScheduled = false;
  private corked: Conn[] = [];
  /** Connections with replies waiting to be written: since when (ms) the client took none, and how much it had taken then. */
  private readonly waiting = new Map<Conn, { since: number; flushed: number }>();
  /** Sessions are touched, and learners hear our batch numbers, this often. */
  private readonly halfTick: number;
  private readonly numbers: BatchNumbers;
  private readonly gaps = new SeriesGaps();
  private readonly drop = testDrop('LEARNER_BATCH');
  private nextConn = 1;
  private server?: Server;
  private secureServer?: Server;
  private timers: NodeJS.Timeout[] = [];
  private readonly subj;
  readonly stats = { received: 0, sent: 0, startedAt: Date.now(), latency: new Latency() };
  readonly metrics = new GatewayMetrics(this);
  private inspect?: InspectPublisher;
  private admin?: AdminHttp;
  port = 0;
  securePort = 0;

  constructor(
    readonly opts: GatewayOptions,
    private readonly nc: NatsConnection,
    private readonly log: Logger,
  ) {
    this.subj = subjects(opts.cluster);
    this.halfTick = Math.max(50, opts.tickTime / 2);
    this.numbers = new BatchNumbers(this.halfTick);
  }

  static async start(opts: GatewayOptions, log: Logger): Promise<Gateway> {
    const nc = await connectBus(opts.bus, { kind: 'gateway', id: opts.id }, log);
    if (maxPayload(nc) < opts.maxBuffer + FRAME_MARGIN + 4096) {
      // Requests and replies near jute.maxbuffer cannot cross such a bus; they cost their connection.
      log.warn({ maxPayload: maxPayload(nc), maxBuffer: opts.maxBuffer }, 'the NATS server\'s max_payload is below jute.maxbuffer: set max_payload to 8MB in its configuration');
    }
    const gw = new Gateway(opts, nc, log);
    await gw.listen();
    return gw;
  }

  private async listen(): Promise<void> {
    this.startInspect();
    this.nc.subscribe(this.subj.gatewayInAll(this.opts.id), {
      callback: (err, msg) => {
        if (err) return;
        try {
          const batch = unpack<LearnerBatch>(msg.data);
          if (batch[0] !== senderOf(msg.subject)) return dropImpostor(this.log, msg.subject, { claimed: batch[0] });
          this.fromLearner(batch);
        } catch (e) {
          this.log.warn({ err: e }, 'dropped a malformed bus message');
        }
      },
    });
    this.nc.subscribe(this.subj.presenceAll, {
      callback: (err, msg) => {
        if (err) return;
        try {
          const p = unpack<Presence>(msg.data);
          // Connects go only to learners that announced themselves on their own subject: nobody else may publish there.
          if (msg.subject !== this.subj.presence(p.kind, p.id)) return dropImpostor(this.log, msg.subject, { claimed: `${p.kind}.${p.id}` });
          for (const stopped of this.learners.observe(p, Date.now())) this.learnerStopped(stopped);
        } catch (e) {
          this.log.warn({ err: e }, 'dropped a malformed presence message');
        }
      },
    });
    this.timers.push(
      setInterval(() => {
        this.touch();
        this.heartbeat();
        for (const c of this.conns.values()) this.acknowledge(c, ACK_BYTES);
      }, this.halfTick),
    );
    this.timers.push(setInterval(() => this.housekeeping(), 1000));
    // Half-open allowed: `echo ruok | nc -q1` closes its side before the
    // four-letter answer, which may need a round trip to a member, is written.
    if (this.opts.clientPort !== undefined) {
      const server = (this.server = createServer({ noDelay: true, allowHalfOpen: true }, (socket) => this.accept(socket)));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.opts.clientPort, this.opts.host, () => resolve());
      });
      const addr = server.address();
      this.port = typeof addr === 'object' && addr ? addr.port : this.opts.clientPort;
    }
    if (this.opts.secure) this.securePort = await this.listenSecure(this.opts.secure);
    if (this.opts.adminPort !== undefined) {
      this.admin = await AdminHttp.start(this, { port: this.opts.adminPort, host: this.opts.adminHost ?? '127.0.0.1', stately: this.opts.stately, token: this.opts.adminToken }, this.log);
    }
    this.announce();
    this.log.info({ port: this.server ? this.port : undefined, securePort: this.opts.secure ? this.securePort : undefined }, 'gateway listening');
  }

  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    await this.admin?.stop();
    this.inspect?.stop();
    for (const c of this.conns.values()) c.socket.destroy();
    await Promise.all([this.server, this.secureServer].map((srv) => new Promise<void>((resolve) => (srv ? srv.close(() => resolve()) : resolve()))));
    await closeBus(this.nc);
  }

  private async listenSecure(opts: SecurePortOptions): Promise<number> {
    const server = (this.secureServer = createSecureServer(opts, this.log, (socket) => this.accept(socket)));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, this.opts.host, () => resolve());
    });
    const addr = server.address();
    return typeof addr === 'object' && addr ? addr.port : opts.port;
  }

  get connections(): Iterable<Conn> {
    return this.conns.values();
  }

  get bus(): NatsConnection {
    return this.nc;
  }

  get adminPort(): number | undefined {
    return this.admin?.port;
  }

  /** Asks a member over the bus (four-letter words, admin commands, inspector, metrics). */
  async ask(member: string, ask: AdminAsk): Promise<unknown> {
    const t = performance.now();
    const m = await this.nc.request(this.subj.admin(member), pack(ask), { timeout: 2000 });
    this.metrics.busRoundTrip.observe({ target: member }, (performance.now() - t) / 1000);
    return unpack(m.data);
  }

  adminContext(): AdminContext {
    return { gateway: this, learners: this.learners.all(), ask: (learner, command) => this.ask(learner, { command }) };
  }

  /** Sessions are many and short: the inspector gets how many are in each state, and their lifecycle events. */
  private startInspect(): void {
    const inspect = new InspectPublisher(this.nc, { cluster: this.opts.cluster, kind: 'gateway', id: this.opts.id }, this.log);
    inspect.define(sessionMachine);
    inspect.source(() => {
      const counts: Record<string, number> = {};
      for (const c of this.conns.values()) {
        const state = String(c.actor.getSnapshot().value);
        counts[state] = (counts[state] ?? 0) + 1;
      }
      return [{ key: 'sessions', machine: sessionMachine.id, value: Object.keys(counts), status: 'active', counts }];
    });
    this.inspect = inspect;
  }

  private accept(socket: Socket): void {
    const ip = normalizeIp(socket.remoteAddress ?? '');
    if (this.countFrom(ip) >= this.opts.maxClientCnxns) {
      this.log.warn({ ip }, 'too many connections from one address; refusing');
      socket.destroy();
      return;
    }
    const id = this.nextConn++;
    const conn: Conn = {
      id,
      socket,
      ip,
      x509: x509Id(socket),
      remote: `${socket.remoteAddress}:${socket.remotePort}`,
      actor: createActor(sessionMachine, { input: { release: (state, reason) => this.release(conn, state, reason) }, inspect: this.inspect?.observer('session') }),
      sessionId: 0n,
      learner: undefined,
      established: false,
      decoder: new FrameDecoder(this.opts.maxBuffer + FRAME_MARGIN),
      paused: false,
      refused: false,
      written: 0,
      replyBytes: 0,
      acked: 0,
      received: 0,
      sent: 0,
      lastZxid: 0,
      connectedAt: Date.now(),
      timeout: 0,
      pending: [],
      latency: new Latency(),
      heard: false,
    };
    this.conns.set(id, conn);
    conn.actor.start();
    let first = true;
    let fourLetter = false;
    socket.on('data', (chunk: Buffer) => {
      // A released connection's last bytes are read only to see its end.
      if (fourLetter || conn.refused || !this.conns.has(id)) return;
      if (first) {
        first = false;
        const word = chunk.length >= 4 ? chunk.subarray(0, 4).toString('latin1') : '';
        if (FOUR_LETTER_WORDS.has(word)) {
          fourLetter = true;
          this.fourLetter(conn, word);
          return;
        }
      }
      conn.decoder.push(chunk);
      this.readFrames(conn);
    });
    socket.on('end', () => {
      if (!fourLetter) socket.end();
    });
    socket.on('error', () => undefined);
    // Emptied its queue: the client took every reply.
    socket.on('drain', () => {
      this.waiting.delete(conn);
      this.acknowledge(conn, 1);
      this.updateReading(conn);
    });
    socket.on('close', () => {
      this.waiting.delete(conn);
      // Promise 9: a frame cut short is bad input too, worth one line.
      if (conn.decoder.midFrame && !conn.refused && !fourLetter) {
        this.log.warn({ conn: id, remote: conn.remote, buffered: conn.decoder.buffered }, 'connection closed in the middle of a frame');
      }
      conn.actor.send({ type: 'SOCKET_CLOSED' });
    });
  }

  /**
   * Handles the frames read so far, until reading stops: what is left of the
   * chunk in hand stays in the decoder (a chunk at most) and the rest in the
   * client's socket buffers, not in our memory.
   */
  private readFrames(conn: Conn): void {
    try {
      for (const f of conn.decoder) {
        this.onFrame(conn, f);
        if (conn.paused || !this.conns.has(conn.id)) return;
      }
    } catch (err) {
      conn.refused = true;
      this.log.warn({ conn: conn.id, remote: conn.remote, err: String(err) }, 'bad frame from client; closing connection');
      conn.actor.send({ type: 'SERVER_CLOSED', reason: 'bad frame' });
    }
  }

  /**
   * Netty's auto-read, as ZooKeeper uses it: nothing is read after the
   * ConnectRequest until the session exists, nor while the connection has
   * maxOutstanding requests unanswered or maxClientQueue bytes unwritten.
   * Reading resumes when that drains; nothing is dropped or reordered, the
   * client only waits.
   */
  private updateReading(conn: Conn): void {
    const stop =
      conn.learner !== undefined &&
      (!conn.established ||
        conn.pending.length >= this.opts.maxOutstanding ||
        conn.socket.writableLength >= this.opts.maxClientQueue ||
        (this.throttled && conn.pending.length >= Math.max(1, this.opts.globalOutstandingLimit / this.conns.size)));
    if (stop === conn.paused || !this.conns.has(conn.id) || conn.socket.destroyed) return;
    conn.paused = stop;
    if (stop) {
      conn.socket.pause();
      return;
    }
    this.readFrames(conn);
    if (!conn.paused && this.conns.has(conn.id)) conn.socket.resume();
  }

  private onFrame(conn: Conn, f: Uint8Array): void {
    conn.heard = true;
    conn.received++;
    this.stats.received++;
    if (conn.learner === undefined) {
      this.startSession(conn, f);
      this.updateReading(conn);
      return;
    }
    this.request(conn, f);
  }

  private startSession(conn: Conn, f: Uint8Array): void {
    const req = decodeConnectRequest(f);
    const learner = this.learners.choose(Date.now());
    if (learner === undefined) {
      this.log.warn({ remote: conn.remote }, 'no learner available; closing connection');
      conn.actor.send({ type: 'SERVER_CLOSED', reason: 'no learner available' });
      return;
    }
    conn.learner = learner;
    this.toLearner(learner, [
      'c',
      conn.id,
      {
        lastZxidSeen: req.lastZxidSeen,
        timeOut: req.timeOut,
        sessionId: req.sessionId,
        passwd: req.passwd,
        readOnly: req.readOnly ?? false,
        hasReadOnlyByte: req.readOnly !== undefined,
        ip: conn.ip,
        x509: conn.x509,
        acks: true,
      },
    ]);
  }

  private request(conn: Conn, f: Uint8Array): void {
    const op = f.length >= 8 ? Buffer.from(f.buffer, f.byteOffset, f.length).readInt32BE(4) : -1;
    if (op === OpCode.ping) {
      // Liveness is reported to the leader by the periodic touch; the ping
      // itself needs no trip to a learner.
      this.write(conn, encodeReply({ xid: Xid.ping, zxid: conn.lastZxid, err: 0 }, OpCode.ping, undefined));
      return;
    }
    conn.pending.push(performance.now());
    this.outstanding++;
    this.toLearner(conn.learner!, ['r', conn.id, conn.sessionId, f]);
    if (!this.throttled && this.outstanding >= this.opts.globalOutstandingLimit) {
      this.throttled = true;
      this.log.warn(
        { outstanding: this.outstanding, limit: this.opts.globalOutstandingLimit, connections: this.conns.size },
        'globalOutstandingLimit reached; connections holding more than their share are not read until replies drain',
      );
    }
    if (conn.pending.length >= this.opts.maxOutstanding || this.throttled) this.updateReading(conn);
  }

  /**
   * Under three quarters of globalOutstandingLimit again, the throttle ends.
   * A connection it paused has requests outstanding, and looks again at
   * each reply it gets.
   */
  private unthrottle(): void {
    if (!this.throttled || this.outstanding > (this.opts.globalOutstandingLimit * 3) / 4) return;
    this.throttled = false;
    this.log.info({ outstanding: this.outstanding }, 'replies drained below globalOutstandingLimit; every connection is read again');
  }

  private fromLearner([learner, series, seq, entries]: LearnerBatch): void {
    if (entries.length > 0 && this.drop()) return;
    if (this.gaps.check(learner, series, seq, entries.length === 0).gap) {
      this.log.warn({ learner, seq }, 'batches from a learner were lost; closing its connections');
      this.closePinned(learner, 'lost messages from the learner');
      return;
    }
    for (const e of entries) {
      if (e[0] === 'X') {
        this.log.warn({ learner, reason: e[2] }, 'the learner lost batches from us; closing its connections');
        this.closePinned(learner, e[2]);
        // A learner that restarted heard our series from its middle: a new one it can follow from the start.
        this.numbers.restart(learner);
        continue;
      }
      const conn = this.conns.get(e[1]);
      if (!conn) continue;
      switch (e[0]) {
        case 'o': {
          const body = e[2];
          if (body.length >= 12) {
            const b = Buffer.from(body.buffer, body.byteOffset, body.length);
            const zxid = Number(b.readBigInt64BE(4));
            if (zxid > conn.lastZxid) conn.lastZxid = zxid;
            // A reply (not a watch notification) answers the oldest pending request.
            if (b.readInt32BE(0) !== Xid.notification) this.answered(conn);
          }
          conn.replyBytes += body.length + 4;
          this.write(conn, body);
          if (conn.paused) this.updateReading(conn);
          break;
        }
        case 'c':
          this.write(conn, e[3]);
          if (e[2] === 0n) {
            conn.actor.send({ type: 'REFUSED' });
            break;
          }
          conn.sessionId = e[2];
          conn.established = true;
          // The negotiated session timeout, for `cons`: ConnectResponse is protocolVersion, timeOut, …
          if (e[3].length >= 8) conn.timeout = Buffer.from(e[3].buffer, e[3].byteOffset, e[3].length).readInt32BE(4);
          conn.actor.send({ type: 'ESTABLISHED' });
          this.updateReading(conn);
          break;
        case 'x':
          conn.actor.send({ type: 'SESSION_ENDED', reason: e[2] });
          break;
      }
    }
  }

  /** Every connection pinned to the learner, connecting or established: its clients reconnect with their sessions. */
  private closePinned(learner: string, reason: string): void {
    for (const c of this.conns.values()) if (c.learner === learner) c.actor.send({ type: 'SERVER_CLOSED', reason });
  }

  private answered(conn: Conn): void {
    const sent = conn.pending.shift();
    if (sent === undefined) return;
    this.outstanding--;
    this.unthrottle();
    const ms = performance.now() - sent;
    conn.latency.record(ms);
    this.stats.latency.record(ms);
  }

  private write(conn: Conn, body: Uint8Array): void {
    if (conn.socket.destroyed) return;
    conn.sent++;
    this.stats.sent++;
    // Replies come in batches: one writev per connection per turn instead of
    // one write syscall per reply. end() uncorks, so nothing is lost on close.
    if (conn.socket.writableCorked === 0) {
      conn.socket.cork();
      if (this.corked.push(conn) === 1) process.nextTick(() => this.uncork());
    }
    conn.socket.write(frame(body));
    conn.written += body.length + 4;
    // Checked on every write, so that a turn's replies cannot pile up past it.
    const queued = conn.socket.writableLength;
    if (queued > this.opts.maxClientQueue * CLIENT_QUEUE_HARD_CAP) this.notReading(conn, { queued, rule: 'hard cap' });
  }

  private uncork(): void {
    const corked = this.corked;
    this.corked = [];
    const now = Date.now();
    for (const conn of corked) {
      if (conn.socket.destroyed) continue;
      conn.socket.uncork();
      this.acknowledge(conn, ACK_BYTES);
      this.updateReading(conn);
      if (conn.socket.writableLength > 0 && !this.waiting.has(conn)) this.waiting.set(conn, { since: now, flushed: this.flushed(conn) });
    }
  }

  /** Bytes the socket has handed to the kernel. */
  private flushed(conn: Conn): number {
    return conn.written - conn.socket.writableLength;
  }

  /**
   * Tells the learner how much more of its replies the client took, once
   * that is at least `min`. The gateway's own writes (pings, the connect
   * answer) are not the learner's to count, but they cannot be told apart
   * from its bytes in what the socket flushed; capping at what the learner
   * sent keeps the error below a few pings' worth.
   */
  private acknowledge(conn: Conn, min: number): void {
    if (!conn.established || conn.socket.destroyed) return;
    const bytes = Math.min(this.flushed(conn), conn.replyBytes) - conn.acked;
    if (bytes < min) return;
    conn.acked += bytes;
    this.toLearner(conn.learner!, ['a', conn.id, conn.sessionId, bytes]);
  }

  /**
   * A client that does not read must not hold memory or others' progress.
   * Backpressure bounds what it holds; one that takes none of its waiting
   * replies for CLIENT_QUEUE_GRACE_MS is disconnected.
   */
  private checkQueue(conn: Conn, now: number): void {
    const w = this.waiting.get(conn)!;
    const queued = conn.socket.writableLength;
    const flushed = this.flushed(conn);
    if (queued === 0) this.waiting.delete(conn);
    else if (flushed > w.flushed) this.waiting.set(conn, { since: now, flushed });
    else if (now - w.since >= CLIENT_QUEUE_GRACE_MS) this.notReading(conn, { queued, rule: 'no drain', stalledMs: now - w.since });
  }

  private notReading(conn: Conn, detail: Record<string, unknown>): void {
    this.waiting.delete(conn);
    this.log.warn({ conn: conn.id, remote: conn.remote, ...detail }, 'client is not reading; disconnecting');
    conn.socket.destroy();
  }

  private release(conn: Conn, state: string, reason: string): void {
    this.conns.delete(conn.id);
    this.outstanding -= conn.pending.length;
    conn.pending = [];
    this.unthrottle();
    // Also for a connect still in progress (session 0): the learner forgets it instead of keeping it waiting.
    if (conn.learner !== undefined) this.toLearner(conn.learner, ['d', conn.id, conn.sessionId]);
    if (!conn.socket.destroyed) {
      // A connection paused before its session existed must still read the client's end, or it never closes.
      conn.socket.resume();
      conn.socket.end();
    }
    this.log.debug({ conn: conn.id, state, reason }, 'connection released');
  }

  private toLearner(learner: string, entry: GwToLearner): void {
    let batch = this.outgoing.get(learner);
    if (!batch) this.outgoing.set(learner, (batch = []));
    batch.push(entry);
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    atTurnEnd(() => this.flush());
  }

  private flush(): void {
    this.flushScheduled = false;
    const out = this.outgoing;
    this.outgoing = new Map();
    // Stopping: the bus is draining and takes no more; the clients are gone anyway.
    if (this.nc.isDraining() || this.nc.isClosed()) return;
    for (const [learner, entries] of out) {
      // Over the bus's max_payload a batch goes as several messages; a request
      // too large to cross at all costs its connection, like an oversized frame.
      const { parts, tooBig } = splitForPayload(this.nc, entries);
      const refused = new Set(tooBig.map((e) => e[1]));
      for (const part of parts) {
        const kept = refused.size === 0 ? part : part.filter((e) => !refused.has(e[1]));
        if (kept.length === 0) continue;
        const seq = this.numbers.next(learner);
        const msg: GatewayBatch = [this.opts.id, this.numbers.seriesOf(learner), seq, kept];
        this.nc.publish(this.subj.learnerIn(learner, this.opts.id), pack(msg));
      }
      for (const id of refused) {
        const conn = this.conns.get(id);
        if (!conn) continue;
        this.log.warn({ conn: id, remote: conn.remote, maxPayload: maxPayload(this.nc) }, 'request too large for the bus; closing connection');
        conn.actor.send({ type: 'SERVER_CLOSED', reason: 'request too large for the bus' });
      }
    }
  }

  /** After traffic, each learner hears our last batch number: a lost last batch shows within a heartbeat. */
  private heartbeat(): void {
    if (this.nc.isDraining() || this.nc.isClosed()) return;
    for (const [learner, seq, series] of this.numbers.heartbeats()) {
      const msg: GatewayBatch = [this.opts.id, series, seq, []];
      this.nc.publish(this.subj.learnerIn(learner, this.opts.id), pack(msg));
    }
  }

  private touch(): void {
    // Like ZooKeeper, a session lives on what its client sends (requests or
    // pings), not on an open connection: a client that stays connected but
    // silent, or is frozen, expires after its timeout. One we stopped reading
    // while it waits for answers may have pinged unheard: it is alive (one
    // that takes none of its answers is disconnected by the stall rule).
    const sessions: bigint[] = [];
    for (const c of this.conns.values()) {
      if (!c.established || !(c.heard || (c.paused && c.pending.length > 0))) continue;
      c.heard = false;
      sessions.push(c.sessionId);
    }
    const msg: SessionTouch = { gw: this.opts.id, sessions };
    this.nc.publish(this.subj.touch(this.opts.id), pack(msg));
  }

  /**
   * A learner announced that it stopped serving (its role ended, or its
   * process restarted). The sessions it held were sent away, but a connect
   * forwarded to it meanwhile reached no one and would wait for the connect
   * deadline — longer than a short session timeout — so every connection
   * still pinned to it moves now.
   */
  private learnerStopped(learner: string): void {
    let moved = 0;
    for (const c of this.conns.values()) {
      if (c.learner !== learner) continue;
      c.actor.send({ type: 'SERVER_CLOSED', reason: 'learner stopped serving' });
      moved++;
    }
    if (moved > 0) this.log.info({ learner, moved }, 'learner stopped serving; moving its sessions');
  }

  private housekeeping(): void {
    const now = Date.now();
    for (const c of this.waiting.keys()) {
      if (c.socket.destroyed) this.waiting.delete(c);
      else this.checkQueue(c, now);
    }
    for (const gone of this.learners.expire(now)) {
      this.log.warn({ learner: gone }, 'learner went away; moving its sessions');
      for (const c of this.conns.values()) {
        if (c.learner === gone) c.actor.send({ type: 'SERVER_CLOSED', reason: 'learner went away' });
      }
    }
    this.announce();
  }

  private announce(): void {
    const p: Presence = {
      kind: 'gateway',
      id: this.opts.id,
      role: 'gateway',
      pid: process.pid,
      host: hostname(),
      epoch: 0,
      zxid: 0,
      sessions: this.conns.size,
      serving: true,
      clientPort: this.opts.clientPort !== undefined ? this.port : this.securePort,
      adminPort: this.admin?.port,
    };
    this.nc.publish(this.subj.presence('gateway', this.opts.id), pack(p));
  }

  private countFrom(ip: string): number {
    let n = 0;
    for (const c of this.conns.values()) if (c.ip === ip) n++;
    return n;
  }

  private fourLetter(conn: Conn, word: string): void {
    void fourLetterReply(word, this.opts.fourLetterWhitelist, this.adminContext())
      .catch((err) => `error: ${String(err)}\n`)
      .then((text) => {
        conn.socket.end(text);
      });
  }
}

function normalizeIp(addr: string): string {
  return addr.startsWith('::ffff:') ? addr.slice(7) : addr;
}
