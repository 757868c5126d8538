/**
 * Transactions: what the leader logs and broadcasts, and what every member
 * applies. A transaction carries everything apply needs to be deterministic
 * (the sequential name already chosen, the parent's new cversion, the
 * expanded ACL, the ephemeral owner), so apply never consults anything but
 * the tree and the header.
 */
import type { ACL } from '@zooid/protocol';
import { OpCode } from '@zooid/protocol';
import { Reader, Writer } from './codec.js';
import { KINDS, KIND_CODE, type NodeKind } from './stat.js';

export interface TxnHeader {
  sessionId: bigint;
  cxid: number;
  zxid: number;
  /** Leader wall-clock time in ms: becomes ctime/mtime, and TTL expiry is judged against it. */
  time: number;
  /** OpCode of the txn: txnType(txn). */
  type: number;
}

/** The client opcode of a create; it decides the reply's shape (with or without Stat). */
export type CreateOp = typeof OpCode.create | typeof OpCode.create2 | typeof OpCode.createContainer | typeof OpCode.createTTL;

export interface CreateTxn {
  type: 'create';
  op: CreateOp;
  /** Final path, sequential suffix included. */
  path: string;
  data: Uint8Array | null;
  acl: readonly ACL[];
  kind: NodeKind;
  /** The stored ephemeralOwner: session id, container marker or encoded TTL; 0 for persistent. */
  ephemeralOwner: bigint;
  /** The parent's cversion after this create. */
  parentCVersion: number;
}
export interface DeleteTxn {
  type: 'delete';
  path: string;
}
/** Removal of an empty container or an expired TTL node, originated by the leader. */
export interface DeleteContainerTxn {
  type: 'deleteContainer';
  path: string;
}
export interface SetDataTxn {
  type: 'setData';
  path: string;
  data: Uint8Array | null;
  /** The node's version after this write. */
  version: number;
}
export interface SetACLTxn {
  type: 'setACL';
  path: string;
  acl: readonly ACL[];
  /** The node's aversion after this write. */
  version: number;
}
export interface CheckTxn {
  type: 'check';
  path: string;
  version: number;
}
export interface ErrorTxn {
  type: 'error';
  err: number;
}
export type SubTxn = CreateTxn | DeleteTxn | SetDataTxn | CheckTxn | ErrorTxn;
/** All-or-nothing. A multi that failed in prep holds only error sub-txns (see Preparer). */
export interface MultiTxn {
  type: 'multi';
  txns: SubTxn[];
}
export interface CreateSessionTxn {
  type: 'createSession';
  sessionId: bigint;
  timeout: number;
  /** What verifies the session's password; the password itself never enters the log. */
  verifier: Uint8Array;
}
/** Ends a session; apply deletes every ephemeral it owns at that point. */
export interface CloseSessionTxn {
  type: 'closeSession';
  sessionId: bigint;
}
/**
 * A new ensemble configuration. ZooKeeper logs it under OpCode.reconfig as a
 * SetDataTxn of /zookeeper/config with version -1; applying it sets that
 * node's data (formatConfig's text) and leaves its version at -1.
 */
export interface ReconfigTxn {
  type: 'reconfig';
  data: Uint8Array;
}
export type Txn =
  | CreateTxn
  | DeleteTxn
  | DeleteContainerTxn
  | SetDataTxn
  | SetACLTxn
  | CheckTxn
  | MultiTxn
  | ErrorTxn
  | CreateSessionTxn
  | CloseSessionTxn
  | ReconfigTxn;

/** The OpCode a header carries for this txn. */
export function txnType(txn: Txn): number {
  switch (txn.type) {
    case 'create':
      return txn.op;
    case 'delete':
      return OpCode.delete;
    case 'deleteContainer':
      return OpCode.deleteContainer;
    case 'setData':
      return OpCode.setData;
    case 'setACL':
      return OpCode.setACL;
    case 'check':
      return OpCode.check;
    case 'multi':
      return OpCode.multi;
    case 'error':
      return OpCode.error;
    case 'createSession':
      return OpCode.createSession;
    case 'closeSession':
      return OpCode.closeSession;
    case 'reconfig':
      return OpCode.reconfig;
  }
}

const FORMAT = 1;
const TAG = {
  create: 1,
  delete: 2,
  deleteContainer: 3,
  setData: 4,
  setACL: 5,
  check: 6,
  multi: 7,
  error: 8,
  createSession: 9,
  closeSession: 10,
  reconfig: 11,
} as const;
const CREATE_OPS: readonly number[] = [OpCode.create, OpCode.create2, OpCode.createContainer, OpCode.createTTL];

export function writeAcl(w: Writer, acl: readonly ACL[]): void {
  w.u32(acl.length);
  for (const a of acl) {
    w.i32(a.perms);
    w.str(a.id.scheme);
    w.str(a.id.id);
  }
}

