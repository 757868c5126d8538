"""kazoo across a connection loss. kazoo 2.8 sends no SetWatches: on a loss
it fires every one-shot watch with a NONE event and forgets them, and its
recipes (ChildrenWatch, DataWatch) read again once reconnected. The session
and its ephemeral must survive; the recipes must catch up with what changed
while the client was away.

Usage: kz_reconnect.py <hosts> <root>
Prints "ready" when its watches are set, then "suspended" when the connection
drops; the test makes its changes and lets it reconnect; prints the JSON
result when every expected event arrived (or its deadline kills it).
"""
import sys
import threading

from kazoo.protocol.states import KazooState

from kz_common import client, run, wait_until


def say(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main(hosts, root):
    r = {}
    zk = client(hosts, timeout=10.0)
    states = []
    zk.add_listener(lambda s: states.append(str(s)))
    sid = zk.client_id[0]
    zk.create(root + "/eph", b"mine", ephemeral=True)
    lock = threading.Lock()
    events = []

    def rec(e):
        with lock:
            events.append([e.type, e.path])

    zk.get(root + "/data", watch=rec)
    zk.get_children(root + "/kids", watch=rec)
    zk.exists(root + "/later", watch=rec)
    zk.exists(root + "/gone", watch=rec)
    zk.get(root + "/same", watch=rec)
    seen_children = []
    zk.ChildrenWatch(root + "/kids2", lambda ch: seen_children.append(sorted(ch)))
    seen_data = []
    zk.DataWatch(root + "/data2", lambda d, st: seen_data.append(None if d is None else d.decode()))
    wait_until("recipes' first calls", lambda: seen_children and seen_data)
    say("ready")

    wait_until("connection loss", lambda: KazooState.SUSPENDED in states, 20)
    say("suspended")
    wait_until("reconnection", lambda: states[-1] == KazooState.CONNECTED, 20)
    wait_until("the five NONE events", lambda: len(events) >= 5, 10)
    wait_until("ChildrenWatch catching up", lambda: seen_children[-1] == ["k"], 10)
    wait_until("DataWatch catching up", lambda: seen_data[-1] == "changed", 10)
    # Whatever else is coming would have come with the same SetWatches reply.
    zk.sync(root)
    r["events"] = sorted(events)
    r["states"] = list(states)
    r["sameSession"] = zk.client_id[0] == sid
    r["ephemeral"] = zk.get(root + "/eph")[0].decode()
    r["childrenWatch"] = seen_children
    r["dataWatch"] = seen_data
    # Watches set after the reconnection work too.
    after = []
    zk.get(root + "/data", watch=lambda e: after.append([e.type, e.path]))
    zk.set(root + "/data", b"again")
    wait_until("a watch set after reconnecting", lambda: after, 10)
    r["after"] = after
    return r


run(main)
