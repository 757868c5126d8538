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
}

export const DEFAULT_MAX_DATA_BYTES = 1024 * 1024;
