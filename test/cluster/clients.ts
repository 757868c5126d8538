/**
 * Clients for the cluster tests: node-zookeeper-client sessions in this
 * process (a write load that records every acknowledgement, sessions pinned
 * to a chosen learner) and kazoo scripts in their own processes (reads after
 * a real `sync`, the Lock recipe).
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { NzkClient, Exception } from '../clients/nzk.js';
import { waitFor } from '../harness.js';
import type { Cluster } from './harness.js';

export { NzkClient, Exception };

export const PYTHON = '/usr/bin/python3';

export function sessionOf(c: NzkClient): bigint {
  return c.sessionId.readBigUInt64BE(0);
}

export async function connectClient(hosts: string, opts: Record<string, unknown> = {}): Promise<NzkClient> {
  return new NzkClient(hosts, { sessionTimeout: 4000, ...opts }).connect(20_000);
}

/** Rejects with a timeout error when `p` has not settled within `ms`. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error(`${what}: no answer within ${ms} ms`), { timeout: true })), ms);
    }),
  ]);
}

/** The learner this client's session is pinned to, as seen on the bus after one read. */
export async function learnerOf(cluster: Cluster, c: NzkClient): Promise<string> {
  const id = sessionOf(c);
  await within(c.exists('/'), 10_000, 'exists /');
  return waitFor(`the learner of session ${id.toString(16)}`, () => cluster.spy.learnerOf(id), 5000);
}

/**
 * Opens sessions (alternating over the gateways) until every serving learner
 * in `want` has one pinned to it; returns one client per learner and closes
 * the spares. Gateways pin new sessions to the least-loaded learner, so a few
 * sessions cover them all.
 */
export async function clientPerLearner(cluster: Cluster, want: string[], maxSessions = 16): Promise<Map<string, NzkClient>> {
  const got = new Map<string, NzkClient>();
  const spare: NzkClient[] = [];
  for (let i = 0; i < maxSessions && got.size < want.length; i++) {
    const gw = cluster.gateways.filter((g) => g.alive)[i % cluster.gateways.filter((g) => g.alive).length]!;
    const c = await connectClient(gw.hostPort);
    const learner = await learnerOf(cluster, c);
    if (want.includes(learner) && !got.has(learner)) got.set(learner, c);
    else spare.push(c);
  }
  await Promise.all(spare.map((c) => c.close()));
  if (got.size < want.length) {
    await Promise.all([...got.values()].map((c) => c.close()));
    throw new Error(`sessions reached only ${[...got.keys()].join(',')} of ${want.join(',')} in ${maxSessions} tries`);
  }
  return got;
}

export interface WriteRecord {
  path: string;
  writer: number;
  sentAt: number;
  doneAt: number;
  ok: boolean;
  err?: string;
}

/**
 * A continuous write load: `n` sessions, each creating sequentially named
 * znodes one after another under `root` and recording every answer. A write
 * with no answer in `opTimeoutMs` counts as not acknowledged.
 */
export class WriteLoad {
  readonly records: WriteRecord[] = [];
  readonly expired: number[] = [];
  private running = true;
  private readonly loops: Promise<void>[] = [];
  readonly clients: NzkClient[] = [];

  private constructor(
    readonly root: string,
    private readonly hosts: string,
    private readonly opTimeoutMs: number,
    private readonly pauseMs: number,
  ) {}

  static async start(hosts: string, root: string, n = 3, opts: { opTimeoutMs?: number; pauseMs?: number } = {}): Promise<WriteLoad> {
    const load = new WriteLoad(root, hosts, opts.opTimeoutMs ?? 10_000, opts.pauseMs ?? 5);
    const setup = await connectClient(hosts);
    await setup.mkdirp(root);
    await setup.close();
    for (let i = 0; i < n; i++) load.clients.push(await connectClient(hosts));
    for (let i = 0; i < n; i++) load.loops.push(load.loop(i));
    return load;
  }

  private async loop(w: number): Promise<void> {
    let seq = 0;
    while (this.running) {
      const c = this.clients[w]!;
      const path = `${this.root}/w${w}-${String(seq++).padStart(6, '0')}`;
      const sentAt = Date.now();
      try {
        await within(c.create(path, Buffer.from(path)), this.opTimeoutMs, `create ${path}`);
        this.records.push({ path, writer: w, sentAt, doneAt: Date.now(), ok: true });
      } catch (e) {
        const err = e as { getCode?: () => number; message?: string };
        const code = typeof err.getCode === 'function' ? err.getCode() : undefined;
        this.records.push({ path, writer: w, sentAt, doneAt: Date.now(), ok: false, err: code !== undefined ? String(code) : String(err.message) });
        if (code === Exception.SESSION_EXPIRED) {
          this.expired.push(Date.now());
          c.raw.close();
          try {
            this.clients[w] = await connectClient(this.hosts);
          } catch {
            // try again on the next round
          }
        } else {
          await new Promise((r) => setTimeout(r, 20));
        }
      }
      if (this.pauseMs > 0) await new Promise((r) => setTimeout(r, this.pauseMs));
    }
  }

