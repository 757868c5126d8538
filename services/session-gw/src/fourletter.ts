import * as g from './admin/gather.js';
import type { AdminContext, ConnectionInfo } from './admin/gather.js';

export { ZOOID_VERSION } from './admin/gather.js';

export const FOUR_LETTER_WORDS = new Set([
  'ruok', 'stat', 'srvr', 'conf', 'cons', 'crst', 'dump', 'envi',
  'mntr', 'reqs', 'srst', 'wchs', 'wchc', 'wchp', 'dirs', 'isro',
]);

/** What a four-letter word can see: the gateway, the serving learners, and a way to ask them. */
export type FourLetterContext = AdminContext;

/**
 * The text ZooKeeper answers a four-letter word with. The data comes from
 * admin/gather.ts, the same source as the AdminServer's JSON commands; this
 * only formats it.
 */
export async function fourLetterReply(word: string, whitelist: Set<string> | '*', ctx: FourLetterContext): Promise<string> {
  if (whitelist !== '*' && !whitelist.has(word)) return `${word} is not executed because it is not in the whitelist.\n`;
  const gw = ctx.gateway;
  switch (word) {
    case 'ruok':
      return 'imok';
    case 'isro':
      return 'rw';
    case 'crst':
      g.resetConnectionStats(gw);
      return 'Connection stats reset.\n';
    case 'srst':
      g.resetServerStats(gw);
      return 'Server stats reset.\n';
    case 'reqs':
      return '';
    case 'cons':
      return consLines(g.connections(gw, false)) + '\n';
    case 'envi':
      return ['Environment:', ...g.environment().map(([k, v]) => `${k}=${v}`), ''].join('\n');
    case 'srvr':
    case 'stat': {
      const s = await g.serverStats(ctx);
      const st = s.server_stats;
      const lines = [`Zookeeper version: ${s.version}, built on zooid`];
      if (word === 'stat') lines.push('Clients:', consLines(g.connections(gw, true)), '');
      lines.push(
        `Latency min/avg/max: ${st.min_latency}/${st.avg_latency}/${st.max_latency}`,
        `Received: ${st.packets_received}`,
        `Sent: ${st.packets_sent}`,
        `Connections: ${st.num_alive_client_connections}`,
        `Outstanding: ${st.outstanding_requests}`,
        `Zxid: ${g.hex(Number(st.last_processed_zxid))}`,
        `Mode: ${st.server_state}`,
        `Node count: ${s.node_count}`,
        '',
      );
      return lines.join('\n');
    }
    case 'mntr':
      return (await g.monitor(ctx)).map(([k, v]) => `zk_${k}\t${v}`).join('\n') + '\n';
    case 'conf':
      return Object.entries(await g.configuration(ctx)).map(([k, v]) => `${k}=${v}`).join('\n') + '\n';
    case 'dump': {
      const d = await g.dump(ctx);
      const lines = ['SessionTracker dump:', `Global Sessions(${d.sessions}):`, 'ephemeral nodes dump:', `Sessions with Ephemerals (${d.ephemerals.length}):`];
      for (const s of d.ephemerals) {
        lines.push(`${s.session}:`);
        for (const p of s.paths) lines.push(`\t${p}`);
      }
      return lines.join('\n') + '\n';
    }
    case 'wchs': {
      const w = await g.watchSummary(ctx);
      return `${w.connections} connections watching ${w.paths} paths\nTotal watches:${w.watches}\n`;
    }
    case 'wchc':
      return (await g.watchesBySession(ctx)).map((w) => `${w.session}\n${w.paths.map((p) => `\t${p}`).join('\n')}`).join('\n') + '\n';
    case 'wchp':
      return (await g.watchesByPath(ctx)).map((w) => `${w.path}\n${w.sessions.map((s) => `\t${s}`).join('\n')}`).join('\n') + '\n';
    case 'dirs': {
      const d = await g.dirs(ctx);
      return `datadir_size: ${d.datadir_size}\nlogdir_size: ${d.logdir_size}\n`;
    }
  }
  return '';
}

/** `cons`/`stat` lines, as ServerCnxn.dumpConnectionInfo prints them. */
function consLines(conns: ConnectionInfo[]): string {
  return conns
    .map((c) => {
      const fields = [`queued=${c.outstanding_requests}`, `recved=${c.packets_received}`, `sent=${c.packets_sent}`];
      if (c.session_id) {
        fields.push(`sid=${c.session_id}`, `est=${Date.parse(c.established!)}`, `to=${c.session_timeout}`, `lzxid=${c.last_zxid}`);
        fields.push(`llat=${c.last_latency}`, `minlat=${c.min_latency}`, `avglat=${c.avg_latency}`, `maxlat=${c.max_latency}`);
      }
      return ` /${c.remote_socket_address}[${c.interest_ops}](${fields.join(',')})`;
    })
    .join('\n');
}
