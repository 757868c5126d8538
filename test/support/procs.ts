/**
 * Helpers over the harness's processes: their JSON log lines, liveness, and
 * a small cluster-level health check.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Proc } from '../harness.js';

export interface LogLine {
  level: number;
  msg: string;
  time?: number;
  [k: string]: unknown;
}

/** The JSON log lines a process has printed so far (non-JSON lines are skipped). */
export function logLines(p: Proc): LogLine[] {
  const out: LogLine[] = [];
  for (const line of p.output().split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      out.push(JSON.parse(line) as LogLine);
    } catch {
      // a line cut by the output buffer's limit
    }
  }
  return out;
}

/** Log lines at warn or above whose text (JSON) matches every needle. */
export function warnings(p: Proc, ...needles: (string | RegExp)[]): LogLine[] {
  return logLines(p).filter((l) => {
    if (l.level < 40) return false;
    const text = JSON.stringify(l);
    return needles.every((n) => (typeof n === 'string' ? text.includes(n) : n.test(text)));
  });
}

export function alive(p: Proc): boolean {
  return p.child.exitCode === null && p.child.signalCode === null;
}

/** Sends a signal to the process by pid (SIGSTOP/SIGCONT included). */
export function signal(p: Proc, sig: NodeJS.Signals): void {
  process.kill(p.child.pid!, sig);
}

/** A process's resident size (VmRSS) or its peak since start or the last resetPeak (VmHWM), in bytes, from /proc. */
export function residentBytes(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  const m = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return Number(m![1]) * 1024;
}

/** Starts a new peak (VmHWM) at the current resident size. */
export function resetPeak(pid: number): void {
  writeFileSync(`/proc/${pid}/clear_refs`, '5');
}

/** The pids of a process's children (a guard's nats-server, say). */
export function childPids(pid: number): number[] {
  return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
}

/**
 * How far above its resident size at the start each process went while `fn`
 * ran: peaks, not samples, so a burst between two looks is not missed.
 */
export async function peakGrowth(pids: Record<string, number>, fn: () => Promise<void>): Promise<Record<string, number>> {
  const before: Record<string, number> = {};
  for (const [name, pid] of Object.entries(pids)) {
    resetPeak(pid);
    before[name] = residentBytes(pid);
  }
  await fn();
  const growth: Record<string, number> = {};
  for (const [name, pid] of Object.entries(pids)) growth[name] = residentBytes(pid, 'VmHWM') - before[name]!;
  return growth;
}
