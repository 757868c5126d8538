"""kazoo over TLS with a client certificate, for x509 ACLs.

Usage: kz_x509.py <hosts> <ca> <cert> <key> <path> create|read
create: makes <path> readable by this certificate's subject only (the
`auth` scheme expands to the session's x509 id) and returns its ACL;
read: returns the data or the error's class name.
"""
from kazoo.security import make_acl

from kz_common import client, private_node, run


def main(hosts, ca, cert, key, path, mode):
    c = client(hosts, use_ssl=True, ca=ca, verify_certs=True, certfile=cert, keyfile=key)
    return private_node(c, path, b"for alice", [make_acl("auth", "", all=True)], mode)


run(main)
