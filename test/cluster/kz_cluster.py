"""kazoo against a Zooid cluster, for test/cluster*.test.ts.

Usage:
  kz_cluster.py readback <hosts> <path>
      sync(path), then get_children(path) and the data of `path`.
  kz_cluster.py hold <hosts> <path>
      creates ephemeral `path` and stays connected; prints one JSON line
      (session, the gateway port it is connected to); then for each "check"
      line on stdin, waits until connected and prints the session, the port
      and the ephemeral's owner; "quit" ends the session.
  kz_cluster.py reconfig <hosts> <super-password> <joining|-> <leaving|-> <fromConfig>
      as the super user (or with no credentials when the password is "-"),
      kazoo's reconfig(joining, leaving, None, fromConfig);
      prints {"ok": true, "config": the new /zookeeper/config text} or
      {"ok": false, "error": the kazoo exception's name}.
  kz_cluster.py config <hosts>
      sync, then the data of /zookeeper/config (what zkCli's `config` shows).
  kz_cluster.py lock <hostsA> <hostsB> <root> <rounds>
      two sessions (one per hosts string) take turns on kazoo's Lock recipe;
      under the lock each reads a counter znode, notes it holds the lock,
      and writes counter+1 with no version check, so a broken mutual
      exclusion shows as an overlap or a lost update.

Prints one JSON object as its last stdout line; any failure, in any thread,
or its own deadline (KZ_DEADLINE seconds) exits non-zero.
"""
import json
import os
import signal
import sys
import threading
import time
import traceback

from kazoo.client import KazooClient
from kazoo.exceptions import KazooException
from kazoo.retry import KazooRetry


def die(msg, code=2):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()
    os._exit(code)


def on_alarm(signum, frame):
    die("deadline passed", 3)


signal.signal(signal.SIGALRM, on_alarm)
signal.alarm(int(os.environ.get("KZ_DEADLINE", "60")))
threading.excepthook = lambda a: die("exception in thread:\n" + "".join(
    traceback.format_exception(a.exc_type, a.exc_value, a.exc_traceback)), 4)


def client(hosts, **kw):
    c = KazooClient(hosts=hosts, timeout=10.0,
                    connection_retry=KazooRetry(max_tries=-1, delay=0.1, max_delay=1),
                    command_retry=KazooRetry(max_tries=5, delay=0.1), **kw)
    c.start(timeout=20)
    return c


def readback(hosts, path):
    c = client(hosts)
    c.sync(path)
    children = c.get_children(path)
    data, _ = c.get(path)
    out = {"children": sorted(children), "data": (data or b"").decode("latin1"),
           "sessionId": "0x%x" % c.client_id[0]}
    c.stop()
    c.close()
    return out


def reconfig(hosts, password, joining, leaving, from_config):
    # "-": no credentials, so only /zookeeper/config's ACL decides.
    c = client(hosts, auth_data=None if password == "-" else [("digest", "super:" + password)])
    try:
        data, _ = c.reconfig(joining=None if joining == "-" else joining,
                             leaving=None if leaving == "-" else leaving,
                             new_members=None, from_config=int(from_config))
        out = {"ok": True, "config": data.decode()}
    except KazooException as e:
        out = {"ok": False, "error": type(e).__name__}
    c.stop()
    c.close()
    return out


def config(hosts):
    c = client(hosts)
    c.sync("/zookeeper/config")
    data, stat = c.get("/zookeeper/config")
    c.stop()
    c.close()
    return {"config": data.decode(), "mzxid": stat.mzxid}


def lock(hosts_a, hosts_b, root, rounds):
    rounds = int(rounds)
    a, b = client(hosts_a), client(hosts_b)
    counter = root + "/counter"
    a.ensure_path(root)
    if not a.exists(counter):
        a.create(counter, b"0")
    holder = {"who": None, "overlaps": 0}
    guard = threading.Lock()
    order = []

    def work(c, name):
        lk = c.Lock(root + "/lock", name)
        for _ in range(rounds):
            with lk:
                with guard:
                    if holder["who"] is not None:
                        holder["overlaps"] += 1
                    holder["who"] = name
                order.append(name)
                value = int(c.get(counter)[0])
                time.sleep(0.005)
                c.set(counter, str(value + 1).encode())
                with guard:
                    holder["who"] = None

    ta = threading.Thread(target=work, args=(a, "a"))
    tb = threading.Thread(target=work, args=(b, "b"))
    ta.start()
    tb.start()
    ta.join(45)
    tb.join(45)
    if ta.is_alive() or tb.is_alive():
        die("lock workers did not finish")
    a.sync(counter)
    b.sync(counter)
    out = {
        "counterA": int(a.get(counter)[0]),
        "counterB": int(b.get(counter)[0]),
        "overlaps": holder["overlaps"],
        "order": "".join(order),
        "contenders": sorted(a.get_children(root + "/lock")),
        "sessions": ["0x%x" % a.client_id[0], "0x%x" % b.client_id[0]],
    }
    for c in (a, b):
        c.stop()
        c.close()
    return out


def hold(hosts, path):
    # In the given order: the test decides which gateway the session starts on.
    c = client(hosts, randomize_hosts=False)
    states = []
    c.add_listener(lambda s: states.append(str(s)))
    c.ensure_path(path.rsplit("/", 1)[0] or "/")
    c.create(path, b"kazoo", ephemeral=True)

    def view():
        deadline = time.monotonic() + 20
        while not c.connected:
            if time.monotonic() > deadline:
                die("not reconnected within 20 s; states %s" % states)
            time.sleep(0.02)
        st = c.exists(path)
        return {"sessionId": "0x%x" % c.client_id[0],
                "port": c._connection._socket.getpeername()[1],
                "owner": "0x%x" % st.owner_session_id if st else None,
                "states": states}

    print(json.dumps(view()))
    sys.stdout.flush()
    for line in sys.stdin:
        if line.strip() == "check":
            print(json.dumps(view()))
            sys.stdout.flush()
        elif line.strip() == "quit":
            break
    c.stop()
    c.close()
    return {"done": True}


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    fn = {"readback": readback, "lock": lock, "hold": hold, "reconfig": reconfig, "config": config}[cmd]
    print(json.dumps(fn(*args)))
    sys.stdout.flush()
    os._exit(0)


if __name__ == "__main__":
    try:
        main()
    except Exception:
        die(traceback.format_exc(), 1)
