/**
 * Field-by-field layout of each jute record of zookeeper.jute, one codec per
 * record. Ops that share a record (create/create2/createContainer, the
 * path+watch reads) share its codec.
 */
import type { JuteReader, JuteWriter } from './jute.js';
import type * as R from './records.js';

export interface Codec<T> {
  read(r: JuteReader): T;
  write(w: JuteWriter, v: T): void;
}

/** The body of ops that carry none (ping, closeSession, delete's reply, ...). */
export const empty: Codec<undefined> = {
  read: () => undefined,
  write: () => {},
};

const EMPTY_BYTES = new Uint8Array(0);

/** Fields the records type as non-null bytes; a client's null means "none" there. */
function readBytes(r: JuteReader): Uint8Array {
  return r.readBuffer() ?? EMPTY_BYTES;
}

export const id: Codec<R.Id> = {
  read: (r) => ({ scheme: r.readString(), id: r.readString() }),
  write: (w, v) => void w.writeString(v.scheme).writeString(v.id),
};

export const acl: Codec<R.ACL> = {
  read: (r) => ({ perms: r.readInt(), id: id.read(r) }),
  write: (w, v) => {
    w.writeInt(v.perms);
    id.write(w, v.id);
  },
};

export const aclList: Codec<R.ACL[]> = {
  read: (r) => r.readVector(acl.read),
  write: (w, v) => void w.writeVector(v, acl.write),
};

export const stat: Codec<R.Stat> = {
  read: (r) => ({
    czxid: r.readLongNum(),
    mzxid: r.readLongNum(),
    ctime: r.readLongNum(),
    mtime: r.readLongNum(),
    version: r.readInt(),
    cversion: r.readInt(),
    aversion: r.readInt(),
    ephemeralOwner: r.readLong(),
    dataLength: r.readInt(),
    numChildren: r.readInt(),
    pzxid: r.readLongNum(),
  }),
  write: (w, v) =>
    void w
      .writeLongNum(v.czxid)
      .writeLongNum(v.mzxid)
      .writeLongNum(v.ctime)
      .writeLongNum(v.mtime)
      .writeInt(v.version)
      .writeInt(v.cversion)
      .writeInt(v.aversion)
      .writeLong(v.ephemeralOwner)
      .writeInt(v.dataLength)
      .writeInt(v.numChildren)
      .writeLongNum(v.pzxid),
};

export const requestHeader: Codec<R.RequestHeader> = {
  read: (r) => ({ xid: r.readInt(), type: r.readInt() }),
  write: (w, v) => void w.writeInt(v.xid).writeInt(v.type),
};

export const replyHeader: Codec<R.ReplyHeader> = {
  read: (r) => ({ xid: r.readInt(), zxid: r.readLongNum(), err: r.readInt() }),
  write: (w, v) => void w.writeInt(v.xid).writeLongNum(v.zxid).writeInt(v.err),
};

export const multiHeader: Codec<R.MultiHeader> = {
  read: (r) => ({ type: r.readInt(), done: r.readBool(), err: r.readInt() }),
  write: (w, v) => void w.writeInt(v.type).writeBool(v.done).writeInt(v.err),
};

export const authPacket: Codec<R.AuthPacket> = {
  read: (r) => ({ type: r.readInt(), scheme: r.readString(), auth: readBytes(r) }),
  write: (w, v) => void w.writeInt(v.type).writeString(v.scheme).writeBuffer(v.auth),
};

export const setWatches: Codec<R.SetWatches> = {
  read: (r) => ({
    relativeZxid: r.readLongNum(),
    dataWatches: r.readStringVector(),
    existWatches: r.readStringVector(),
    childWatches: r.readStringVector(),
  }),
  write: (w, v) =>
    void w
      .writeLongNum(v.relativeZxid)
      .writeStringVector(v.dataWatches)
      .writeStringVector(v.existWatches)
      .writeStringVector(v.childWatches),
};

export const setWatches2: Codec<R.SetWatches2> = {
  read: (r) => ({
    ...setWatches.read(r),
    persistentWatches: r.readStringVector(),
    persistentRecursiveWatches: r.readStringVector(),
  }),
  write: (w, v) => {
    setWatches.write(w, v);
    w.writeStringVector(v.persistentWatches).writeStringVector(v.persistentRecursiveWatches);
  },
};

export const createRequest: Codec<R.CreateRequest> = {
  read: (r) => ({ path: r.readString(), data: r.readBuffer(), acl: aclList.read(r), flags: r.readInt() }),
  write: (w, v) => {
    w.writeString(v.path).writeBuffer(v.data);
    aclList.write(w, v.acl);
    w.writeInt(v.flags);
  },
};

export const createTTLRequest: Codec<R.CreateTTLRequest> = {
  read: (r) => ({ ...createRequest.read(r), ttl: r.readLongNum() }),
  write: (w, v) => {
    createRequest.write(w, v);
    w.writeLongNum(v.ttl);
  },
};

/** `{ path }`: getACL, getAllChildrenNumber, sync (both ways), create's reply. */
export const pathOnly: Codec<{ path: string }> = {
  read: (r) => ({ path: r.readString() }),
  write: (w, v) => void w.writeString(v.path),
};