export function readAcl(r: Reader): ACL[] {
  const n = r.u32();
  const acl: ACL[] = [];
  for (let i = 0; i < n; i++) acl.push({ perms: r.i32(), id: { scheme: r.str(), id: r.str() } });
  return acl;
}

function writeTxn(w: Writer, txn: Txn): void {
  w.u8(TAG[txn.type]);
  switch (txn.type) {
    case 'create':
      w.u8(txn.op);
      w.str(txn.path);
      w.bytes(txn.data);
      writeAcl(w, txn.acl);
      w.u8(KIND_CODE[txn.kind]);
      w.i64(txn.ephemeralOwner);
      w.i32(txn.parentCVersion);
      break;
    case 'delete':
    case 'deleteContainer':
      w.str(txn.path);
      break;
    case 'setData':
      w.str(txn.path);
      w.bytes(txn.data);
      w.i32(txn.version);
      break;
    case 'setACL':
      w.str(txn.path);
      writeAcl(w, txn.acl);
      w.i32(txn.version);
      break;
    case 'check':
      w.str(txn.path);
      w.i32(txn.version);
      break;
    case 'multi':
      w.u32(txn.txns.length);
      for (const sub of txn.txns) writeTxn(w, sub);
      break;
    case 'error':
      w.i32(txn.err);
      break;
    case 'createSession':
      w.i64(txn.sessionId);
      w.i32(txn.timeout);
      w.bytes(txn.verifier);
      break;
    case 'closeSession':
      w.i64(txn.sessionId);
      break;
    case 'reconfig':
      w.bytes(txn.data);
      break;
  }
}

function readTxn(r: Reader, nested: boolean): Txn {
  const tag = r.u8();
  switch (tag) {
    case TAG.create: {
      const op = r.u8();
      if (!CREATE_OPS.includes(op)) throw new RangeError(`bad create opcode ${op}`);
      const path = r.str();
      const data = r.bytes();
      const acl = readAcl(r);
      const kind = KINDS[r.u8()];
      if (kind === undefined) throw new RangeError('bad node kind');
      return { type: 'create', op: op as CreateOp, path, data, acl, kind, ephemeralOwner: r.i64(), parentCVersion: r.i32() };
    }
    case TAG.delete:
      return { type: 'delete', path: r.str() };
    case TAG.setData:
      return { type: 'setData', path: r.str(), data: r.bytes(), version: r.i32() };
    case TAG.check:
      return { type: 'check', path: r.str(), version: r.i32() };
    case TAG.error:
      return { type: 'error', err: r.i32() };
  }
  if (nested) throw new RangeError(`txn tag ${tag} cannot appear inside a multi`);
  switch (tag) {
    case TAG.deleteContainer:
      return { type: 'deleteContainer', path: r.str() };
    case TAG.setACL:
      return { type: 'setACL', path: r.str(), acl: readAcl(r), version: r.i32() };
    case TAG.multi: {
      const n = r.u32();
      const txns: SubTxn[] = [];
      for (let i = 0; i < n; i++) txns.push(readTxn(r, true) as SubTxn);
      return { type: 'multi', txns };
    }
    case TAG.createSession: {
      const sessionId = r.i64();
      const timeout = r.i32();
      const verifier = r.bytes();
      if (verifier === null) throw new RangeError('createSession without a password verifier');
      return { type: 'createSession', sessionId, timeout, verifier };
    }
    case TAG.closeSession:
      return { type: 'closeSession', sessionId: r.i64() };
    case TAG.reconfig: {
      const data = r.bytes();
      if (data === null) throw new RangeError('reconfig without a configuration');
      return { type: 'reconfig', data };
    }
    default:
      throw new RangeError(`bad txn tag ${tag}`);
  }
}

export function encodeTxn(hdr: TxnHeader, txn: Txn): Buffer {
  const w = new Writer(64 + (('data' in txn && txn.data) ? txn.data.length : 0));
  w.u8(FORMAT);
  w.i64(hdr.sessionId);
  w.i32(hdr.cxid);
  w.num(hdr.zxid);
  w.num(hdr.time);
  w.i32(hdr.type);
  writeTxn(w, txn);
  return w.finish();
}

/** Throws RangeError on anything truncated, trailing or unknown. */
export function decodeTxn(buf: Uint8Array): { hdr: TxnHeader; txn: Txn } {
  const r = new Reader(buf);
  const format = r.u8();
  if (format !== FORMAT) throw new RangeError(`unknown txn format ${format}`);
  const hdr: TxnHeader = { sessionId: r.i64(), cxid: r.i32(), zxid: r.num(), time: r.num(), type: r.i32() };
  const txn = readTxn(r, false);
  if (!r.done) throw new RangeError('trailing bytes after txn');
  return { hdr, txn };
}
