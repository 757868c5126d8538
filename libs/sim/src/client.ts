import {
  Err,
  OpCode,
  JuteReader,
  decodeConnectResponse,
  decodeReply,
  encodeRequest,
  readReplyHeader,
  type LearnerToGw,
  type WatcherEvent,
} from '@zooid/protocol';
import type { SimBus } from './bus.js';
import type { ClientEvent, HistOp, ZOp } from './history.js';
import type { SimMsg } from './messages.js';
import { Proc } from './process.js';
import type { Rng } from './rng.js';
import type { Scheduler } from './scheduler.js';

const OPEN_ACL = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
const REQUEST_TIMEOUT_MS = 2000;
/** As a ZooKeeper client's connect timeout: a share of the session timeout, so a dead server costs less than the session. */
const CONNECT_TIMEOUT_MS = 500;
const KEYS = ['/k0', '/k1', '/k2', '/k3'];

export interface ClientOptions {
  /** The planted defect: the gateway forgets the client's last zxid when it reconnects. */
  forgetLastZxid?: boolean;
  /** The planted defect: the gateway writes a batch's replies before its watch events. */
  replyBeforeWatch?: boolean;
  /** Requests in flight at once. */
  pipeline: number;
  /** Chance per 50 ms that the gateway moves the session to another learner. */
  moves: number;
}

interface Pending {
  op: HistOp;
  opcode: number;
}

/**
 * A ZooKeeper client and its gateway in one simulated process: it speaks the
 * real wire encoding (jute requests and replies, ConnectRequest/Response) to a
 * member's real Replica over the simulated bus, reconnects elsewhere with its
 * session and last zxid when its connection fails, and records every call and
 * every reply and watch event it receives.
 */
export class SimClient {
  readonly proc: Proc;
  private session = 0n;
  private passwd: Uint8Array = new Uint8Array(16);
  private lastZxid = 0;
  private conn = 0;
  private member?: string;
  private connected = false;
  private xid = 0;
  /** Batches are numbered per learner, as the gateway numbers its stream to each. */
  private readonly seq = new Map<string, number>();
  private readonly inSeq = new Map<string, number>();
  private pending: Pending[] = [];
  private stopped = false;
  private n = 0;

  constructor(
    readonly id: string,
    private readonly sched: Scheduler,
    private readonly bus: SimBus<SimMsg>,
    private readonly rng: Rng,
    private readonly members: readonly string[],
    private readonly ops: HistOp[],
    private readonly events: ClientEvent[],
    private readonly opts: ClientOptions,
  ) {
    this.proc = new Proc(id, sched);
    bus.attach(this.proc, (from, msg) => this.receive(from, msg));
  }

  start(): void {
    this.reconnect();
    this.every(50, () => this.work());
    this.every(100, () => {
      if (!this.connected || !this.member) return;
      this.send({ t: 'touch', sessions: [this.session] });
      // The stream announces its last number, so a lost last batch shows without waiting for the next one.
      this.send({ t: 'gw', seq: this.seq.get(this.member) ?? 0, entries: [] });
    });
  }

  /** No new requests; what is in flight still completes or times out. */
  stop(): void {
    this.stopped = true;
  }

  get idle(): boolean {
    return this.pending.length === 0;
  }

  private every(ms: number, fn: () => void): void {
    this.proc.after(ms, () => {
      fn();
      this.every(ms, fn);
    });
  }

  private send(msg: SimMsg): void {
    this.bus.send(this.id, this.member!, structuredClone(msg));
  }

  private gw(entries: Extract<SimMsg, { t: 'gw' }>['entries']): void {
    const seq = (this.seq.get(this.member!) ?? 0) + 1;
    this.seq.set(this.member!, seq);
    this.send({ t: 'gw', seq, entries });
  }

  private reconnect(): void {
    this.connected = false;
    this.member = this.rng.pick(this.members);
    this.conn++;
    this.inSeq.delete(this.member);
    const lastZxidSeen = this.opts.forgetLastZxid ? 0 : this.lastZxid;
    this.gw([['c', this.conn, { lastZxidSeen, timeOut: 1500, sessionId: this.session, passwd: this.passwd, readOnly: false, hasReadOnlyByte: true, ip: '10.0.0.1' }]]);
    const conn = this.conn;
    this.proc.after(CONNECT_TIMEOUT_MS, () => {
      if (this.conn === conn && !this.connected) this.lost();
    });
  }

  /** The connection is gone: what was in flight has an unknown outcome; try elsewhere. */
  private lost(): void {
    if (this.member && this.connected) this.gw([['d', this.conn, this.session]]);
    for (const p of this.pending) p.op.ret = undefined;
    this.pending = [];
    this.connected = false;
    const conn = this.conn;
    this.proc.after(this.rng.int(10, 200), () => {
      if (this.conn === conn) this.reconnect();
    });
  }

  private work(): void {
    if (!this.connected) return;
    const head = this.pending[0];
    if (head && this.sched.now - head.op.call > REQUEST_TIMEOUT_MS) return this.lost();
    // Now and then the gateway moves the session to another learner, as when it rebalances or goes away.
    if (this.rng.chance(this.opts.moves)) return this.lost();
    if (this.stopped || this.pending.length >= this.opts.pipeline || !this.rng.chance(0.5)) return;
    this.issue(this.pickOp());
  }

