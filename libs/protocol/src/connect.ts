/**
 * The handshake: the first frame each way, with no Request/ReplyHeader.
 *
 * Clients since 3.3 append a readOnly byte to ConnectRequest; older ones
 * (node-zookeeper-client still does this) send none. ZooKeeper answers in
 * kind: its ConnectResponse carries a readOnly byte only when the request
 * had one. Both directions model that as an optional `readOnly`.
 */
import { JuteReader, JuteWriter } from './jute.js';
import type { ConnectRequest, ConnectResponse } from './records.js';

/** Like the server, reads the trailing byte only if it is there and ignores anything after it. */
function readOptionalBool(r: JuteReader): boolean | undefined {
  return r.remaining > 0 ? r.readBool() : undefined;
}

function writeOptionalBool(w: JuteWriter, v: boolean | undefined): void {
  if (v !== undefined) w.writeBool(v);
}

export function decodeConnectRequest(body: Uint8Array): ConnectRequest {
  const r = new JuteReader(body);
  const req: ConnectRequest = {
    protocolVersion: r.readInt(),
    lastZxidSeen: r.readLongNum(),
    timeOut: r.readInt(),
    sessionId: r.readLong(),
    passwd: r.readBuffer() ?? new Uint8Array(0),
  };
  const readOnly = readOptionalBool(r);
  if (readOnly !== undefined) req.readOnly = readOnly;
  return req;
}

export function encodeConnectRequest(req: ConnectRequest): Buffer {
  const w = new JuteWriter(64);
  w.writeInt(req.protocolVersion).writeLongNum(req.lastZxidSeen).writeInt(req.timeOut);
  w.writeLong(req.sessionId).writeBuffer(req.passwd);
  writeOptionalBool(w, req.readOnly);
  return w.finish();
}

export function decodeConnectResponse(body: Uint8Array): ConnectResponse {
  const r = new JuteReader(body);
  const resp: ConnectResponse = {
    protocolVersion: r.readInt(),
    timeOut: r.readInt(),
    sessionId: r.readLong(),
    passwd: r.readBuffer() ?? new Uint8Array(0),
  };
  const readOnly = readOptionalBool(r);
  if (readOnly !== undefined) resp.readOnly = readOnly;
  return resp;
}

/**
 * Set `readOnly` exactly when the client's request had the byte (to whether
 * this server is read-only); leave it undefined for an old client.
 */
export function encodeConnectResponse(resp: ConnectResponse): Buffer {
  const w = new JuteWriter(64);
  w.writeInt(resp.protocolVersion).writeInt(resp.timeOut).writeLong(resp.sessionId).writeBuffer(resp.passwd);
  writeOptionalBool(w, resp.readOnly);
  return w.finish();
}
