/**
 * A miniature ensemble for tests: the leader's prep → zxid → apply pipeline
 * and a learner's reads and watches over one tree. Every write consumes a
 * zxid, error txns included, exactly as ZooKeeper's does — so zxids in these
 * tests line up with those observed on a real ZooKeeper 3.8 server that ran
 * the same requests after one createSession.
 */
import { OpCode, type Id, type Stat } from '@zooid/protocol';
import {
  DataTree,
  Preparer,
  WatchManager,
  executeRead,
  txnType,
  type ApplyResult,
  type AuthContext,
  type Notification,
  type TreeConfig,
  type Txn,
  type TxnHeader,
} from '../src/index.js';

export const OPEN = [{ perms: 31, id: { scheme: 'world', id: 'anyone' } }];
export const LOCAL_IP: Id = { scheme: 'ip', id: '127.0.0.1' };

export interface WriteResult extends ApplyResult {
  txn: Txn;
  zxid: number;
  notifications: Notification[];
}

export class Harness {
  tree = new DataTree();
  readonly prep: Preparer;
  readonly watches: WatchManager;
  zxid = 0;
  time = 1_700_000_000_000;
  /** Every committed txn, for replay tests. */
  readonly log: Array<{ hdr: TxnHeader; txn: Txn }> = [];
  private nextSession = 0x100000923710000n;

  constructor(readonly config: TreeConfig = {}) {
    this.prep = new Preparer(this.tree, config);
    this.watches = new WatchManager(config);
  }

  /** Opens a session (a createSession txn) with the given auth ids. */
  session(ids: Id[] = [LOCAL_IP], timeout = 30_000): AuthContext {
    const auth: AuthContext = { sessionId: this.nextSession++, ids };
    this.write(auth, OpCode.createSession, { timeout, verifier: Buffer.alloc(16, 1) });
    return auth;
  }

  /** Prepares and applies one request, returning its result and the notifications it caused. */
  write(auth: AuthContext, op: number, req: unknown): WriteResult {
    const [p] = this.prepareBatch([[auth, op, req]]);
    return this.commit(p!);
  }

  /** Prepares several requests before any is applied, as the group-committing leader does. */
  prepareBatch(reqs: Array<[AuthContext, number, unknown]>): Array<{ hdr: TxnHeader; txn: Txn }> {
    return reqs.map(([auth, op, req]) => {
      const zxid = ++this.zxid;
      this.time += 1;
      const txn = this.prep.prepare(op, req, auth, zxid, this.time);
      return { hdr: { sessionId: auth.sessionId, cxid: 0, zxid, time: this.time, type: txnType(txn) }, txn };
    });
  }

  commit(p: { hdr: TxnHeader; txn: Txn }): WriteResult {
    const r = this.tree.apply(p.hdr, p.txn);
    this.prep.applied(p.hdr.zxid);
    this.log.push(p);
    return { ...r, txn: p.txn, zxid: p.hdr.zxid, notifications: this.watches.trigger(r.triggers) };
  }

  /** A leader-originated txn that bypasses prep (session expiry, container clean-up), given its zxid; commit() applies it. */
  internal(txn: Txn, sessionId = 0n): { hdr: TxnHeader; txn: Txn } {
    const zxid = ++this.zxid;
    this.time += 1;
    return { hdr: { sessionId, cxid: 0, zxid, time: this.time, type: txnType(txn) }, txn };
  }

  read(auth: AuthContext, op: number, req: unknown) {
    return executeRead(this.tree, op, req, auth, this.watches, this.config);
  }

  // ---- shorthands

  create(auth: AuthContext, path: string, opts: { data?: Uint8Array | null; acl?: unknown[]; flags?: number; op?: number; ttl?: number } = {}) {
    const op = opts.op ?? (opts.ttl !== undefined ? OpCode.createTTL : OpCode.create2);
    const req = { path, data: opts.data === undefined ? Buffer.alloc(0) : opts.data, acl: opts.acl ?? OPEN, flags: opts.flags ?? 0, ttl: opts.ttl };
    return this.write(auth, op, req);
  }

  delete(auth: AuthContext, path: string, version = -1) {
    return this.write(auth, OpCode.delete, { path, version });
  }

  setData(auth: AuthContext, path: string, data: Uint8Array | null, version = -1) {
    return this.write(auth, OpCode.setData, { path, data, version });
  }

  stat(path: string): Stat | undefined {
    const r = executeRead(this.tree, OpCode.exists, { path, watch: false }, { sessionId: 0n, ids: [{ scheme: 'super', id: '' }] }, this.watches);
    return (r.response as { stat: Stat } | undefined)?.stat;
  }
}

/** Picks some Stat fields, for compact expectations. */
export function pick<K extends keyof Stat>(s: Stat | undefined, ...keys: K[]): Pick<Stat, K> | undefined {
  if (s === undefined) return undefined;
  const out = {} as Pick<Stat, K>;
  for (const k of keys) out[k] = s[k];
  return out;
}
