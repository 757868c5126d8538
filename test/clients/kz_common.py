"""Shared plumbing for the kazoo compatibility scripts.

Every script: connects with kazoo (Debian's python3-kazoo, run by
/usr/bin/python3), prints exactly one JSON object on stdout as its last line,
and exits non-zero on any exception, in any thread, or when its own deadline
passes, so a hang fails the test instead of blocking it.
"""
import json
import logging
import os
import signal
import sys
import threading
import time
import traceback

from kazoo.client import KazooClient
from kazoo.exceptions import KazooException
from kazoo.retry import KazooRetry

logging.basicConfig(level=logging.WARNING, stream=sys.stderr)


def die(msg, code=2):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()
    os._exit(code)


def deadline(seconds):
    """Kill the whole process (all threads) after `seconds`."""
    def fire(signum, frame):
        stacks = "".join(
            "\n--- thread %s ---\n%s" % (tid, "".join(traceback.format_stack(f)))
            for tid, f in sys._current_frames().items())
        die("deadline of %ss passed; stacks:%s" % (seconds, stacks), 3)
    signal.signal(signal.SIGALRM, fire)
    signal.alarm(seconds)


def _thread_excepthook(args):
    die("exception in thread %s:\n%s" % (
        args.thread.name if args.thread else "?",
        "".join(traceback.format_exception(args.exc_type, args.exc_value, args.exc_traceback))), 4)


threading.excepthook = _thread_excepthook

_clients = []


def client(hosts, timeout=10.0, **kw):
    """A started KazooClient; stopped and closed at exit."""
    # Recipes retry on BADVERSION/NODEEXISTS under contention (Counter, Lock):
    # many quick retries; the script's deadline bounds the whole run anyway.
    c = KazooClient(hosts=hosts, timeout=timeout,
                    connection_retry=KazooRetry(max_tries=3, delay=0.1),
                    command_retry=KazooRetry(max_tries=100, delay=0.005, max_delay=0.1), **kw)
    c.start(timeout=15)
    _clients.append(c)
    return c


def close(c):
    """Ends the session (closeSession) and the connection."""
    c.stop()
    c.close()
    if c in _clients:
        _clients.remove(c)


def wait_until(what, pred, timeout=10.0, every=0.02):
    until = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > until:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(every)


def stat_dict(st):
    return None if st is None else {k: getattr(st, k) for k in (
        "czxid", "mzxid", "ctime", "mtime", "version", "cversion", "aversion",
        "ephemeralOwner", "dataLength", "numChildren", "pzxid")}


def private_node(c, path, data, acl, mode):
    """create: makes <path> with `acl` and returns its ACL as stored;
    read: returns its data, or the error's class name."""
    if mode == "create":
        c.create(path, data, acl=acl)
        stored, _ = c.get_acls(path)
        return {"acl": [[a.id.scheme, a.id.id, a.perms] for a in stored]}
    try:
        value, _ = c.get(path)
        return {"data": value.decode()}
    except KazooException as e:
        return {"error": type(e).__name__}


def run(main):
    """Runs main(hosts, *args) -> dict and prints it as JSON; exits 1 on any exception."""
    deadline(int(os.environ.get("KZ_DEADLINE", "60")))
    if len(sys.argv) < 2:
        die("usage: %s <hosts> [args...]" % sys.argv[0], 64)
    try:
        result = main(sys.argv[1], *sys.argv[2:])
        for c in list(_clients):
            close(c)
    except BaseException:
        traceback.print_exc()
        sys.stderr.flush()
        os._exit(1)
    sys.stdout.write(json.dumps(result, sort_keys=True) + "\n")
    sys.stdout.flush()
    os._exit(0)
