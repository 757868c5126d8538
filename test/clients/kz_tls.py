"""kazoo over TLS: use_ssl with the CA file, and a client certificate when given.

Usage: kz_tls.py <hosts> <ca> <path> [<cert> <key>]
Creates <path>, reads it back, and returns its data and the node's ACL.
"""
from kz_common import client, run


def main(hosts, ca, path, cert=None, key=None):
    c = client(hosts, use_ssl=True, ca=ca, verify_certs=True, certfile=cert, keyfile=key)
    c.create(path, b"over tls")
    data, _ = c.get(path)
    return {"data": data.decode()}


run(main)
