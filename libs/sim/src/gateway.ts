import { BatchNumbers, SeriesGaps, Xid, type ConnectAsk, type GwToLearner, type LearnerToGw } from '@zooid/protocol';
import type { SimBus } from './bus.js';
import type { SimMsg } from './messages.js';
import { Proc } from './process.js';
import type { Rng } from './rng.js';
import type { Scheduler } from './scheduler.js';

/** A client's end of its TCP connection to a gateway: what the gateway writes to it, and its closing. */
export interface GatewayPeer {
  readonly proc: Proc;
  /** A ConnectResponse, or a reply or watch notification, as the client reads it off the socket. */
  frame(conn: number, body: Uint8Array): void;
  /** The gateway closed the connection, or died with it. */
  closed(conn: number): void;
}

export interface GatewayOptions {
  /** The planted defect: the gateway forgets the client's last zxid when it connects it to a learner. */
  forgetLastZxid?: boolean;
  /** The planted defect: the gateway writes a batch's replies before its watch events. */
  replyBeforeWatch?: boolean;
  /** Chance per 50 ms that the gateway closes a connection, as when it rebalances sessions. */
  moves: number;
}

interface Conn {
  peer: GatewayPeer;
  learner: string;
  session: bigint;
  established: boolean;
}

/** The heartbeat of gateway ↔ learner streams: half the simulated tick, as the services use. */
const HEARTBEAT_MS = 50;
/** How long a client's TCP segment takes to cross. */
const TCP_MS = 1;

/**
 * A session gateway as its own simulated process: clients connect to it over
 * TCP (reliable and in order while both ends live), and it pins each
 * connection to a learner, numbers its batches to each learner in series with
 * the real `BatchNumbers`, checks theirs with the real `SeriesGaps`, closes
 * the connections pinned to a learner whose batches were lost or that stopped
 * serving, and sends the sessions it holds to the leader's clock. A crash
 * closes every connection it holds and forgets its numbering: it comes back
 * with new series, as the service does.
 */
export class SimGateway {
  readonly proc: Proc;
  private conns = new Map<number, Conn>();
  private next = 0;
  private numbers!: BatchNumbers;
  private gaps!: SeriesGaps;

  constructor(
    readonly id: string,
    private readonly sched: Scheduler,
    private readonly bus: SimBus<SimMsg>,
    private readonly rng: Rng,
    private readonly members: readonly string[],
    private readonly opts: GatewayOptions,
  ) {
    this.proc = new Proc(id, sched);
    bus.attach(this.proc, (from, msg) => this.receive(from, msg));
  }

  start(): void {
    this.numbers = new BatchNumbers(HEARTBEAT_MS, () => this.rng.u32());
    this.gaps = new SeriesGaps();
    this.every(HEARTBEAT_MS, () => {
      for (const [learner, seq, series] of this.numbers.heartbeats()) this.bus.send(this.id, learner, { t: 'gw', series, seq, entries: [] });
      for (const [n, c] of this.conns) if (this.rng.chance(this.opts.moves)) this.close(n, c);
    });
    this.every(2 * HEARTBEAT_MS, () => {
      const byLearner = new Map<string, bigint[]>();
      for (const c of this.conns.values()) if (c.established) byLearner.set(c.learner, [...(byLearner.get(c.learner) ?? []), c.session]);
      for (const [learner, sessions] of byLearner) this.bus.send(this.id, learner, { t: 'touch', sessions });
    });
  }

  crash(): void {
    this.proc.crash();
    const peers = [...this.conns].map(([n, c]) => [n, c.peer] as const);
    this.conns = new Map();
    // The peers' kernels see the connection reset.
    for (const [n, peer] of peers) this.sched.after(this.rng.int(1, 50), () => peer.proc.run(() => peer.closed(n)));
  }

  restart(): void {
    if (this.proc.alive) return;
    this.proc.restart();
    this.start();
  }

  // ------------------------------------------------------------ the client side (TCP)

