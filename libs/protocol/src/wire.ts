/**
 * The client wire protocol alone, without the bus messages (and so without
 * msgpackr): what a ZooKeeper client needs, e.g. @zooid/client's bundle.
 */
export * from './constants.js';
export type * from './records.js';
export { JuteError, JuteReader, JuteWriter } from './jute.js';
export * as recordCodecs from './record-codecs.js';
export type { Codec } from './record-codecs.js';
export { decodeRequest, encodeRequest, isRequestOp, readRequestHeader } from './requests.js';
export type { Request, RequestBodies, RequestOp } from './requests.js';
export { decodeReply, encodeNotification, encodeReply, encodeSaslFailure, readReplyHeader } from './replies.js';
export type { ReplyOp, ResponseBodies } from './replies.js';
export { decodeConnectRequest, decodeConnectResponse, encodeConnectRequest, encodeConnectResponse } from './connect.js';
export { FrameDecoder, FrameError, frame } from './frame.js';
export { validatePath } from './path.js';
