/**
 * TypeScript shapes of the jute records of ZooKeeper 3.8's client protocol,
 * named and fielded exactly as zookeeper.jute names them.
 *
 * Int64 fields that are identities (session ids, ephemeral owners) are bigint;
 * zxids and times are numbers (they stay below 2^53: epoch < 2^21).
 */
export interface Id { scheme: string; id: string }
export interface ACL { perms: number; id: Id }
export interface Stat {
  czxid: number;
  mzxid: number;
  ctime: number;
  mtime: number;
  version: number;
  cversion: number;
  aversion: number;
  ephemeralOwner: bigint;
  dataLength: number;
  numChildren: number;
  pzxid: number;
}

export interface ConnectRequest {
  protocolVersion: number;
  lastZxidSeen: number;
  timeOut: number;
  sessionId: bigint;
  passwd: Uint8Array;
  /** Absent when the client is a 3.4-era one that does not send the byte. */
  readOnly?: boolean;
}
export interface ConnectResponse {
  protocolVersion: number;
  timeOut: number;
  sessionId: bigint;
  passwd: Uint8Array;
  readOnly?: boolean;
}
export interface RequestHeader { xid: number; type: number }
export interface ReplyHeader { xid: number; zxid: number; err: number }
export interface MultiHeader { type: number; done: boolean; err: number }
export interface AuthPacket { type: number; scheme: string; auth: Uint8Array }

export interface SetWatches {
  relativeZxid: number;
  dataWatches: string[];
  existWatches: string[];
  childWatches: string[];
}
export interface SetWatches2 extends SetWatches {
  persistentWatches: string[];
  persistentRecursiveWatches: string[];
}

export interface CreateRequest { path: string; data: Uint8Array | null; acl: ACL[]; flags: number }
export interface CreateTTLRequest extends CreateRequest { ttl: number }
export interface CreateResponse { path: string }
export interface Create2Response { path: string; stat: Stat }
export interface DeleteRequest { path: string; version: number }
export interface ExistsRequest { path: string; watch: boolean }
export interface ExistsResponse { stat: Stat }
export interface GetDataRequest { path: string; watch: boolean }
export interface GetDataResponse { data: Uint8Array | null; stat: Stat }
export interface SetDataRequest { path: string; data: Uint8Array | null; version: number }
export interface SetDataResponse { stat: Stat }
export interface GetACLRequest { path: string }
export interface GetACLResponse { acl: ACL[]; stat: Stat }
export interface SetACLRequest { path: string; acl: ACL[]; version: number }
export interface SetACLResponse { stat: Stat }
export interface GetChildrenRequest { path: string; watch: boolean }
export interface GetChildrenResponse { children: string[] }
export interface GetChildren2Request { path: string; watch: boolean }
export interface GetChildren2Response { children: string[]; stat: Stat }
export interface GetAllChildrenNumberRequest { path: string }
export interface GetAllChildrenNumberResponse { totalNumber: number }
export interface GetEphemeralsRequest { prefixPath: string }
export interface GetEphemeralsResponse { ephemerals: string[] }
export interface SyncRequest { path: string }
export interface SyncResponse { path: string }
export interface CheckVersionRequest { path: string; version: number }
export interface AddWatchRequest { path: string; mode: number }
export interface CheckWatchesRequest { path: string; type: number }
export interface RemoveWatchesRequest { path: string; type: number }
/** Clients send null for the server lists they leave out (zkCli does). */
export interface ReconfigRequest {
  joiningServers: string | null;
  leavingServers: string | null;
  newMembers: string | null;
  curConfigId: number;
}
export interface WatcherEvent { type: number; state: number; path: string }
export interface ErrorResponse { err: number }
export interface ClientInfo { authProvider: string; user: string }
export interface WhoAmIResponse { clientInfo: ClientInfo[] }
export interface GetSASLRequest { token: Uint8Array }
export interface SetSASLResponse { token: Uint8Array }

/** One operation of a multi / multiRead request, tagged by its opcode. */
export type MultiOp =
  | { type: 1 | 15 | 19; req: CreateRequest }
  | { type: 21; req: CreateTTLRequest }
  | { type: 2; req: DeleteRequest }
  | { type: 5; req: SetDataRequest }
  | { type: 13; req: CheckVersionRequest }
  | { type: 4; req: GetDataRequest }
  | { type: 8; req: GetChildrenRequest };

/** One result of a multi / multiRead response, tagged by its opcode (-1 = error). */
export type MultiResult =
  | { type: 1; path: string }
  | { type: 15 | 19 | 21; path: string; stat: Stat }
  | { type: 2 | 13 }
  | { type: 5; stat: Stat }
  | { type: 4; data: Uint8Array | null; stat: Stat }
  | { type: 8; children: string[] }
  | { type: -1; err: number };
