/**
 * Helpers over the harness's processes: their JSON log lines, liveness, and
 * a small cluster-level health check.
 */
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
