"""kazoo authenticating with SASL DIGEST-MD5 (its sasl_options), for sasl ACLs.

Usage: kz_sasl.py <hosts> <user> <password> <path> refused|create|read
refused: waits for kazoo to enter AUTH_FAILED (it reports CONNECTED first,
as it authenticates after the ConnectResponse, and leaves AUTH_FAILED for
CLOSED at once, so the states it passes through are recorded), failing if
it never does;
create: makes <path> readable by sasl:<user> only and returns its ACL;
read: returns the data or the error's class name.
"""
from kazoo.client import KazooClient
from kazoo.protocol.states import KeeperState
from kazoo.security import make_acl

from kz_common import client, private_node, run, wait_until


def main(hosts, user, password, path, mode):
    sasl = {"mechanism": "DIGEST-MD5", "username": user, "password": password}
    if mode == "refused":
        c = KazooClient(hosts=hosts, timeout=10.0, sasl_options=sasl)
        states = []
        session_callback = c._session_callback

        def record(state):
            states.append(state)
            session_callback(state)
        c._session_callback = record
        c.start_async()
        state = wait_until("AUTH_FAILED", lambda: "auth_failed" if KeeperState.AUTH_FAILED in states else None, timeout=20.0)
        c.stop()
        c.close()
        return {"state": state}
    c = client(hosts, sasl_options=sasl)
    return private_node(c, path, ("for " + user).encode(), [make_acl("sasl", user, all=True)], mode)


run(main)
