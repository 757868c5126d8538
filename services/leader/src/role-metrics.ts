/**
 * What the roles report for metrics, per batch and never per request. The
 * member process passes an implementation (MemberMetrics in @zooid/inspect);
 * a role without one reports nothing.
 */
export interface RoleMetrics {
  /** One fdatasync of `records` transactions took `ms`. */
  fsync(ms: number, records: number): void;
  /** The leader broadcast `n` new proposals. */
  proposed(n: number): void;
  /** `n` proposals committed, the oldest of them `ms` after it was broadcast. */
  committed(ms: number, n: number): void;
}

/** The gauges a member's metrics read when scraped, from its store and current role. */
export function memberGauges(
  store: { tree: { nodeCount: number; ephemeralCount: number; approximateDataSize: number; sessions: { size: number }; lastZxid: number }; epochs: { readCurrent(): number } },
  role: { admin(ask: { command: 'mntr' }): Record<string, unknown> } | undefined,
  state: string,
  quorumSize: number,
) {
  const i = role?.admin({ command: 'mntr' });
  const t = store.tree;
  return {
    serverState: state,
    znodeCount: t.nodeCount,
    watchCount: Number(i?.watchCount ?? 0),
    ephemeralsCount: t.ephemeralCount,
    approximateDataSize: t.approximateDataSize,
    globalSessions: t.sessions.size,
    outstanding: Number(i?.outstandingRequests ?? 0),
    lastZxid: t.lastZxid,
    epoch: store.epochs.readCurrent(),
    quorumSize,
  };
}