  private pickOp(): ZOp {
    const r = this.rng.float();
    const path = this.rng.pick(KEYS);
    const data = `${this.id}.${++this.n}`;
    // Reads of the ephemeral too: whether it is there is the session's life as the ensemble sees it.
    if (r < 0.25) return { type: 'get', path: this.rng.chance(0.2) ? `/e-${this.id}` : path, watch: this.rng.chance(0.4) };
    if (r < 0.3) return { type: 'sync' };
    if (r < 0.45) return { type: 'set', path, data, version: -1 };
    if (r < 0.6) return { type: 'set', path, data, version: this.rng.int(0, 3) };
    if (r < 0.72) return { type: 'create', path, data, ephemeral: false, sequential: false };
    if (r < 0.8) return { type: 'delete', path, version: this.rng.chance(0.5) ? -1 : this.rng.int(0, 3) };
    if (r < 0.88) return { type: 'create', path: '/s-', data, ephemeral: false, sequential: true };
    if (r < 0.97) return { type: 'create', path: `/e-${this.id}`, data, ephemeral: true, sequential: false };
    return { type: 'close' };
  }

  private issue(o: ZOp): void {
    const xid = ++this.xid;
    const op: HistOp = { id: this.ops.length, client: this.id, session: this.session.toString(16), conn: this.conn, xid, op: o, call: this.sched.now };
    this.ops.push(op);
    let frame: Buffer;
    let opcode: number;
    switch (o.type) {
      case 'get':
        opcode = OpCode.getData;
        frame = encodeRequest({ xid, type: OpCode.getData }, { path: o.path, watch: o.watch });
        break;
      case 'set':
        opcode = OpCode.setData;
        frame = encodeRequest({ xid, type: OpCode.setData }, { path: o.path, data: Buffer.from(o.data), version: o.version });
        break;
      case 'create':
        opcode = OpCode.create;
        frame = encodeRequest({ xid, type: OpCode.create }, { path: o.path, data: Buffer.from(o.data), acl: OPEN_ACL, flags: (o.ephemeral ? 1 : 0) | (o.sequential ? 2 : 0) });
        break;
      case 'delete':
        opcode = OpCode.delete;
        frame = encodeRequest({ xid, type: OpCode.delete }, { path: o.path, version: o.version });
        break;
      case 'sync':
        opcode = OpCode.sync;
        frame = encodeRequest({ xid, type: OpCode.sync }, { path: '/' });
        break;
      case 'close':
        opcode = OpCode.closeSession;
        frame = encodeRequest({ xid, type: OpCode.closeSession }, undefined as never);
        break;
    }
    this.pending.push({ op, opcode });
    this.gw([['r', this.conn, this.session, frame]]);
  }

  private receive(from: string, msg: SimMsg): void {
    if (msg.t !== 'out' || from !== this.member) return;
    const prev = this.inSeq.get(from);
    // A lost batch from the learner, seen by the next batch or announced number: the gateway closes the connection, as the real one does.
    if (msg.entries.length === 0) {
      if (prev !== undefined && msg.seq > prev) this.lost();
      return;
    }
    if (msg.seq === 0) return this.lost();
    this.inSeq.set(from, msg.seq);
    if (prev !== undefined && msg.seq !== prev + 1) return this.lost();
    const entries = this.opts.replyBeforeWatch ? [...msg.entries.filter((e) => !isNotification(e)), ...msg.entries.filter(isNotification)] : msg.entries;
    for (const e of entries) this.entry(e);
  }

  private entry(e: LearnerToGw): void {
    if (e[0] === 'X') return this.lost();
    if (e[1] !== this.conn) return;
    switch (e[0]) {
      case 'c': {
        const resp = decodeConnectResponse(e[3]);
        if (resp.sessionId === 0n) {
          // The session expired: a new one, as an application would make.
          this.session = 0n;
          return;
        }
        this.session = resp.sessionId;
        this.passwd = resp.passwd;
        this.connected = true;
        return;
      }
      case 'x':
        return this.lost();
      case 'o':
        return this.reply(e[2]);
    }
  }

  private reply(body: Uint8Array): void {
    const r = new JuteReader(body);
    const hdr = readReplyHeader(r);
    const at = this.sched.now;
    const session = this.session.toString(16);
    if (hdr.xid === -1) {
      const ev = decodeReply(OpCode.notification, r) as WatcherEvent;
      this.events.push({ kind: 'watch', session, conn: this.conn, path: ev.path, type: ev.type, at });
      return;
    }
    const i = this.pending.findIndex((x) => x.op.xid === hdr.xid);
    if (i < 0) return;
    const [p] = this.pending.splice(i, 1) as [Pending];
    const op = p.op;
    op.ret = at;
    op.result = { err: hdr.err, zxid: hdr.zxid };
    if (hdr.err === Err.OK) {
      if (p.opcode === OpCode.getData) {
        const body = decodeReply(OpCode.getData, r);
        op.result.data = Buffer.from(body.data ?? []).toString();
        op.result.version = body.stat.version;
      } else if (p.opcode === OpCode.setData) {
        op.result.version = decodeReply(OpCode.setData, r).stat.version;
      } else if (p.opcode === OpCode.create) {
        op.result.data = decodeReply(OpCode.create, r).path;
      }
    }
    this.events.push({ kind: 'reply', session, conn: this.conn, op: op.id, xid: hdr.xid, zxid: hdr.zxid, at });
    if (hdr.zxid > this.lastZxid) this.lastZxid = hdr.zxid;
    if (p.opcode === OpCode.closeSession && hdr.err === Err.OK) {
      this.session = 0n;
      this.lastZxid = Math.max(this.lastZxid, hdr.zxid);
    }
  }
}

function isNotification(e: LearnerToGw): boolean {
  return e[0] === 'o' && Buffer.from(e[2].buffer, e[2].byteOffset, 4).readInt32BE(0) === -1;
}
