/**
 * What a nats-server says about itself on its monitoring port: /varz for
 * `zooid status`, /routez to know when a cluster's routes are all up.
 */
import { readFileSync } from 'node:fs';
import type { RecordedServer } from './bus-file.js';

export async function monitorJson<T>(monitor: string, path: string, timeoutMs = 1000): Promise<T> {
  const res = await fetch(`${monitor}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`${monitor}${path} answered ${res.status}`);
  return (await res.json()) as T;
}

interface Varz {
  server_name: string;
  version: string;
  connections: number;
  routes: number;
  uptime: string;
  in_msgs: number;
  out_msgs: number;
  slow_consumers: number;
}

/** One bus server in `zooid status`: null where it is not known (no monitoring address, or no answer). */
export interface BusServerRow {
  url: string;
  name: string | null;
  pid: number | null;
  connections: number | null;
  routes: number | null;
  version: string | null;
  uptime: string | null;
  slowConsumers: number | null;
  /** Why the rest is null, when the server has a monitoring address that did not answer. */
  error?: string;
}

function livePid(file: string | undefined): number | null {
  if (!file) return null;
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    process.kill(pid, 0);
    return pid;
  } catch {
    return null;
  }
}

export async function busServerRow(s: RecordedServer): Promise<BusServerRow> {
  const row: BusServerRow = { url: s.url, name: s.name ?? null, pid: livePid(s.pidFile), connections: null, routes: null, version: null, uptime: null, slowConsumers: null };
  if (!s.monitor) return row;
  try {
    const v = await monitorJson<Varz>(s.monitor, '/varz');
    return { ...row, name: v.server_name, connections: v.connections, routes: v.routes, version: v.version, uptime: v.uptime, slowConsumers: v.slow_consumers };
  } catch (err) {
    return { ...row, error: (err as Error).message };
  }
}

/** The servers each server has a route to, by their ids. */
async function routePeers(monitor: string): Promise<Set<string>> {
  const r = await monitorJson<{ routes?: { remote_id: string }[] }>(monitor, '/routez');
  return new Set((r.routes ?? []).map((x) => x.remote_id));
}

/** Resolves once every server has a route to every other one; rejects at the deadline. */
export async function waitForRoutes(monitors: string[], deadlineMs = 10_000): Promise<void> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const counts = await Promise.all(monitors.map((m) => routePeers(m).then((p) => p.size, () => -1)));
    if (counts.every((n) => n >= monitors.length - 1)) return;
    if (Date.now() > until) throw new Error(`the bus's routes did not all come up within ${deadlineMs} ms (peers per server: ${counts.join(', ')})`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** When the server last read its configuration file, as /varz says. */
async function configLoadTime(monitor: string): Promise<string> {
  return (await monitorJson<{ config_load_time: string }>(monitor, '/varz')).config_load_time;
}

/**
 * Has each server reload its configuration (SIGHUP, nats-server's reload
 * signal) and resolves once all have: a reload is asynchronous, and a
 * process started on a new key before it lands would be refused.
 */
export async function reloadServers(servers: { monitor: string; pid: number }[], deadlineMs = 10_000): Promise<void> {
  const before = await Promise.all(servers.map((s) => configLoadTime(s.monitor)));
  for (const s of servers) process.kill(s.pid, 'SIGHUP');
  const until = Date.now() + deadlineMs;
  for (;;) {
    const now = await Promise.all(servers.map((s) => configLoadTime(s.monitor).catch(() => undefined)));
    if (now.every((t, i) => t !== undefined && t !== before[i])) return;
    if (Date.now() > until) throw new Error(`the bus's servers did not all reload their configuration within ${deadlineMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
