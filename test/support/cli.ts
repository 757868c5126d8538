/**
 * The `zooid` command as an operator runs it from a shell: one command to
 * its end, its exit code and output; and what `zooid status --json` says.
 */
import { execFile } from 'node:child_process';
import { ZOOID_BIN, type ClusterView } from '@zooid/cli';

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `zooid <args>` to its end (SIGKILL after timeoutMs), logging JSON. */
export function zooid(args: string[], timeoutMs = 240_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [ZOOID_BIN, ...args], { timeout: timeoutMs, killSignal: 'SIGKILL', env: { ...process.env, ZOOID_LOG_FORMAT: 'json' } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

/** `zooid status --json` on an `up`'s data directory; the default wait hears every service's once-a-second announcement. */
export async function statusJson(dataDir: string, waitMs = 1500): Promise<{ code: number; view: ClusterView }> {
  const r = await zooid(['status', '--data-dir', dataDir, '--json', '--wait-ms', String(waitMs)]);
  return { code: r.code, view: JSON.parse(r.stdout) as ClusterView };
}

/** Whether a process runs under `pid` (one of another user's counts: EPERM). */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
