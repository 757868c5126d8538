import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Perms, type AdminAsk } from '@zooid/protocol';
import { checkACL, maskDigests, toStat, type DataTree } from '@zooid/tree';
import type { Replica } from '@zooid/replica';
import type { RoleOptions } from './leader-role.js';

export interface AdminView {
  /** The role's configuration: `conf` and `dirs` report it. */
  opts: RoleOptions;
  serverState: string;
  tree: DataTree;
  replica: Replica | undefined;
  /** Sessions the leader tracks (0 on a learner: it does not know). */
  sessions: number;
  outstanding: number;
  epoch: number;
}

const sid = (id: bigint | number) => '0x' + id.toString(16);

function dirSize(dir: string): number {
  try {
    return readdirSync(dir).reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
  } catch {
    return 0;
  }
}

/** `conf`: the settings ZooKeeper's four-letter word shows, as this member has them. */
function conf(o: RoleOptions): Record<string, unknown> {
  return {
    dataDir: o.dataDir,
    tickTime: o.tickTime,
    minSessionTimeout: o.minSessionTimeout,
    maxSessionTimeout: o.maxSessionTimeout,
    initLimit: o.initLimit,
    syncLimit: o.syncLimit,
    serverId: o.id,
    voters: o.voters.join(','),
  };
}

/** What a member reports for a four-letter word; the gateway formats it. */
export function adminInfo(ask: AdminAsk, m: AdminView): Record<string, unknown> {
  const { tree, replica } = m;
  const base = {
    serverState: m.serverState,
    zxid: tree.lastZxid,
    /** Equal trees have equal digests: replicas can be compared at quiescence. */
    digest: tree.digest(),
    epoch: m.epoch,
    nodeCount: tree.nodeCount,
    watchCount: replica?.watches.count ?? 0,
    ephemeralsCount: tree.ephemeralCount,
    approximateDataSize: tree.approximateDataSize,
    sessions: m.sessions || tree.sessions.size,
    outstandingRequests: m.outstanding,
    packetsReceived: replica?.packetsReceived ?? 0,
    packetsSent: replica?.packetsSent ?? 0,
  };
  switch (ask.command) {
    case 'dump':
      return {
        ...base,
        sessionEphemerals: [...tree.sessions.keys()].map((id) => ({ session: sid(id), paths: tree.getEphemerals(id, '/') })),
      };
    case 'wchs':
      return { ...base, watchSummary: replica?.watches.summary() ?? { connections: 0, paths: 0, watches: 0 } };
    case 'wchc':
      return { ...base, bySession: (replica?.watches.bySession() ?? []).map((w) => ({ session: sid(w.sessionId), paths: w.paths })) };
    case 'wchp':
      return { ...base, byPath: (replica?.watches.byPath() ?? []).map((w) => ({ path: w.path, sessions: w.sessionIds.map(sid) })) };
    case 'dirs':
      return { ...base, dataDirSize: dirSize(join(m.opts.dataDir, 'snapshots')), logDirSize: dirSize(join(m.opts.dataDir, 'log')) };
    case 'conf':
      return { ...base, conf: conf(m.opts) };
    default:
      return base;
  }
}

/** Children listed by the `tree` ask; the count is always exact. */
const CHILDREN_LISTED = 1000;

/**
 * One znode for the inspector's tree view (the `tree` admin ask): Stat,
 * data (base64, and as text when it is UTF-8) and the first children.
 */
export function nodeInfo(tree: DataTree, path: string): Record<string, unknown> {
  const n = tree.getNode(path);
  if (!n) return { path, error: 'no node' };
  const st = toStat(n);
  const stat = { ...st, czxid: sid(st.czxid), mzxid: sid(st.mzxid), pzxid: sid(st.pzxid), ephemeralOwner: sid(st.ephemeralOwner) };
  // The admin page presents no credentials: it reads as world:anyone would, and digest hashes never leave.
  const meta = { path, stat, kind: n.kind, acl: maskDigests(n.acl) };
  if (!checkACL(n.acl, Perms.READ, [], {})) return { ...meta, error: 'not readable by world:anyone' };
  const data = n.data ?? Buffer.alloc(0);
  const text = data.toString('utf8');
  const children = n.childNames().sort();
  const listed = children.slice(0, CHILDREN_LISTED);
  return {
    ...meta,
    data: data.toString('base64'),
    text: Buffer.from(text, 'utf8').equals(data) ? text : null,
    children: listed,
    /** How many children each listed child has (0: a leaf). */
    childCounts: listed.map((c) => tree.getNode(path === '/' ? `/${c}` : `${path}/${c}`)?.numChildren ?? 0),
    numChildren: children.length,
  };
}
