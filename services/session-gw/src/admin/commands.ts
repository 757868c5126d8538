/**
 * ZooKeeper's AdminServer commands (Commands.java), answered from the same
 * data as the four-letter words (gather.ts). Every answer is an object with
 * `command` (the primary name) and `error` (null, or what went wrong), then
 * the command's own fields, spelled as ZooKeeper spells them. Zxids and
 * session ids are hex strings: JSON numbers cannot hold 64 bits.
 */
import * as g from './gather.js';
import type { AdminContext } from './gather.js';

export interface AdminCommand {
  /** Primary name first, then aliases (the four-letter word among them). */
  names: string[];
  doc: string;
  run(ctx: AdminContext): Promise<Record<string, unknown>> | Record<string, unknown>;
}

export const ADMIN_COMMANDS: AdminCommand[] = [
  {
    names: ['configuration', 'conf', 'config'],
    doc: 'Server configuration parameters',
    run: async (ctx) => Object.fromEntries(Object.entries(await g.configuration(ctx)).map(([k, v]) => [g.snake(k), v])),
  },
  {
    names: ['connection_stat_reset', 'crst'],
    doc: 'Reset all connection statistics',
    run: (ctx) => (g.resetConnectionStats(ctx.gateway), {}),
  },
  {
    names: ['connections', 'cons'],
    doc: 'Information on client connections to this gateway',
    run: (ctx) => ({ connections: g.connections(ctx.gateway, false), secure_connections: [] }),
  },
  {
    names: ['dirs'],
    doc: 'Size of the data and log directories in bytes',
    run: (ctx) => g.dirs(ctx),
  },
  {
    names: ['dump'],
    doc: 'Sessions and their ephemeral znodes',
    run: async (ctx) => {
      const d = await g.dump(ctx);
      return { expiry_time_to_session_ids: {}, session_id_to_ephemeral_paths: Object.fromEntries(d.ephemerals.map((e) => [e.session, e.paths])) };
    },
  },
  {
    names: ['environment', 'env', 'envi'],
    doc: 'The environment the gateway runs in',
    run: () => Object.fromEntries(g.environment()),
  },
  {
    names: ['is_read_only', 'isro'],
    doc: 'Whether the server is in read-only mode',
    run: () => ({ read_only: false }),
  },
  {
    names: ['leader', 'lead'],
    doc: 'Which member leads the ensemble',
    run: (ctx) => g.leader(ctx),
  },
  {
    names: ['monitor', 'mntr'],
    doc: 'Numbers for monitoring',
    run: async (ctx) => Object.fromEntries(await g.monitor(ctx)),
  },
  {
    names: ['ruok'],
    doc: 'No-op: the gateway is running',
    run: () => ({}),
  },
  {
    names: ['server_stats', 'srvr'],
    doc: 'Server statistics',
    run: async (ctx) => ({ ...(await g.serverStats(ctx)) }),
  },
  {
    names: ['stat_reset', 'srst'],
    doc: 'Reset server statistics',
    run: (ctx) => (g.resetServerStats(ctx.gateway), {}),
  },
  {
    names: ['stats', 'stat'],
    doc: 'Server statistics and brief connection information',
    run: async (ctx) => ({ ...(await g.serverStats(ctx)), connections: g.connections(ctx.gateway, true), secure_connections: [] }),
  },
  {
    names: ['watch_summary', 'wchs'],
    doc: 'Summary of the watches of every serving learner',
    run: async (ctx) => {
      const w = await g.watchSummary(ctx);
      return { num_connections: w.connections, num_paths: w.paths, num_total_watches: w.watches };
    },
  },
  {
    names: ['watches', 'wchc'],
    doc: 'Watched paths by session',
    run: async (ctx) => ({ session_id_to_watched_paths: Object.fromEntries((await g.watchesBySession(ctx)).map((w) => [w.session, w.paths])) }),
  },
  {
    names: ['watches_by_path', 'wchp'],
    doc: 'Watching sessions by path',
    run: async (ctx) => ({ path_to_session_ids: Object.fromEntries((await g.watchesByPath(ctx)).map((w) => [w.path, w.sessions])) }),
  },
];

const byName = new Map<string, AdminCommand>();
for (const c of ADMIN_COMMANDS) for (const n of c.names) byName.set(n, c);

export function findCommand(name: string): AdminCommand | undefined {
  return byName.get(name);
}

/**
 * Runs a command as the AdminServer does: an unknown command or a failure is
 * reported in `error`, never thrown.
 */
export async function runCommand(name: string, ctx: AdminContext): Promise<{ status: number; body: Record<string, unknown> }> {
  const cmd = byName.get(name);
  if (!cmd) return { status: 200, body: { command: name, error: `Unknown command: ${name}` } };
  const primary = cmd.names[0]!;
  try {
    const data = await cmd.run(ctx);
    return { status: 200, body: { command: primary, error: null, ...data } };
  } catch (err) {
    return { status: 503, body: { command: primary, error: (err as Error).message ?? String(err) } };
  }
}
