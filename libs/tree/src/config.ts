export interface TreeConfig {
  /**
   * 'super:base64(sha1(super:password))', as ZooKeeper's
   * zookeeper.DigestAuthenticationProvider.superDigest: a session that added
   * digest auth matching it bypasses every ACL.
   */
  superDigest?: string;
  /**
   * Largest znode data accepted by create and setData (default 1 MiB, the
   * jute.maxbuffer order of size). ZooKeeper never sees larger data: its
   * frame limit closes the connection first. The gateway enforces that limit;
   * this check backs it up with BADARGUMENTS so nothing larger is ever logged.
   */
  maxDataBytes?: number;
  /**
   * TTL nodes (zookeeper.extendedTypesEnabled). ZooKeeper defaults this to
   * off and answers createTTL with UNIMPLEMENTED; Zooid defaults it on. Session
   * ids must then keep their top byte below 0xff, as ZooKeeper requires.
   */
  extendedTypesEnabled?: boolean;
  /**
   * SASL DIGEST-MD5 users, name → password, from a JAAS `Server` section's
   * `user_NAME="password"` entries. Without it a `sasl` packet fails AUTHFAILED.
   */
  saslUsers?: ReadonlyMap<string, string>;
  /** zookeeper.superUser: the `sasl` id that bypasses every ACL. */
  saslSuperUser?: string;
  /**
   * enforce.auth.schemes (with enforce.auth.enabled): until a session holds
   * an id of one of these schemes, any request but auth and sasl is answered
   * SESSIONCLOSEDREQUIRESASLAUTH and its connection closed.
   */
  enforceAuthSchemes?: readonly string[];
}

export const DEFAULT_MAX_DATA_BYTES = 1024 * 1024;
