"""kazoo over TLS with a client certificate, for x509 ACLs.

Usage: kz_x509.py <hosts> <ca> <cert> <key> <path> create|read
create: makes <path> readable by this certificate's subject only (the
`auth` scheme expands to the session's x509 id) and returns its ACL;
read: returns the data or the error's class name.
"""
from kazoo.exceptions import KazooException
from kazoo.security import make_acl

from kz_common import client, run


def main(hosts, ca, cert, key, path, mode):
    c = client(hosts, use_ssl=True, ca=ca, verify_certs=True, certfile=cert, keyfile=key)
    if mode == "create":
        c.create(path, b"for alice", acl=[make_acl("auth", "", all=True)])
        acl, _ = c.get_acls(path)
        return {"acl": [[a.id.scheme, a.id.id, a.perms] for a in acl]}
    try:
        data, _ = c.get(path)
        return {"data": data.decode()}
    except KazooException as e:
        return {"error": type(e).__name__}


run(main)
