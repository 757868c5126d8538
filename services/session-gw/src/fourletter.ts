import { hostname, platform, arch, release } from 'node:os';
import type { AdminAsk, Presence } from '@zooid/protocol';
import type { Gateway } from './gateway.js';

/** The version string clients see; ZooKeeper tooling parses the leading number. */
export const ZOOID_VERSION = '3.8.0-zooid-0.1.0';

export const FOUR_LETTER_WORDS = new Set([
  'ruok', 'stat', 'srvr', 'conf', 'cons', 'crst', 'dump', 'envi',
  'mntr', 'reqs', 'srst', 'wchs', 'wchc', 'wchp', 'dirs', 'isro',
]);

export interface FourLetterContext {
  gateway: Gateway;
  learners: Presence[];
  ask: (learner: string, command: AdminAsk['command']) => Promise<unknown>;
}

type Info = Record<string, unknown> & {
  serverState: string;
  zxid: number;
  nodeCount: number;
  watchCount: number;
  ephemeralsCount: number;
  approximateDataSize: number;
  outstandingRequests: number;
};

const hex = (n: number | bigint) => '0x' + n.toString(16);

/** The text ZooKeeper answers a four-letter word with, from the gateway's and a member's view. */
export async function fourLetterReply(word: string, whitelist: Set<string> | '*', ctx: FourLetterContext): Promise<string> {
  if (whitelist !== '*' && !whitelist.has(word)) return `${word} is not executed because it is not in the whitelist.\n`;
  const gw = ctx.gateway;
  const learner = ctx.learners.find((l) => l.role === 'leading') ?? ctx.learners[0];
  const info = async (command: AdminAsk['command']) => {
    if (!learner) throw new Error('no member reachable');
    return (await ctx.ask(learner.id, command)) as Info;
  };
  switch (word) {
    case 'ruok':
      return 'imok';
    case 'isro':
      return 'rw';
    case 'crst':
      for (const c of gw.connections) {
        c.received = 0;
        c.sent = 0;
      }
      return 'Connection stats reset.\n';
    case 'srst':
      gw.stats.received = 0;
      gw.stats.sent = 0;
      return 'Server stats reset.\n';
    case 'reqs':
      return '';
    case 'cons':
      return consLines(gw) + '\n';
    case 'envi':
      return [
        'Environment:',
        `zookeeper.version=${ZOOID_VERSION}`,
        `host.name=${hostname()}`,
        `node.version=${process.version}`,
        `os.name=${platform()}`,
        `os.arch=${arch()}`,
        `os.version=${release()}`,
        `user.dir=${process.cwd()}`,
        '',
      ].join('\n');
    case 'srvr':
    case 'stat': {
      const i = await info('stat');
      const lines = [`Zookeeper version: ${ZOOID_VERSION}, built on zooid`];
      if (word === 'stat') lines.push('Clients:', consLines(gw), '');
      lines.push(
        'Latency min/avg/max: 0/0.0/0',
        `Received: ${gw.stats.received}`,
        `Sent: ${gw.stats.sent}`,
        `Connections: ${[...gw.connections].length}`,
        `Outstanding: ${i.outstandingRequests}`,
        `Zxid: ${hex(i.zxid)}`,
        `Mode: ${i.serverState}`,
        `Node count: ${i.nodeCount}`,
        '',
      );
      return lines.join('\n');
    }
    case 'mntr': {
      const i = await info('mntr');
      const rows: [string, string | number][] = [
        ['zk_version', ZOOID_VERSION],
        ['zk_server_state', i.serverState],
        ['zk_avg_latency', 0],
        ['zk_max_latency', 0],
        ['zk_min_latency', 0],
        ['zk_packets_received', gw.stats.received],
        ['zk_packets_sent', gw.stats.sent],
        ['zk_num_alive_connections', [...gw.connections].length],
        ['zk_outstanding_requests', i.outstandingRequests],
        ['zk_znode_count', i.nodeCount],
        ['zk_watch_count', i.watchCount],
        ['zk_ephemerals_count', i.ephemeralsCount],
        ['zk_approximate_data_size', i.approximateDataSize],
        ['zk_open_file_descriptor_count', 0],
        ['zk_global_sessions', Number(i.sessions ?? 0)],
        ['zk_last_zxid', hex(i.zxid)],
      ];
      return rows.map(([k, v]) => `${k}\t${v}`).join('\n') + '\n';
    }
    case 'conf': {
      const i = await info('conf');
      const conf = { clientPort: gw.port, ...(i.conf as Record<string, unknown>) };
      return Object.entries(conf).map(([k, v]) => `${k}=${v}`).join('\n') + '\n';
    }
    case 'dump': {
      const i = await info('dump');
      const withEph = (i.sessionEphemerals as { session: string; paths: string[] }[]).filter((s) => s.paths.length > 0);
      const lines = ['SessionTracker dump:', `Global Sessions(${i.sessions}):`, 'ephemeral nodes dump:', `Sessions with Ephemerals (${withEph.length}):`];
      for (const s of withEph) {
        lines.push(`${s.session}:`);
        for (const p of s.paths) lines.push(`\t${p}`);
      }
      return lines.join('\n') + '\n';
    }
    case 'wchs': {
      const i = await info('wchs');
      const w = i.watchSummary as { connections: number; paths: number; watches: number };
      return `${w.connections} connections watching ${w.paths} paths\nTotal watches:${w.watches}\n`;
    }
    case 'wchc': {
      const i = await info('wchc');
      return (i.bySession as { session: string; paths: string[] }[])
        .map((w) => `${w.session}\n${w.paths.map((p) => `\t${p}`).join('\n')}`)
        .join('\n') + '\n';
    }
    case 'wchp': {
      const i = await info('wchp');
      return (i.byPath as { path: string; sessions: string[] }[])
        .map((w) => `${w.path}\n${w.sessions.map((s) => `\t${s}`).join('\n')}`)
        .join('\n') + '\n';
    }
    case 'dirs': {
      const i = await info('dirs');
      return `datadir_size: ${i.dataDirSize}\nlogdir_size: ${i.logDirSize}\n`;
    }
  }
  return '';
}

function consLines(gw: Gateway): string {
  const lines: string[] = [];
  for (const c of gw.connections) {
    const fields = [`queued=0`, `recved=${c.received}`, `sent=${c.sent}`];
    if (c.established) fields.push(`sid=${hex(c.sessionId)}`, `lzxid=${hex(c.lastZxid)}`, `est=${c.connectedAt}`);
    lines.push(` /${c.remote}[${c.established ? 1 : 0}](${fields.join(',')})`);
  }
  return lines.join('\n');
}
