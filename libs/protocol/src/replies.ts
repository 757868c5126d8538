/**
 * Server replies after the handshake: ReplyHeader{xid, zxid, err} followed,
 * when err is 0, by the response record of the request's opcode. Watch
 * notifications are replies too, with xid -1 and a WatcherEvent body.
 */
import { OpCode, Xid } from './constants.js';
import { JuteReader, JuteWriter } from './jute.js';
import { multiResponse } from './multi.js';
import * as C from './record-codecs.js';
import type * as R from './records.js';

/**
 * The response body of each opcode (undefined: header only), as
 * FinalRequestProcessor builds them. Some are not what the name suggests:
 * check answers a SetDataResponse, reconfig a GetDataResponse (the new config
 * and the config node's stat) and addWatch an ErrorResponse{err: 0}.
 */
export interface ResponseBodies {
  [OpCode.notification]: R.WatcherEvent;
  [OpCode.create]: R.CreateResponse;
  [OpCode.delete]: undefined;
  [OpCode.exists]: R.ExistsResponse;
  [OpCode.getData]: R.GetDataResponse;
  [OpCode.setData]: R.SetDataResponse;
  [OpCode.getACL]: R.GetACLResponse;
  [OpCode.setACL]: R.SetACLResponse;
  [OpCode.getChildren]: R.GetChildrenResponse;
  [OpCode.sync]: R.SyncResponse;
  [OpCode.ping]: undefined;
  [OpCode.getChildren2]: R.GetChildren2Response;
  [OpCode.check]: R.SetDataResponse;
  [OpCode.multi]: R.MultiResult[];
  [OpCode.create2]: R.Create2Response;
  [OpCode.reconfig]: R.GetDataResponse;
  [OpCode.checkWatches]: undefined;
  [OpCode.removeWatches]: undefined;
  [OpCode.createContainer]: R.Create2Response;
  [OpCode.createTTL]: R.Create2Response;
  [OpCode.multiRead]: R.MultiResult[];
  [OpCode.auth]: undefined;
  [OpCode.setWatches]: undefined;
  [OpCode.sasl]: R.SetSASLResponse;
  [OpCode.getEphemerals]: R.GetEphemeralsResponse;
  [OpCode.getAllChildrenNumber]: R.GetAllChildrenNumberResponse;
  [OpCode.setWatches2]: undefined;
  [OpCode.addWatch]: R.ErrorResponse;
  [OpCode.whoAmI]: R.WhoAmIResponse;
  [OpCode.closeSession]: undefined;
}
export type ReplyOp = keyof ResponseBodies;

const RESPONSE_CODECS: { [K in ReplyOp]: C.Codec<ResponseBodies[K]> } = {
  [OpCode.notification]: C.watcherEvent,
  [OpCode.create]: C.pathOnly,
  [OpCode.delete]: C.empty,
  [OpCode.exists]: C.statOnly,
  [OpCode.getData]: C.getDataResponse,
  [OpCode.setData]: C.statOnly,
  [OpCode.getACL]: C.getACLResponse,
  [OpCode.setACL]: C.statOnly,
  [OpCode.getChildren]: C.getChildrenResponse,
  [OpCode.sync]: C.pathOnly,
  [OpCode.ping]: C.empty,
  [OpCode.getChildren2]: C.getChildren2Response,
  [OpCode.check]: C.statOnly,
  [OpCode.multi]: multiResponse,
  [OpCode.create2]: C.create2Response,
  [OpCode.reconfig]: C.getDataResponse,
  [OpCode.checkWatches]: C.empty,
  [OpCode.removeWatches]: C.empty,
  [OpCode.createContainer]: C.create2Response,
  [OpCode.createTTL]: C.create2Response,
  [OpCode.multiRead]: multiResponse,
  [OpCode.auth]: C.empty,
  [OpCode.setWatches]: C.empty,
  [OpCode.sasl]: C.saslToken,
  [OpCode.getEphemerals]: C.getEphemeralsResponse,
  [OpCode.getAllChildrenNumber]: C.getAllChildrenNumberResponse,
  [OpCode.setWatches2]: C.empty,
  [OpCode.addWatch]: C.errorResponse,
  [OpCode.whoAmI]: C.whoAmIResponse,
  [OpCode.closeSession]: C.empty,
};

export function readReplyHeader(r: JuteReader): R.ReplyHeader {
  return C.replyHeader.read(r);
}

/**
 * Header and body of one reply, without the length prefix. A non-zero err
 * sends the header alone, as ZooKeeper does; a failed multi is not such a
 * reply: it has err 0 and carries one error result per op.
 */
export function encodeReply<K extends ReplyOp>(hdr: R.ReplyHeader, type: K, resp: ResponseBodies[K]): Buffer;
/** A header-only reply: an error (for any opcode, even an unknown one) or an op without a body. */
export function encodeReply(hdr: R.ReplyHeader, type: number): Buffer;
export function encodeReply(hdr: R.ReplyHeader, type: number, resp?: unknown): Buffer {
  const w = new JuteWriter();
  C.replyHeader.write(w, hdr);
  if (hdr.err === 0) {
    const codec = (RESPONSE_CODECS as Partial<Record<number, C.Codec<unknown>>>)[type];
    if (!codec) throw new Error(`no reply layout for opcode ${type}`);
    if (resp === undefined && codec !== C.empty) throw new Error(`reply to opcode ${type} needs a body`);
    codec.write(w, resp);
  }
  return w.finish();
}

/** Decodes the body after a ReplyHeader with err 0, given the opcode of the request it answers. */
export function decodeReply<K extends ReplyOp>(type: K, r: JuteReader): ResponseBodies[K] {
  return RESPONSE_CODECS[type].read(r);
}

/**
 * A failed SASL step, as ZooKeeper's processSasl writes it: the error header
 * and then a SetSASLResponse with a null token, which is what tells the Java
 * client to report AuthFailed rather than a lost connection.
 */
export function encodeSaslFailure(xid: number, err: number): Buffer {
  const w = new JuteWriter();
  C.replyHeader.write(w, { xid, zxid: 0, err });
  w.writeInt(-1);
  return w.finish();
}

/** A watch event: the server sends xid -1 and zxid -1 (not the zxid that fired it). */
export function encodeNotification(event: R.WatcherEvent): Buffer {
  return encodeReply({ xid: Xid.notification, zxid: -1, err: 0 }, OpCode.notification, event);
}
