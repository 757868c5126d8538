"""kazoo's recipes, each with several client sessions contending.

Usage: kz_recipes.py <hosts> <recipe> <root>
Prints one JSON object; the test asserts on it. Orderings are recorded in an
event log appended under one lock, so "B acquired only after A released" is a
fact of the log, not of timing.
"""
import os
import signal
import subprocess
import sys
import threading
import time

from kazoo.exceptions import LockTimeout

from kz_common import client, close, run, wait_until


class Log:
    def __init__(self):
        self.lock = threading.Lock()
        self.entries = []

    def __call__(self, what):
        with self.lock:
            self.entries.append(what)

    def index(self, what):
        with self.lock:
            return self.entries.index(what)

    def has(self, what):
        with self.lock:
            return what in self.entries


def thread(fn, *args):
    t = threading.Thread(target=fn, args=args, daemon=True)
    t.start()
    return t


def join(t, what, timeout=15.0):
    t.join(timeout)
    if t.is_alive():
        raise AssertionError("thread did not finish: " + what)


# --- Lock -------------------------------------------------------------------

def lock(hosts, root):
    r = {}
    log = Log()
    a, b = client(hosts), client(hosts)
    la, lb = a.Lock(root + "/lock", "a"), b.Lock(root + "/lock", "b")
    r["aAcquired"] = la.acquire(timeout=5)
    r["bNonBlocking"] = lb.acquire(blocking=False)
    try:
        lb.acquire(timeout=0.3)
        r["bTimeout"] = "acquired"
    except LockTimeout:
        r["bTimeout"] = "LockTimeout"

    def b_waits():
        lb.acquire(timeout=10)
        log("b acquired")

    t = thread(b_waits)
    wait_until("b contending", lambda: len(la.contenders()) == 2)
    r["contendersWhileHeld"] = la.contenders()
    r["bAcquiredBeforeRelease"] = log.has("b acquired")
    log("a released")
    la.release()
    join(t, "b acquiring after a released")
    r["order"] = list(log.entries)
    r["contendersAfter"] = lb.contenders()

    # The holder's session closes without releasing: the lock node was ephemeral.
    c = client(hosts)
    lc = c.Lock(root + "/lock", "c")

    def c_waits():
        lc.acquire(timeout=10)
        log("c acquired")

    t = thread(c_waits)
    wait_until("c contending", lambda: len(lc.contenders()) == 2)
    log("b session closed")
    close(b)
    join(t, "c acquiring after b's session closed")
    r["orderAfterClose"] = list(log.entries[2:])
    r["contendersEnd"] = lc.contenders()
    lc.release()

    # Lock as a context manager, twice in a row by two clients.
    with a.Lock(root + "/lock2", "a"):
        r["ctxHeld"] = c.Lock(root + "/lock2", "c").contenders()
    with c.Lock(root + "/lock2", "c"):
        r["ctxHeld2"] = a.Lock(root + "/lock2", "a").contenders()
    return r


def hold_lock(hosts, root):
    """Child process for lock-expire: holds the lock and waits to be killed."""
    c = client(hosts, timeout=2.0)
    c.Lock(root + "/lock", "doomed").acquire(timeout=5)
    sys.stdout.write("held %s\n" % c._session_timeout)
    sys.stdout.flush()
    time.sleep(60)
    raise AssertionError("hold-lock was not killed")


