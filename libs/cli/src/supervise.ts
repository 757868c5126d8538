import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@zooid/runtime';

/** The zooid executable, for starting role processes. */
export const ZOOID_BIN = fileURLToPath(new URL('../../../bin/zooid.js', import.meta.url));

/**
 * A role process started as `zooid <args>`. Its stdin is a pipe the child
 * watches: when the supervisor dies, even by SIGKILL, the pipe closes and the
 * child exits instead of lingering as an orphan. An exit nobody asked for is
 * reported through `onUnexpectedExit`.
 */
export class RoleProcess {
  readonly proc: ChildProcess;
  readonly exited: Promise<number | null>;
  private stopping = false;

  constructor(readonly name: string, args: string[], log: Logger, onUnexpectedExit: (c: RoleProcess) => void) {
    this.proc = spawn(process.execPath, [ZOOID_BIN, ...args], {
      stdio: ['pipe', 'inherit', 'inherit'],
      env: { ...process.env, ZOOID_SUPERVISED: '1' },
    });
    this.exited = new Promise((resolve) => this.proc.once('exit', (code, signal) => resolve(signal ? null : code)));
    this.proc.once('exit', (code, signal) => {
      if (this.stopping) return;
      log.error({ child: name, pid: this.proc.pid, code, signal }, 'child process exited unexpectedly');
      onUnexpectedExit(this);
    });
  }

  get pid(): number | undefined {
    return this.proc.pid;
  }

  /** SIGTERM, then SIGKILL if it has not exited within the grace period. */
  async stop(graceMs = 5000): Promise<void> {
    this.stopping = true;
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }
}

/** In a supervised child: exit when the supervisor's pipe closes. */
export function exitWithSupervisor(onExit: () => void): void {
  if (process.env.ZOOID_SUPERVISED !== '1') return;
  process.stdin.on('end', onExit);
  process.stdin.on('error', onExit);
  process.stdin.resume();
}
