import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Logger } from '@zooid/runtime';
import type { ManagedNats } from './nats.js';

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
      // The name tells the child's progress bars apart on the terminal they all share.
      env: { ...process.env, ZOOID_SUPERVISED: '1', ZOOID_PROCESS_NAME: name },
    });
    this.exited = new Promise((resolve) => this.proc.once('exit', (code, signal) => resolve(signal ? null : code)));
    this.proc.once('exit', (code, signal) => {
      if (this.stopping) return;
      log.error({ child: name, childPid: this.proc.pid, code, signal }, 'child process exited unexpectedly');
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

/** What a group does when one of its children exits without being asked to. */
export type DeathPolicy = 'stop' | 'restart';

export interface GroupOptions {
  /**
   * 'stop': the whole group goes down with exit code 1, so nothing runs
   * half-broken (standalone). 'restart': the child comes back after a
   * backoff; members recover from their data directories (up).
   */
  onDeath: DeathPolicy;
  /** First restart delay; it doubles for each crash in a row, up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
  /** A child that ran at least this long before dying counts as healthy again. */
  stableMs?: number;
}

/** The exit code of a command that refused its arguments: restarting it cannot help. */
const USAGE_EXIT = 2;

/** One supervised child, restartable: how to start and stop it, and its crash record. */
interface Slot {
  name: string;
  start: () => Promise<void>;
  stop: () => Promise<void>;
  pid: () => number | undefined;
  startedAt: number;
  crashes: number;
  timer?: NodeJS.Timeout;
}

/**
 * A process group: managed nats-servers, if any, and role processes.
 * Stopping is idempotent and ordered — role processes first, the bus last,
 * so members never see their bus vanish while they shut down.
 */
export class ProcessGroup {
  /** Resolves with the group's exit code once everything has stopped. */
  readonly done: Promise<number>;
  private resolveDone!: (code: number) => void;
  private readonly roles: Slot[] = [];
  private readonly buses: Slot[] = [];
  private stopping?: Promise<number>;

  constructor(private readonly log: Logger, private readonly opts: GroupOptions) {
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  /**
   * Starts a nats-server with `start` and supervises it like the other
   * children; a restart runs `start` again (the same configuration and
   * ports: every child already holds the server list).
   */
  async nats(name: string, start: () => Promise<ManagedNats>): Promise<ManagedNats> {
    let nats = await start();
    this.log.info({ child: name, url: nats.url, natsPid: nats.child.pid }, 'started nats-server');
    const slot: Slot = {
      name,
      start: async () => {
        nats = await start();
        watch();
      },
      stop: () => nats.stop(),
      pid: () => nats.child.pid,
      startedAt: Date.now(),
      crashes: 0,
    };
    const watch = () => {
      const child = nats.child;
      child.once('exit', (code, signal) => {
        if (this.stopping) return;
        this.log.error({ child: slot.name, childPid: child.pid, code, signal }, 'child process exited unexpectedly');
        this.died(slot, code);
      });
    };
    watch();
    this.buses.push(slot);
    return nats;
  }

  /** Starts `zooid <args>` as a member of the group. */
  spawn(name: string, args: string[]): void {
    // A child started after stop() began would outlive the group: `zooid scale` may be mid-step when `up` is stopped.
    if (this.stopping) throw new Error(`not starting ${name}: the group is stopping`);
    let proc: RoleProcess;
    const slot: Slot = {
      name,
      start: async () => {
        proc = new RoleProcess(name, args, this.log, (c) => this.died(slot, c.proc.exitCode));
      },
      stop: () => proc.stop(),
      pid: () => proc.pid,
      startedAt: Date.now(),
      crashes: 0,
    };
    void slot.start();
    this.roles.push(slot);
    this.log.info({ child: name, childPid: slot.pid() }, 'child started');
  }

  /**
   * Stops the role process `name` and forgets it: `zooid scale` shrinking
   * the cluster. Unlike a death, nothing restarts it.
   */
  async retire(name: string): Promise<void> {
    const i = this.roles.findIndex((s) => s.name === name);
    if (i < 0) return;
    const [slot] = this.roles.splice(i, 1);
    clearTimeout(slot!.timer);
    this.log.info({ child: name, childPid: slot!.pid() }, 'retiring child');
    await slot!.stop();
  }

  /** The pids of the group's nats-servers: a grown bus is reloaded by signalling them. */
  busPids(): Map<string, number> {
    const pids = new Map<string, number>();
    for (const s of this.buses) {
      const pid = s.pid();
      if (pid !== undefined) pids.set(s.name, pid);
    }
    return pids;
  }

  /** Ctrl-C and SIGTERM stop the group cleanly. */
  stopOnSignals(): void {
    const stop = () => void this.stop(0);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  }

  /** Stops every child; the first caller's code is the group's exit code. */
  stop(code = 0): Promise<number> {
    this.stopping ??= (async () => {
      for (const s of [...this.roles, ...this.buses]) clearTimeout(s.timer);
      await Promise.all(this.roles.map((s) => s.stop()));
      await Promise.all(this.buses.map((s) => s.stop()));
      this.resolveDone(code);
      return code;
    })();
    return this.stopping;
  }

  private died(slot: Slot, code: number | null): void {
    if (this.stopping) return;
    if (this.opts.onDeath === 'stop') return void this.stop(1);
    if (code === USAGE_EXIT) {
      this.log.error({ child: slot.name }, 'child refused its arguments; restarting cannot help, stopping');
      return void this.stop(1);
    }
    const { backoffMs = 500, maxBackoffMs = 10_000, stableMs = 30_000 } = this.opts;
    if (Date.now() - slot.startedAt >= stableMs) slot.crashes = 0;
    const delayMs = Math.min(backoffMs * 2 ** slot.crashes, maxBackoffMs);
    slot.crashes++;
    this.log.warn({ child: slot.name, delayMs, crashes: slot.crashes }, 'restarting child after backoff');
    slot.timer = setTimeout(() => {
      slot.timer = undefined;
      if (this.stopping) return;
      slot.startedAt = Date.now();
      slot.start().then(
        () => {
          // A stop that began while the child was starting has missed it.
          if (this.stopping) return void slot.stop();
          this.log.info({ child: slot.name, childPid: slot.pid() }, 'child restarted');
        },
        (err: unknown) => {
          this.log.error({ child: slot.name, err }, 'restart failed');
          this.died(slot, null);
        },
      );
    }, delayMs);
  }
}

/** In a supervised child: exit when the supervisor's pipe closes. */
export function exitWithSupervisor(onExit: () => void): void {
  if (process.env.ZOOID_SUPERVISED !== '1') return;
  process.stdin.on('end', onExit);
  process.stdin.on('error', onExit);
  process.stdin.resume();
}