def lock_expire(hosts, root):
    """The holder is SIGKILLed: its session expires after its timeout and the lock passes on."""
    r = {}
    child = subprocess.Popen([sys.executable, os.path.abspath(__file__), hosts, "hold-lock", root],
                             stdout=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline().split()
        if not line or line[0] != "held":
            raise AssertionError("hold-lock child failed: %r" % line)
        r["holderTimeout"] = int(line[1])
        w = client(hosts)
        lw = w.Lock(root + "/lock", "waiter")
        got = []

        def waits():
            lw.acquire(timeout=20)
            got.append(time.monotonic())

        t = thread(waits)
        wait_until("waiter contending", lambda: len(lw.contenders()) == 2)
        r["contenders"] = lw.contenders()
        killed = time.monotonic()
        child.send_signal(signal.SIGKILL)
        child.wait(5)
        join(t, "waiter acquiring after the holder's session expired", 20)
        r["secondsToAcquire"] = got[0] - killed
        r["contendersEnd"] = lw.contenders()
        lw.release()
    finally:
        if child.poll() is None:
            child.kill()
    return r


# --- Semaphore and read/write lock ------------------------------------------

def semaphore(hosts, root):
    r = {}
    cs = [client(hosts) for _ in range(3)]
    sems = [c.Semaphore(root + "/sem", "s%d" % i, max_leases=2) for i, c in enumerate(cs)]
    r["first"] = sems[0].acquire(timeout=5)
    r["second"] = sems[1].acquire(timeout=5)
    r["thirdNonBlocking"] = sems[2].acquire(blocking=False)
    r["leaseHolders"] = sorted(sems[2].lease_holders())
    sems[0].release()
    r["thirdAfterRelease"] = sems[2].acquire(timeout=5)
    r["leaseHoldersEnd"] = sorted(sems[2].lease_holders())
    sems[1].release()
    sems[2].release()

    a, b = cs[0], cs[1]
    ra1, ra2 = a.ReadLock(root + "/rw", "r1"), b.ReadLock(root + "/rw", "r2")
    wl = cs[2].WriteLock(root + "/rw", "w")
    r["readersShare"] = [ra1.acquire(timeout=5), ra2.acquire(timeout=5)]
    r["writerWhileRead"] = wl.acquire(blocking=False)
    ra1.release()
    ra2.release()
    r["writerAfter"] = wl.acquire(timeout=5)
    r["readerWhileWritten"] = a.ReadLock(root + "/rw", "r3").acquire(blocking=False)
    wl.release()
    return r


# --- Election ---------------------------------------------------------------

def election(hosts, root):
    r = {}
    log = Log()
    state = {"leader": None, "overlap": False}
    guard = threading.Lock()
    quit_ = {n: threading.Event() for n in ("a", "b", "c")}
    clients = {n: client(hosts) for n in ("a", "b", "c")}
    elections = {n: clients[n].Election(root + "/election", n) for n in ("a", "b", "c")}

    def lead(name):
        with guard:
            if state["leader"] is not None:
                state["overlap"] = True
            state["leader"] = name
        log("lead " + name)
        quit_[name].wait(20)
        with guard:
            if state["leader"] == name:
                state["leader"] = None
        log("quit " + name)

    def candidate(name):
        try:
            elections[name].run(lead, name)
        except Exception as e:  # noqa: BLE001 - the session was closed under it
            log("run %s ended: %s" % (name, type(e).__name__))

    ta = thread(candidate, "a")
    wait_until("a leading", lambda: log.has("lead a"))
    tb = thread(candidate, "b")
    wait_until("b contending", lambda: len(elections["a"].contenders()) == 2)
    r["contenders"] = elections["a"].contenders()
    r["bLeadingWhileAHolds"] = log.has("lead b")
    quit_["a"].set()
    join(ta, "a's election run")
    wait_until("b leading", lambda: log.has("lead b"))

    # The leader's session closes while it leads: the next candidate takes over.
    tc = thread(candidate, "c")
    wait_until("c contending", lambda: len(elections["c"].contenders()) == 2)
    with guard:
        # From here on b is no longer leader as far as ZooKeeper is concerned,
        # although its leader function has not returned yet.
        state["leader"] = None
    log("b session closed")
    close(clients["b"])
    wait_until("c leading", lambda: log.has("lead c"))
    quit_["b"].set()
    join(tb, "b's election run")
    r["contendersEnd"] = elections["c"].contenders()
    quit_["c"].set()
    join(tc, "c's election run")
    r["log"] = [e for e in log.entries if not e.startswith("run ")]
    r["overlap"] = state["overlap"]
    return r


# --- Queues -----------------------------------------------------------------

def queue(hosts, root):
    r = {}
    a, b = client(hosts), client(hosts)
    qa, qb = a.Queue(root + "/q"), b.Queue(root + "/q")
    puts = [(qa, b"a1"), (qb, b"b1"), (qa, b"a2"), (qb, b"b2"), (qb, b"b3"), (qa, b"a3")]
    for q, v in puts:
        q.put(v)
    r["len"] = len(qa)
    got = []
    for i in range(len(puts)):
        got.append((qb if i % 2 else qa).get().decode())
    r["fifo"] = got
    r["emptyGet"] = qa.get()
    qa.put(b"low", priority=500)
    qb.put(b"high", priority=1)
    qa.put(b"mid")
    r["priority"] = [qb.get().decode(), qa.get().decode(), qb.get().decode()]
    r["lenEnd"] = len(qb)

    # LockingQueue: entries are locked, not removed, until consumed.
    la, lb = a.LockingQueue(root + "/lq"), b.LockingQueue(root + "/lq")
    la.put(b"e1")
    lb.put(b"e2")
    la.put_all([b"e3", b"e4"])
    lb.put(b"e5")
    r["lqLen"] = len(lb)
    r["lqB1"] = lb.get(timeout=5).decode()
    r["lqAWhileBHolds"] = la.get(timeout=5).decode()
    r["lqHolds"] = [la.holds_lock(), lb.holds_lock()]
    r["lqConsumeB"] = lb.consume()
    r["lqReleaseA"] = la.release()
    order = []
    for i in range(4):
        q = lb if i % 2 else la
        order.append(q.get(timeout=5).decode())
        q.consume()
    r["lqOrder"] = order
    r["lqLenEnd"] = len(la)

    # A consumer blocked on an empty queue is woken by another client's put.
    got = []
    t = thread(lambda: got.append(lb.get(timeout=10)))
    wait_until("consumer waiting on the entries", lambda: t.is_alive())
    la.put(b"late")
    join(t, "blocked LockingQueue.get")
    r["lqLate"] = None if got[0] is None else got[0].decode()
    lb.consume()
    return r


# --- Counter ----------------------------------------------------------------

def counter(hosts, root):
    r = {}
    a, b = client(hosts), client(hosts)
    ca, cb = a.Counter(root + "/counter"), b.Counter(root + "/counter")
    n = 60
    start = threading.Event()

    def incr(c):
        start.wait(5)
        for _ in range(n):
            c += 1

    ts = [thread(incr, ca), thread(incr, cb)]
    start.set()
    for t in ts:
        join(t, "increments", 30)
    r["value"] = [ca.value, cb.value]
    cb -= 5
    r["afterDecrement"] = ca.value
    r["version"] = a.get(root + "/counter")[1].version
    fa = a.Counter(root + "/fcounter", default=0.0)
    fa += 0.5
    fb = b.Counter(root + "/fcounter", default=0.0)
    fb += 1.25
    r["float"] = fa.value
    return r


# --- Barriers ---------------------------------------------------------------

def barrier(hosts, root):
    r = {}
    log = Log()
    a, b = client(hosts), client(hosts)
    ba, bb = a.Barrier(root + "/barrier"), b.Barrier(root + "/barrier")
    ba.create()
    r["waitTimesOut"] = bb.wait(timeout=0.3)
    waiters = []

    def waiter():
        waiters.append(bb.wait(timeout=10))
        log("passed")

    t = thread(waiter)
    wait_until("waiter watching the barrier", lambda: t.is_alive())
    log("removed")
    r["removed"] = ba.remove()
    join(t, "barrier waiter")
    r["passed"] = waiters
    r["order"] = list(log.entries)
    r["waitWhenAbsent"] = bb.wait(timeout=0.1)
    r["removeAgain"] = ba.remove()

    # DoubleBarrier: three clients; nobody gets past enter() until all three
    # arrived, nobody past leave() until all three left.
    dlog = Log()
    cs = [a, b, client(hosts)]
    dbs = [c.DoubleBarrier(root + "/double", 3, "p%d" % i) for i, c in enumerate(cs)]
    gates = [threading.Event() for _ in cs]

    def participant(i):
        dlog("entering %d" % i)
        dbs[i].enter()
        dlog("entered %d" % i if dbs[i].participating else "enter failed %d" % i)
        gates[i].wait(10)
        dlog("leaving %d" % i)
        dbs[i].leave()
        dlog("left %d" % i)

    ts = [thread(participant, 0), thread(participant, 1)]
    wait_until("two participants waiting",
               lambda: a.exists(root + "/double") and len(a.get_children(root + "/double")) == 2)
    r["enteredBeforeThird"] = [e for e in dlog.entries if e.startswith("entered")]
    ts.append(thread(participant, 2))
    wait_until("all entered", lambda: sum(e.startswith("entered") for e in dlog.entries) == 3)
    # Two leave; the third is still inside, so neither may get out yet.
    gates[0].set()
    gates[1].set()
    wait_until("one of the two leaving has removed its node",
               lambda: dlog.has("leaving 0") and dlog.has("leaving 1")
               and len([c for c in a.get_children(root + "/double") if c != "ready"]) < 3)
    r["leftBeforeThird"] = [e for e in dlog.entries if e.startswith("left")]
    gates[2].set()
    for t in ts:
        join(t, "double barrier participant")
    r["doubleLog"] = list(dlog.entries)
    r["doubleGone"] = a.exists(root + "/double") is None or a.get_children(root + "/double") == []
    return r


# --- Party ------------------------------------------------------------------

def party(hosts, root):
    r = {}
    a, b, c = client(hosts), client(hosts), client(hosts)
    for kind in ("Party", "ShallowParty"):
        path = root + "/" + kind.lower()
        pa = getattr(a, kind)(path, "alpha")
        pb = getattr(b, kind)(path, "beta")
        pc = getattr(c, kind)(path, "gamma")
        watcher = getattr(a, kind)(path)
        seen = {"empty": len(watcher)}
        pa.join()
        pb.join()
        seen["two"] = [len(watcher), sorted(watcher)]
        pc.join()
        seen["three"] = [len(pb), sorted(pc)]
        pb.leave()
        seen["afterLeave"] = [len(pa), sorted(pa)]
        pb.join()
        seen["rejoined"] = len(pa)
        r[kind] = seen
    # Closing a member's session removes it from both parties.
    close(c)
    r["afterClose"] = {
        "Party": [len(a.Party(root + "/party")), sorted(a.Party(root + "/party"))],
        "ShallowParty": [len(a.ShallowParty(root + "/shallowparty")), sorted(a.ShallowParty(root + "/shallowparty"))],
    }
    return r


# --- TreeCache --------------------------------------------------------------

def treecache(hosts, root):
    """A TreeCache mirrors a subtree from one client while another changes it."""
    from kazoo.recipe.cache import TreeCache, TreeEvent

    r = {}
    a, b = client(hosts), client(hosts)
    b.create(root + "/tc/x/y", b"y0", makepath=True)
    b.create(root + "/tc/z", b"z0")
    log = Log()
    names = {TreeEvent.NODE_ADDED: "added", TreeEvent.NODE_UPDATED: "updated",
             TreeEvent.NODE_REMOVED: "removed", TreeEvent.INITIALIZED: "initialized"}

    def listener(event):
        if event.event_type in names:
            data = event.event_data
            log("%s %s" % (names[event.event_type], "" if data is None else data.path))

    cache = TreeCache(a, root + "/tc")
    cache.listen(listener)
    cache.start()
    wait_until("cache initialized", lambda: log.has("initialized "))
    r["initial"] = sorted(e for e in log.entries if e.startswith("added"))

    b.set(root + "/tc/x/y", b"y1")
    wait_until("update seen", lambda: log.has("updated %s/tc/x/y" % root))
    b.create(root + "/tc/x/w", b"w0", ephemeral=True)
    wait_until("add seen", lambda: log.has("added %s/tc/x/w" % root))
    b.delete(root + "/tc/z")
    wait_until("remove seen", lambda: log.has("removed %s/tc/z" % root))
    r["dataY"] = cache.get_data(root + "/tc/x/y").data.decode()
    r["childrenX"] = sorted(cache.get_children(root + "/tc/x"))
    # The ephemeral goes with b's session; the cache follows.
    close(b)
    wait_until("ephemeral removal seen", lambda: log.has("removed %s/tc/x/w" % root))
    r["childrenXAfterClose"] = sorted(cache.get_children(root + "/tc/x"))
    r["childrenRoot"] = sorted(cache.get_children(root + "/tc"))
    r["events"] = [e for e in log.entries if not e.startswith(("added", "initialized"))]
    cache.close()
    return r


RECIPES = {
    "lock": lock, "hold-lock": hold_lock, "lock-expire": lock_expire, "semaphore": semaphore,
    "election": election, "treecache": treecache, "queue": queue, "counter": counter, "barrier": barrier, "party": party,
}


def main(hosts, recipe, root):
    return RECIPES[recipe](hosts, root)


run(main)
