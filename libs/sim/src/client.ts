import { Err, OpCode, JuteReader, Xid, decodeConnectResponse, decodeReply, encodeRequest, readReplyHeader, type WatcherEvent } from '@zooid/protocol';
import type { GatewayPeer, SimGateway } from './gateway.js';
import type { ClientEvent, HistOp, ZOp } from './history.js';
import { Proc } from './process.js';
import type { Rng } from './rng.js';
import type { Scheduler } from './scheduler.js';

const OPEN_ACL = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
const REQUEST_TIMEOUT_MS = 2000;
/** As a ZooKeeper client's connect timeout: a share of the session timeout, so a dead server costs less than the session. */
const CONNECT_TIMEOUT_MS = 500;
const KEYS = ['/k0', '/k1', '/k2', '/k3'];

export interface ClientOptions {
  /** Requests in flight at once. */
  pipeline: number;
  /**
   * An operator instead of an application: it authenticates as `auth`
   * (digest user:password) on every connection, reads /zookeeper/config and
   * now and then adds and removes voters among `members` with incremental
   * reconfigs, which the leader judges (most are refused: one in progress,
   * no synced quorum of the new voters, too few voters).
   */
  operator?: { members: readonly string[]; auth: string };
}

interface Pending {
  op: HistOp;
  opcode: number;
}

/**
 * A ZooKeeper client as a simulated process: it speaks the real wire
 * encoding (jute requests and replies, ConnectRequest/Response) over a TCP
 * connection to one of the simulated gateways, reconnects through any of
 * them with its session and last zxid when its connection fails, and
 * records every call and every reply and watch event it receives.
 */
export class SimClient implements GatewayPeer {
  readonly proc: Proc;
  private session = 0n;
  private passwd: Uint8Array = new Uint8Array(16);
  private lastZxid = 0;
  /** This client's connections, counted for the history; the gateway numbers its own. */
  private conn = 0;
  private gw?: { gateway: SimGateway; n: number };
  private connected = false;
  private xid = 0;
  private pending: Pending[] = [];
  private stopped = false;
  private n = 0;

  constructor(
    readonly id: string,
    private readonly sched: Scheduler,
    private readonly rng: Rng,
    private readonly gateways: readonly SimGateway[],
    private readonly ops: HistOp[],
    private readonly events: ClientEvent[],
    private readonly opts: ClientOptions,
  ) {
    this.proc = new Proc(id, sched);
  }

  start(): void {
    this.reconnect();
    this.every(50, () => this.work());
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

  private reconnect(): void {
    this.connected = false;
    this.conn++;
    const gateway = this.rng.pick(this.gateways);
    const n = gateway.connect(this, { lastZxidSeen: this.lastZxid, timeOut: 1500, sessionId: this.session, passwd: this.passwd, readOnly: false, hasReadOnlyByte: true });
    this.gw = n === undefined ? undefined : { gateway, n };
    const conn = this.conn;
    // Refused at once when the gateway is down; otherwise a connect that does not complete in time is given up.
    this.proc.after(n === undefined ? 0 : CONNECT_TIMEOUT_MS, () => {
      if (this.conn === conn && !this.connected) this.lost();
    });
  }

  /** The connection is gone: what was in flight has an unknown outcome; try again. */
  private lost(): void {
    if (this.gw) this.gw.gateway.hangUp(this.gw.n);
    this.gw = undefined;
    for (const p of this.pending) p.op.ret = undefined;
    this.pending = [];
    this.connected = false;
    const conn = this.conn;
    this.proc.after(this.rng.int(10, 200), () => {
      if (this.conn === conn) this.reconnect();
    });
  }

  closed(n: number): void {
    if (this.gw?.n !== n) return;
    this.gw = undefined;
    this.lost();
  }

  frame(n: number, body: Uint8Array): void {
    if (this.gw?.n !== n) return;
    if (!this.connected) return this.connectResponse(body);
    this.reply(body);
  }

  private connectResponse(body: Uint8Array): void {
    const resp = decodeConnectResponse(body);
    if (resp.sessionId === 0n) {
      // The session expired: the gateway closes the connection, and the next one makes a new session, as an application would.
      this.session = 0n;
      return;
    }
    this.session = resp.sessionId;
    this.passwd = resp.passwd;
    this.connected = true;
    // Auth belongs to the connection, as in ZooKeeper: sent again on each, ahead of any request on it.
    const auth = this.opts.operator?.auth;
    if (auth) this.gw!.gateway.request(this.gw!.n, encodeRequest({ xid: Xid.auth, type: OpCode.auth }, { type: 0, scheme: 'digest', auth: Buffer.from(auth) }));
  }

  private work(): void {
    if (!this.connected) return;
    const head = this.pending[0];
    if (head && this.sched.now - head.op.call > REQUEST_TIMEOUT_MS) return this.lost();
    if (this.stopped || this.pending.length >= this.opts.pipeline) return;
    const operator = this.opts.operator;
    if (operator) {
      if (this.rng.chance(0.1)) this.issue(this.rng.chance(0.5) ? { type: 'get', path: '/zookeeper/config', watch: this.rng.chance(0.5) } : this.pickChange(operator.members));
      return;
    }
    if (!this.rng.chance(0.5)) return;
    this.issue(this.pickOp());
  }

  /** Some members leave, some join (a few at once, so that the old and new quorums can miss each other); any may be refused. */
  private pickChange(members: readonly string[]): ZOp {
    const leaving = members.filter(() => this.rng.chance(0.25));
    const joining = members.filter((m) => !leaving.includes(m) && this.rng.chance(0.3));
    return { type: 'reconfig', joining, leaving };
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
      case 'reconfig': {
        opcode = OpCode.reconfig;
        // Each joiner as zkCli's -add writes it (an incremental add must say where clients reach it).
        const joining = o.joining.map((id) => `server.${id}=zooid-${id}:2888:3888:participant;2181`);
        frame = encodeRequest({ xid, type: OpCode.reconfig }, { joiningServers: joining.join(',') || null, leavingServers: o.leaving.join(',') || null, newMembers: null, curConfigId: -1 });
        break;
      }
    }
    this.pending.push({ op, opcode });
    this.gw!.gateway.request(this.gw!.n, frame);
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
      } else if (p.opcode === OpCode.reconfig) {
        op.result.data = Buffer.from(decodeReply(OpCode.reconfig, r).data ?? []).toString();
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
