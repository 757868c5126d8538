/**
 * ZooKeeper's quota bookkeeping (Quotas, StatsTrack, the DataTree's pTrie).
 *
 * A client sets a quota on /p by creating /zookeeper/quota/p/zookeeper_limits
 * and then /zookeeper/quota/p/zookeeper_stats. The server keeps the stats
 * node's data ("count=N,bytes=M": nodes and data bytes in the subtree of /p)
 * current on every create, delete and setData under /p, without touching the
 * stats node's Stat or firing watches. Quotas are soft, as ZooKeeper's are by
 * default: exceeding one only shows in the stats.
 */
import { QUOTA } from './paths.js';

export const LIMIT_NODE = 'zookeeper_limits';
export const STAT_NODE = 'zookeeper_stats';

/** The quota path a node under /zookeeper/quota belongs to: Quotas.trimQuotaPath. */
export function trimQuotaPath(quotaPath: string): string {
  return quotaPath.slice(QUOTA.length);
}

export function statPath(path: string): string {
  return `${QUOTA}${path}/${STAT_NODE}`;
}

/** The longest path in `quotas` that is `path` or one of its ancestors, ignoring "/" and "" like getMaxPrefixWithQuota. */
export function maxQuotaPrefix(quotas: ReadonlySet<string>, path: string): string | null {
  if (quotas.size === 0) return null;
  let p = path;
  while (p.length > 1) {
    if (quotas.has(p)) return p;
    p = p.slice(0, p.lastIndexOf('/'));
  }
  return null;
}

/**
 * StatsTrack: "count=N,bytes=M", then any other keys as ";k=v" sorted, with
 * ZooKeeper's exact punctuation ("bytes=M=" before the extras).
 */
export class StatsTrack {
  private readonly stats = new Map<string, number>();

  constructor(text = '') {
    if (text.length === 0) return;
    for (const pair of text.split(',')) {
      const [k = '', v = ''] = pair.split('=');
      const n = Number.parseInt(v, 10);
      // ZooKeeper would throw on a non-number; a garbled stats node counts from zero here.
      this.stats.set(k, Number.isFinite(n) ? n : 0);
    }
  }

  get count(): number {
    return this.stats.get('count') ?? -1;
  }
  set count(n: number) {
    this.stats.set('count', n);
  }
  get bytes(): number {
    return this.stats.get('bytes') ?? -1;
  }
  set bytes(n: number) {
    this.stats.set('bytes', n);
  }

  toString(): string {
    let buf = '';
    const keys = [...this.stats.keys()].filter((k) => k !== 'count' && k !== 'bytes').sort();
    if (this.stats.has('count')) buf += `count=${this.count},`;
    if (this.stats.has('bytes')) buf += `bytes=${this.bytes}=`;
    if (keys.length > 0) {
      buf += ';';
      for (const k of keys) buf += `${k}=${this.stats.get(k)};`;
    }
    return buf.slice(0, -1);
  }
}
