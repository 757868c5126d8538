import { isQuorum } from './quorum.js';

/** A member's committed configuration as it announces it: its version and its voters. */
export interface AnnouncedConfig {
  version: number;
  voters: readonly string[];
}

/**
 * The configuration a member joining without --ensemble starts from, given
 * the latest each member announced (by sender id): the newest that a quorum
 * of its own voters announce. None while no configuration has that: too few
 * voters heard yet, or voters that disagree at the same version (members
 * started with different static --ensemble lists), where no choice is safe.
 */
export function quorumConfig(heard: ReadonlyMap<string, AnnouncedConfig>): AnnouncedConfig | undefined {
  const backers = new Map<string, { config: AnnouncedConfig; n: number }>();
  for (const [id, c] of heard) {
    if (c.voters.length === 0) continue;
    const key = `${c.version}:${[...c.voters].sort().join(',')}`;
    const b = backers.get(key) ?? { config: c, n: 0 };
    // Only its own voters vouch for a configuration: a non-voter knows no more than the joiner.
    if (c.voters.includes(id)) b.n++;
    backers.set(key, b);
  }
  const agreed = [...backers.values()].filter((b) => isQuorum(b.n, b.config.voters.length)).map((b) => b.config);
  const newest = Math.max(...agreed.map((c) => c.version));
  const candidates = agreed.filter((c) => c.version === newest);
  return candidates.length === 1 ? candidates[0] : undefined;
}