/** `{ path, watch }`: exists, getData, getChildren, getChildren2. */
export const pathWatch: Codec<{ path: string; watch: boolean }> = {
  read: (r) => ({ path: r.readString(), watch: r.readBool() }),
  write: (w, v) => void w.writeString(v.path).writeBool(v.watch),
};

/** `{ path, version }`: delete, check. */
export const pathVersion: Codec<{ path: string; version: number }> = {
  read: (r) => ({ path: r.readString(), version: r.readInt() }),
  write: (w, v) => void w.writeString(v.path).writeInt(v.version),
};

/** `{ path, type }`: checkWatches, removeWatches. */
export const pathWatcherType: Codec<{ path: string; type: number }> = {
  read: (r) => ({ path: r.readString(), type: r.readInt() }),
  write: (w, v) => void w.writeString(v.path).writeInt(v.type),
};

export const addWatchRequest: Codec<R.AddWatchRequest> = {
  read: (r) => ({ path: r.readString(), mode: r.readInt() }),
  write: (w, v) => void w.writeString(v.path).writeInt(v.mode),
};

export const setDataRequest: Codec<R.SetDataRequest> = {
  read: (r) => ({ path: r.readString(), data: r.readBuffer(), version: r.readInt() }),
  write: (w, v) => void w.writeString(v.path).writeBuffer(v.data).writeInt(v.version),
};

export const setACLRequest: Codec<R.SetACLRequest> = {
  read: (r) => ({ path: r.readString(), acl: aclList.read(r), version: r.readInt() }),
  write: (w, v) => {
    w.writeString(v.path);
    aclList.write(w, v.acl);
    w.writeInt(v.version);
  },
};

export const getEphemeralsRequest: Codec<R.GetEphemeralsRequest> = {
  read: (r) => ({ prefixPath: r.readString() }),
  write: (w, v) => void w.writeString(v.prefixPath),
};

export const reconfigRequest: Codec<R.ReconfigRequest> = {
  read: (r) => ({
    joiningServers: r.readNullableString(),
    leavingServers: r.readNullableString(),
    newMembers: r.readNullableString(),
    curConfigId: r.readLongNum(),
  }),
  write: (w, v) =>
    void w
      .writeString(v.joiningServers)
      .writeString(v.leavingServers)
      .writeString(v.newMembers)
      .writeLongNum(v.curConfigId),
};

/** GetSASLRequest and SetSASLResponse: one token each way. */
export const saslToken: Codec<{ token: Uint8Array }> = {
  read: (r) => ({ token: readBytes(r) }),
  write: (w, v) => void w.writeBuffer(v.token),
};

/** `{ stat }`: exists, setData, setACL (and check's reply). */
export const statOnly: Codec<{ stat: R.Stat }> = {
  read: (r) => ({ stat: stat.read(r) }),
  write: (w, v) => stat.write(w, v.stat),
};

export const create2Response: Codec<R.Create2Response> = {
  read: (r) => ({ path: r.readString(), stat: stat.read(r) }),
  write: (w, v) => {
    w.writeString(v.path);
    stat.write(w, v.stat);
  },
};

export const getDataResponse: Codec<R.GetDataResponse> = {
  read: (r) => ({ data: r.readBuffer(), stat: stat.read(r) }),
  write: (w, v) => {
    w.writeBuffer(v.data);
    stat.write(w, v.stat);
  },
};

export const getACLResponse: Codec<R.GetACLResponse> = {
  read: (r) => ({ acl: aclList.read(r), stat: stat.read(r) }),
  write: (w, v) => {
    aclList.write(w, v.acl);
    stat.write(w, v.stat);
  },
};

export const getChildrenResponse: Codec<R.GetChildrenResponse> = {
  read: (r) => ({ children: r.readStringVector() }),
  write: (w, v) => void w.writeStringVector(v.children),
};

export const getChildren2Response: Codec<R.GetChildren2Response> = {
  read: (r) => ({ children: r.readStringVector(), stat: stat.read(r) }),
  write: (w, v) => {
    w.writeStringVector(v.children);
    stat.write(w, v.stat);
  },
};

export const getAllChildrenNumberResponse: Codec<R.GetAllChildrenNumberResponse> = {
  read: (r) => ({ totalNumber: r.readInt() }),
  write: (w, v) => void w.writeInt(v.totalNumber),
};

export const getEphemeralsResponse: Codec<R.GetEphemeralsResponse> = {
  read: (r) => ({ ephemerals: r.readStringVector() }),
  write: (w, v) => void w.writeStringVector(v.ephemerals),
};

export const errorResponse: Codec<R.ErrorResponse> = {
  read: (r) => ({ err: r.readInt() }),
  write: (w, v) => void w.writeInt(v.err),
};

const clientInfo: Codec<R.ClientInfo> = {
  read: (r) => ({ authProvider: r.readString(), user: r.readString() }),
  write: (w, v) => void w.writeString(v.authProvider).writeString(v.user),
};

export const whoAmIResponse: Codec<R.WhoAmIResponse> = {
  read: (r) => ({ clientInfo: r.readVector(clientInfo.read) }),
  write: (w, v) => void w.writeVector(v.clientInfo, clientInfo.write),
};

export const watcherEvent: Codec<R.WatcherEvent> = {
  read: (r) => ({ type: r.readInt(), state: r.readInt(), path: r.readString() }),
  write: (w, v) => void w.writeInt(v.type).writeInt(v.state).writeString(v.path),
};