  get acked(): WriteRecord[] {
    return this.records.filter((r) => r.ok);
  }

  ackedSince(t: number): WriteRecord[] {
    return this.records.filter((r) => r.ok && r.doneAt >= t);
  }

  /** Waits until a write sent after `t` has been acknowledged; returns it. */
  firstAckSentAfter(t: number, deadlineMs: number): Promise<WriteRecord> {
    return waitFor('a write sent after the failure to be acknowledged', () => this.records.find((r) => r.ok && r.sentAt > t), deadlineMs, 10);
  }

  /** Waits until `count` more writes are acknowledged. */
  async moreAcks(count: number, deadlineMs = 15_000): Promise<void> {
    const target = this.acked.length + count;
    await waitFor(`${count} more acknowledged writes`, () => this.acked.length >= target, deadlineMs, 20);
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    await Promise.all(this.clients.map((c) => c.close(3000)));
  }
}

/** Runs test/cluster/kz_cluster.py with Debian's python3 (kazoo); resolves its last stdout line as JSON. */
export function kazoo<T = Record<string, unknown>>(args: string[], deadlineS = 60): Promise<T> {
  return new Promise((resolve, reject) => {
    execFile(
      PYTHON,
      [join(import.meta.dirname, 'kz_cluster.py'), ...args],
      {
        env: { ...process.env, KZ_DEADLINE: String(deadlineS), PYTHONDONTWRITEBYTECODE: '1' },
        timeout: (deadlineS + 15) * 1000,
        killSignal: 'SIGKILL',
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`kz_cluster.py ${args.join(' ')} failed (${err.code ?? err.signal}):\n${stderr}\n${stdout}`));
        const last = stdout.trim().split('\n').at(-1) ?? '';
        try {
          resolve(JSON.parse(last) as T);
        } catch {
          reject(new Error(`kz_cluster.py printed no JSON:\n${stdout}\n${stderr}`));
        }
      },
    );
  });
}

/** The children of `path` read through `hosts` after a kazoo `sync(path)`. */
export async function childrenAfterSync(hosts: string, path: string): Promise<string[]> {
  const r = await kazoo<{ children: string[] }>(['readback', hosts, path]);
  return r.children;
}

export interface HeldSession {
  sessionId: string;
  port: number;
  owner: string | null;
  states: string[];
}

/**
 * A kazoo session in its own process that holds an ephemeral znode and
 * reports on request (`kz_cluster.py hold`): where it is connected, with
 * which session, and who owns the ephemeral.
 */
export class KazooHolder {
  private buf = '';
  private err = '';
  private readonly lines: string[] = [];
  private wake?: () => void;
  private readonly child: ChildProcess;

  constructor(hosts: string, path: string, deadlineS = 120) {
    this.child = spawn(PYTHON, [join(import.meta.dirname, 'kz_cluster.py'), 'hold', hosts, path], {
      env: { ...process.env, KZ_DEADLINE: String(deadlineS), PYTHONDONTWRITEBYTECODE: '1' },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child.stdout!.on('data', (d: Buffer) => {
      this.buf += d.toString();
      let i: number;
      while ((i = this.buf.indexOf('\n')) >= 0) {
        this.lines.push(this.buf.slice(0, i));
        this.buf = this.buf.slice(i + 1);
      }
      this.wake?.();
    });
    this.child.stderr!.on('data', (d: Buffer) => (this.err = (this.err + d.toString()).slice(-8000)));
    this.child.on('exit', () => this.wake?.());
  }

  /** The next report, within `ms`. */
  async next(ms = 30_000): Promise<HeldSession> {
    const until = Date.now() + ms;
    while (this.lines.length === 0) {
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`kazoo holder exited (${this.child.exitCode ?? this.child.signalCode}):\n${this.err}`);
      if (Date.now() > until) throw new Error(`kazoo holder said nothing within ${ms} ms:\n${this.err}`);
      await new Promise<void>((r) => {
        this.wake = r;
        setTimeout(r, 100);
      });
    }
    return JSON.parse(this.lines.shift()!) as HeldSession;
  }

  check(ms = 30_000): Promise<HeldSession> {
    this.child.stdin!.write('check\n');
    return this.next(ms);
  }

  async quit(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.stdin!.write('quit\n');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
}