  /** A client connects and sends its ConnectRequest; returns the connection's number, or undefined when the gateway is down. */
  connect(peer: GatewayPeer, req: Omit<ConnectAsk, 'ip'>): number | undefined {
    if (!this.proc.alive) return undefined;
    const n = ++this.next;
    this.tcp(() => {
      const learner = this.rng.pick(this.members);
      this.conns.set(n, { peer, learner, session: req.sessionId, established: false });
      const lastZxidSeen = this.opts.forgetLastZxid ? 0 : req.lastZxidSeen;
      this.toLearner(learner, ['c', n, { ...req, lastZxidSeen, ip: '10.0.0.1' }]);
    });
    return n;
  }

  /** A request frame from the client. */
  request(n: number, frame: Uint8Array): void {
    this.tcp(() => {
      const c = this.conns.get(n);
      if (c?.established) this.toLearner(c.learner, ['r', n, c.session, frame]);
    });
  }

  /** The client closed its end. */
  hangUp(n: number): void {
    this.tcp(() => {
      const c = this.conns.get(n);
      if (!c) return;
      this.conns.delete(n);
      if (c.established) this.toLearner(c.learner, ['d', n, c.session]);
    });
  }

  private tcp(fn: () => void): void {
    const life = this.proc.incarnation;
    this.sched.after(TCP_MS, () => this.proc.run(fn, life));
  }

  private write(c: Conn, n: number, body: Uint8Array): void {
    this.sched.after(TCP_MS, () => c.peer.proc.run(() => c.peer.frame(n, body)));
  }

  private close(n: number, c: Conn): void {
    this.conns.delete(n);
    if (c.established) this.toLearner(c.learner, ['d', n, c.session]);
    this.sched.after(TCP_MS, () => c.peer.proc.run(() => c.peer.closed(n)));
  }

  // ------------------------------------------------------------ the learner side (bus)

  private toLearner(learner: string, entry: GwToLearner): void {
    const seq = this.numbers.next(learner);
    this.bus.send(this.id, learner, { t: 'gw', series: this.numbers.seriesOf(learner), seq, entries: [entry] });
  }

  private receive(from: string, msg: SimMsg): void {
    if (msg.t === 'stopped') return this.closePinned(from);
    if (msg.t !== 'out') return;
    const heard = this.gaps.check(from, msg.series, msg.seq, msg.entries.length === 0);
    if (heard.gap) return this.closePinned(from);
    const entries = this.opts.replyBeforeWatch ? [...msg.entries.filter((e) => !isNotification(e)), ...msg.entries.filter(isNotification)] : msg.entries;
    for (const e of entries) this.entry(from, e);
  }

  private entry(learner: string, e: LearnerToGw): void {
    if (e[0] === 'X') {
      this.closePinned(learner);
      // The learner lost our batches: a new series it can follow from the start.
      this.numbers.restart(learner);
      return;
    }
    const c = this.conns.get(e[1]);
    if (!c || c.learner !== learner) return;
    switch (e[0]) {
      case 'c':
        this.write(c, e[1], e[3]);
        if (e[2] === 0n) {
          // Refused or expired: the ConnectResponse says so, and the connection closes.
          this.close(e[1], { ...c, established: false });
          return;
        }
        c.session = e[2];
        c.established = true;
        return;
      case 'o':
        return this.write(c, e[1], e[2]);
      case 'x':
        return this.close(e[1], { ...c, established: false });
    }
  }

  /** Every connection pinned to the learner: their clients reconnect with their sessions. */
  private closePinned(learner: string): void {
    for (const [n, c] of this.conns) if (c.learner === learner) this.close(n, c);
  }

  private every(ms: number, fn: () => void): void {
    this.proc.after(ms, () => {
      fn();
      this.every(ms, fn);
    });
  }
}

function isNotification(e: LearnerToGw): boolean {
  return e[0] === 'o' && Buffer.from(e[2].buffer, e[2].byteOffset, 4).readInt32BE(0) === Xid.notification;
}
