"""kazoo's basic API against a ZooKeeper-compatible server; prints one JSON object."""
import threading

from kazoo.exceptions import (BadVersionError, NoAuthError, NodeExistsError,
                              NoNodeError, NotEmptyError)
from kazoo.protocol.states import EventType
from kazoo.security import OPEN_ACL_UNSAFE, make_digest_acl, make_digest_acl_credential

from kz_common import client, close, run, stat_dict, wait_until


def err_name(fn, *a, **kw):
    try:
        fn(*a, **kw)
    except Exception as e:  # noqa: BLE001 - the class name is the result
        return type(e).__name__
    return None


def acl_list(acls):
    return [[a.perms, a.id.scheme, a.id.id] for a in acls]


def main(hosts, R="/kz"):
    r = {}
    zk = client(hosts, timeout=8.0)
    other = client(hosts)
    sid, passwd = zk.client_id
    r["session"] = {"id": sid, "passwdLen": len(passwd), "timeout": zk._session_timeout,
                    "distinct": sid != other.client_id[0]}

    # create: makepath, ephemeral, sequence, include_data (create2)
    r["makepath"] = zk.create(R + "/a/b/c", b"deep", makepath=True)
    r["makepathParents"] = [zk.exists(p) is not None for p in (R + "", R + "/a", R + "/a/b")]
    r["ephemeral"] = zk.create(R + "/eph", b"e", ephemeral=True)
    r["ephemeralOwnerIsSession"] = zk.exists(R + "/eph").ephemeralOwner == sid
    r["sequence"] = [zk.create(R + "/seq/n-", b"", sequence=True, makepath=True) for _ in range(3)]
    r["ephemeralSequence"] = zk.create(R + "/seq/e-", b"", ephemeral=True, sequence=True)
    path, st = zk.create(R + "/withstat", b"12345", include_data=True)
    r["create2"] = {"path": path, "stat": stat_dict(st)}
    r["nodeExists"] = err_name(zk.create, R + "/withstat")
    r["noParent"] = err_name(zk.create, R + "/none/child")
    r["childOfEphemeral"] = err_name(zk.create, R + "/eph/child")

    # get / set with versions / exists
    data, st = zk.get(R + "/withstat")
    r["get"] = {"data": data.decode(), "version": st.version, "dataLength": st.dataLength}
    st1 = zk.set(R + "/withstat", b"v1", version=0)
    r["set"] = {"version": st1.version, "mzxidAdvanced": st1.mzxid > st1.czxid}
    r["setBadVersion"] = err_name(zk.set, R + "/withstat", b"stale", version=0)
    r["afterBadVersion"] = zk.get(R + "/withstat")[0].decode()
    r["existsMissing"] = zk.exists(R + "/missing")
    r["getMissing"] = err_name(zk.get, R + "/missing")

    # delete: version, not empty, recursive
    zk.create(R + "/del/x/y", makepath=True)
    r["deleteNotEmpty"] = err_name(zk.delete, R + "/del")
    r["deleteBadVersion"] = err_name(zk.delete, R + "/del/x/y", version=3)
    zk.delete(R + "/del", recursive=True)
    r["deleteRecursive"] = zk.exists(R + "/del") is None
    r["deleteMissing"] = err_name(zk.delete, R + "/del")

    # one-shot watches: children, data, exists-on-missing; set by another session
    events = []
    ev_lock = threading.Lock()

    def rec(e):
        with ev_lock:
            events.append([e.type, e.path])

    zk.create(R + "/w")
    r["childrenBefore"] = zk.get_children(R + "/w", watch=rec)
    zk.get(R + "/w", watch=rec)
    zk.exists(R + "/w/later", watch=rec)
    other.create(R + "/w/later", b"x")
    wait_until("child and created events", lambda: len(events) >= 2)
    other.set(R + "/w", b"changed")
    wait_until("data event", lambda: len(events) >= 3)
    r["watchEvents"] = sorted(events)
    children, st = zk.get_children(R + "/w", include_data=True)
    r["childrenWithStat"] = {"children": children, "numChildren": st.numChildren, "cversion": st.cversion}

    # ChildrenWatch / DataWatch recipes (kazoo.recipe.watchers)
    seen_children = []
    zk.create(R + "/cw")
    zk.ChildrenWatch(R + "/cw", lambda ch: seen_children.append(sorted(ch)))
    wait_until("initial ChildrenWatch call", lambda: seen_children == [[]])
    other.create(R + "/cw/a")
    wait_until("ChildrenWatch a", lambda: seen_children[-1] == ["a"])
    other.create(R + "/cw/b")
    wait_until("ChildrenWatch a,b", lambda: seen_children[-1] == ["a", "b"])
    other.delete(R + "/cw/a")
    wait_until("ChildrenWatch b", lambda: seen_children[-1] == ["b"])
    r["childrenWatch"] = seen_children

    seen_data = []

    def on_data(data, stat, event):
        seen_data.append([None if data is None else data.decode(),
                          None if stat is None else stat.version,
                          None if event is None else event.type])

    zk.DataWatch(R + "/dw", on_data)
    wait_until("initial DataWatch call", lambda: len(seen_data) >= 1)
    other.create(R + "/dw", b"born")
    wait_until("DataWatch created", lambda: len(seen_data) >= 2)
    other.set(R + "/dw", b"grown")
    wait_until("DataWatch changed", lambda: len(seen_data) >= 3)
    other.delete(R + "/dw")
    wait_until("DataWatch deleted", lambda: len(seen_data) >= 4)
    r["dataWatch"] = seen_data

    # transactions
    zk.create(R + "/tx", b"0")
    t = zk.transaction()
    t.create(R + "/tx/a", b"a")
    t.set_data(R + "/tx", b"1", version=0)
    t.check(R + "/tx", 1)
    t.create(R + "/tx/b")
    t.delete(R + "/tx/b")
    res = t.commit()
    r["txOk"] = [x if isinstance(x, (str, bool)) else ("stat", x.version) if hasattr(x, "version") else type(x).__name__
                 for x in res]
    t = zk.transaction()
    t.create(R + "/tx/c", b"c")
    t.set_data(R + "/tx", b"2")
    t.check(R + "/tx", 99)
    t.delete(R + "/tx/a")
    res = t.commit()
    r["txFail"] = [type(x).__name__ for x in res]
    data, st = zk.get(R + "/tx")
    r["txFailApplied"] = {"c": zk.exists(R + "/tx/c") is not None, "a": zk.exists(R + "/tx/a") is not None,
                          "data": data.decode(), "version": st.version}

    # ACLs: make_digest_acl + add_auth, NoAuth for others
    alice = make_digest_acl("alice", "secret", all=True)
    reader = make_digest_acl("bob", "pw", read=True)
    zk.create(R + "/acl", b"private", acl=[alice, reader])
    r["aclExpectedIds"] = [make_digest_acl_credential("alice", "secret"), make_digest_acl_credential("bob", "pw")]
    r["aclCreatorGetAcls"] = err_name(zk.get_acls, R + "/acl")
    r["aclNoAuthGet"] = err_name(other.get, R + "/acl")
    r["aclNoAuthSet"] = err_name(other.set, R + "/acl", b"x")
    other.add_auth("digest", "bob:pw")
    r["aclBobGet"] = other.get(R + "/acl")[0].decode()
    r["aclBobSet"] = err_name(other.set, R + "/acl", b"x")
    acls, st = other.get_acls(R + "/acl")
    r["aclBobGetAcls"] = {"acls": acl_list(acls), "aversion": st.aversion}
    r["aclCreatorNoAuth"] = err_name(zk.set, R + "/acl", b"x")
    zk.add_auth("digest", "alice:secret")
    r["aclAliceSet"] = zk.set(R + "/acl", b"by alice").version
    r["aclAliceGetAcls"] = acl_list(zk.get_acls(R + "/acl")[0])
    r["aclSetBadVersion"] = err_name(zk.set_acls, R + "/acl", OPEN_ACL_UNSAFE, version=7)
    r["aclSetAcls"] = zk.set_acls(R + "/acl", OPEN_ACL_UNSAFE, version=0).aversion
    r["aclAfterOpen"] = other.set(R + "/acl", b"anyone").version

    # ensure_path, sync, four-letter word, server version
    r["ensurePath"] = [zk.ensure_path(R + "/ens/x/y"), zk.ensure_path(R + "/ens/x/y"), zk.exists(R + "/ens/x/y") is not None]
    other.set(R + "/withstat", b"synced")
    r["sync"] = zk.sync(R + "/withstat")
    r["afterSync"] = zk.get(R + "/withstat")[0].decode()
    r["ruok"] = zk.command(b"ruok")
    r["serverVersion"] = list(zk.server_version())

    # large data (just under jute.maxbuffer) and a chrooted client
    big = bytes(range(256)) * 3906  # 999,936 bytes
    zk.create(R + "/big", big)
    got, st = other.get(R + "/big")
    r["big"] = {"equal": got == big, "dataLength": st.dataLength}
    rooted = client(hosts + R + "/ens")
    r["chrootCreate"] = rooted.create("/c", b"in chroot")
    r["chrootSeenFromOutside"] = zk.get(R + "/ens/c")[0].decode()
    r["chrootChildren"] = sorted(rooted.get_children("/"))
    chroot_events = []
    rooted.get("/c", watch=lambda e: chroot_events.append([e.type, e.path]))
    zk.set(R + "/ens/c", b"changed")
    wait_until("chrooted watch", lambda: chroot_events)
    r["chrootEvent"] = chroot_events
    close(rooted)

    # closing a session deletes its ephemerals
    close(zk)
    r["ephemeralAfterClose"] = [other.exists(R + "/eph") is not None,
                                other.get_children(R + "/seq")]
    return r


run(main)
