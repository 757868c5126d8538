import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { AdminAsk } from '@zooid/protocol';
import type { DataTree } from '@zooid/tree';
import type { Replica } from '@zooid/replica';

export interface AdminView {
  dataDir: string;
  serverState: string;
  tree: DataTree;
  replica: Replica | undefined;
  /** Sessions the leader tracks (0 on a learner: it does not know). */
  sessions: number;
  outstanding: number;
  epoch: number;
  conf: Record<string, unknown>;
}

const sid = (id: bigint) => '0x' + id.toString(16);

function dirSize(dir: string): number {
  try {
    return readdirSync(dir).reduce((sum, f) => sum + statSync(join(dir, f)).size, 0);
  } catch {
    return 0;
  }
}

/** What a member reports for a four-letter word; the gateway formats it. */
export function adminInfo(ask: AdminAsk, m: AdminView): Record<string, unknown> {
  const { tree, replica } = m;
  const base = {
    serverState: m.serverState,
    zxid: tree.lastZxid,
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
      return { ...base, dataDirSize: dirSize(join(m.dataDir, 'snapshots')), logDirSize: dirSize(join(m.dataDir, 'log')) };
    case 'conf':
      return { ...base, conf: { dataDir: m.dataDir, ...m.conf } };
    default:
      return base;
  }
}
