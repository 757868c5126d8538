import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { AdminAsk } from '@zooid/protocol';
import type { DataTree } from '@zooid/tree';
import type { Replica } from '@zooid/replica';
import type { MemberOptions } from './member.js';
import type { SessionTracker } from './sessions.js';
import type { WritePipeline } from './pipeline.js';

interface MemberState {
  opts: MemberOptions;
  tree: DataTree;
  replica: Replica;
  tracker: SessionTracker;
  pipeline: WritePipeline;
  epoch: number;
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
export function adminInfo(ask: AdminAsk, m: MemberState): Record<string, unknown> {
  const { tree, replica, opts } = m;
  const base = {
    serverState: 'standalone',
    zxid: tree.lastZxid,
    epoch: m.epoch,
    nodeCount: tree.nodeCount,
    watchCount: replica.watches.count,
    ephemeralsCount: tree.ephemeralCount,
    approximateDataSize: tree.approximateDataSize,
    sessions: m.tracker.size,
    outstandingRequests: 0,
    packetsReceived: replica.packetsReceived,
    packetsSent: replica.packetsSent,
    committed: m.pipeline.committedCount,
    lastBatchSize: m.pipeline.lastBatchSize,
  };
  switch (ask.command) {
    case 'dump':
      return {
        ...base,
        sessionEphemerals: [...tree.sessions.keys()].map((id) => ({ session: sid(id), paths: tree.getEphemerals(id, '/') })),
      };
    case 'wchs':
      return { ...base, watchSummary: replica.watches.summary() };
    case 'wchc':
      return { ...base, bySession: replica.watches.bySession().map((w) => ({ session: sid(w.sessionId), paths: w.paths })) };
    case 'wchp':
      return { ...base, byPath: replica.watches.byPath().map((w) => ({ path: w.path, sessions: w.sessionIds.map(sid) })) };
    case 'dirs':
      return { ...base, dataDirSize: dirSize(`${opts.dataDir}/snapshots`), logDirSize: dirSize(`${opts.dataDir}/log`) };
    case 'conf':
      return {
        ...base,
        conf: {
          dataDir: opts.dataDir,
          tickTime: opts.tickTime,
          minSessionTimeout: opts.minSessionTimeout,
          maxSessionTimeout: opts.maxSessionTimeout,
          snapCount: opts.snapCount,
          'autopurge.snapRetainCount': opts.snapRetain,
          'jute.maxbuffer': opts.maxBuffer,
          serverId: opts.id,
        },
      };
    default:
      return base;
  }
}
