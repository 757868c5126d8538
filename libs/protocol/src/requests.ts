/**
 * Client requests after the handshake: RequestHeader{xid, type} followed by
 * the body record of that opcode.
 */
import { OpCode } from './constants.js';
import { JuteError, JuteReader, JuteWriter } from './jute.js';
import { multiReadRequest, multiRequest } from './multi.js';
import * as C from './record-codecs.js';
import type * as R from './records.js';

/** The body of each opcode a client may send (undefined: header only). */
export interface RequestBodies {
  [OpCode.create]: R.CreateRequest;
  [OpCode.delete]: R.DeleteRequest;
  [OpCode.exists]: R.ExistsRequest;
  [OpCode.getData]: R.GetDataRequest;
  [OpCode.setData]: R.SetDataRequest;
  [OpCode.getACL]: R.GetACLRequest;
  [OpCode.setACL]: R.SetACLRequest;
  [OpCode.getChildren]: R.GetChildrenRequest;
  [OpCode.sync]: R.SyncRequest;
  [OpCode.ping]: undefined;
  [OpCode.getChildren2]: R.GetChildren2Request;
  [OpCode.check]: R.CheckVersionRequest;
  [OpCode.multi]: R.MultiOp[];
  [OpCode.create2]: R.CreateRequest;
  [OpCode.reconfig]: R.ReconfigRequest;
  [OpCode.checkWatches]: R.CheckWatchesRequest;
  [OpCode.removeWatches]: R.RemoveWatchesRequest;
  [OpCode.createContainer]: R.CreateRequest;
  [OpCode.createTTL]: R.CreateTTLRequest;
  [OpCode.multiRead]: R.MultiOp[];
  [OpCode.auth]: R.AuthPacket;
  [OpCode.setWatches]: R.SetWatches;
  [OpCode.sasl]: R.GetSASLRequest;
  [OpCode.getEphemerals]: R.GetEphemeralsRequest;
  [OpCode.getAllChildrenNumber]: R.GetAllChildrenNumberRequest;
  [OpCode.setWatches2]: R.SetWatches2;
  [OpCode.addWatch]: R.AddWatchRequest;
  [OpCode.whoAmI]: undefined;
  [OpCode.closeSession]: undefined;
}
export type RequestOp = keyof RequestBodies;

/** A decoded request, discriminated by its opcode. */
export type Request = { [K in RequestOp]: { type: K; req: RequestBodies[K] } }[RequestOp];

const REQUEST_CODECS: { [K in RequestOp]: C.Codec<RequestBodies[K]> } = {
  [OpCode.create]: C.createRequest,
  [OpCode.delete]: C.pathVersion,
  [OpCode.exists]: C.pathWatch,
  [OpCode.getData]: C.pathWatch,
  [OpCode.setData]: C.setDataRequest,
  [OpCode.getACL]: C.pathOnly,
  [OpCode.setACL]: C.setACLRequest,
  [OpCode.getChildren]: C.pathWatch,
  [OpCode.sync]: C.pathOnly,
  [OpCode.ping]: C.empty,
  [OpCode.getChildren2]: C.pathWatch,
  [OpCode.check]: C.pathVersion,
  [OpCode.multi]: multiRequest,
  [OpCode.create2]: C.createRequest,
  [OpCode.reconfig]: C.reconfigRequest,
  [OpCode.checkWatches]: C.pathWatcherType,
  [OpCode.removeWatches]: C.pathWatcherType,
  [OpCode.createContainer]: C.createRequest,
  [OpCode.createTTL]: C.createTTLRequest,
  [OpCode.multiRead]: multiReadRequest,
  [OpCode.auth]: C.authPacket,
  [OpCode.setWatches]: C.setWatches,
  [OpCode.sasl]: C.saslToken,
  [OpCode.getEphemerals]: C.getEphemeralsRequest,
  [OpCode.getAllChildrenNumber]: C.pathOnly,
  [OpCode.setWatches2]: C.setWatches2,
  [OpCode.addWatch]: C.addWatchRequest,
  [OpCode.whoAmI]: C.empty,
  [OpCode.closeSession]: C.empty,
};

/** Whether a client may send this opcode (ZooKeeper answers others with UNIMPLEMENTED). */
export function isRequestOp(type: number): type is RequestOp {
  return Object.hasOwn(REQUEST_CODECS, type);
}

export function readRequestHeader(r: JuteReader): R.RequestHeader {
  return C.requestHeader.read(r);
}

/**
 * Decodes the body that follows a RequestHeader of this type. Bytes after the
 * record are left unread, as ZooKeeper ignores them too.
 */
export function decodeRequest(type: number, r: JuteReader): Request {
  if (!isRequestOp(type)) throw new JuteError(`unknown request opcode ${type}`);
  const codec = REQUEST_CODECS[type] as C.Codec<unknown>;
  return { type, req: codec.read(r) } as Request;
}

/** Header and body of one request, without the length prefix. */
export function encodeRequest<K extends RequestOp>(hdr: { xid: number; type: K }, req: RequestBodies[K]): Buffer {
  const w = new JuteWriter();
  C.requestHeader.write(w, hdr);
  REQUEST_CODECS[hdr.type].write(w, req);
  return w.finish();
}
