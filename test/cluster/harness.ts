/**
 * A replicated Zooid cluster of real processes for the cluster tests: a bus
 * as `zooid up` runs it (three nats-servers clustered over TLS routes, every
 * process with its own nkey and subject permissions), voting members, an
 * observer and gateways, each its own child
 * process that a test kills, freezes (SIGSTOP), thaws (SIGCONT), restarts or
 * wipes by pid. The test reads the cluster the way an operator does: from the
 * presence announcements on the bus and from `zooid status --json`; and it
 * watches the gateways' traffic to the learners to know which learner each
 * session is pinned to. Every wait is a condition with a deadline.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NatsConnection } from '@nats-io/transport-node';
import { createUser } from '@nats-io/nkeys';
import { subjects, unpack, type BusIdentity, type GatewayBatch, type Presence } from '@zooid/protocol';
import { freePort, waitForPort, ZOOID_BIN, type ClusterView } from '@zooid/cli';
import { startSecureBus, type SecureBus } from '../support/secure-bus.js';
import { killProc, startProc, waitFor as waitForAny, waitServing, type Proc } from '../harness.js';
import { logLines, type LogLine } from '../support/procs.js';

/** The harness's waitFor, except that a crashed process ends the wait at once. */
async function waitFor<T>(what: string, fn: () => T | Promise<T>, deadlineMs?: number, everyMs?: number): Promise<NonNullable<T>> {
  let crash: unknown;
  const r = await waitForAny(
    what,
    async () => {
      try {
        return await fn();
      } catch (err) {
        if ((err as { crash?: boolean }).crash) {
          crash = err;
          return true as T;
        }
        throw err;
      }
    },
    deadlineMs,
    everyMs,
  );
  if (crash) throw crash;
  return r;
}


function isAlive(p: Proc): boolean {
  return p.child.exitCode === null && p.child.signalCode === null;
}

/** One voting member or observer: its data directory outlives its processes. */
export class Node {
  /** Every process this node has run, oldest first; the last is the current one. */
  readonly procs: Proc[] = [];
  frozen = false;
  /** Stopped on purpose: a node that is not running otherwise has crashed. */
  down = false;
  /** Extra environment for the node's next processes: the test-only fault hooks, or flags by their ZOOID_* names. */
  env: Record<string, string> = {};

  constructor(
    readonly kind: 'member' | 'observer',
    readonly id: string,
    readonly dataDir: string,
    private readonly args: string[],
  ) {}

  get proc(): Proc {
    return this.procs.at(-1)!;
  }

  get pid(): number {
    return this.proc.child.pid!;
  }

  get alive(): boolean {
    return this.procs.length > 0 && isAlive(this.proc);
  }

  /** Alive and not frozen: able to announce itself. */
  get running(): boolean {
    return this.alive && !this.frozen;
  }

  start(): Proc {
    const p = startProc(`${this.kind}-${this.id}#${this.procs.length}`, this.args, this.env);
    this.procs.push(p);
    this.frozen = false;
    this.down = false;
    return p;
  }

  async kill(): Promise<void> {
    this.down = true;
    if (!this.alive) return;
    if (this.frozen) this.proc.child.kill('SIGCONT');
    await killProc(this.proc, 'SIGKILL');
    this.frozen = false;
  }

  freeze(): void {
    process.kill(this.pid, 'SIGSTOP');
    this.frozen = true;
  }

  thaw(): void {
    process.kill(this.pid, 'SIGCONT');
    this.frozen = false;
  }

  /** kill -9, optionally wipe the data directory, start again. */
  async restart(opts: { wipe?: boolean } = {}): Promise<Proc> {
    await this.kill();
    if (opts.wipe) rmSync(this.dataDir, { recursive: true, force: true });
    return this.start();
  }

  /** Log lines of the current process (or of all of them). */
  logs(all = false): LogLine[] {
    return all ? this.procs.flatMap(logLines) : logLines(this.proc);
  }

  async stop(): Promise<void> {
    this.down = true;
    if (!this.alive) return;
    if (this.frozen) this.thaw();
    await stopProc(this.proc);
  }
}

/** SIGTERM, and SIGKILL if the process has not exited within `graceMs`. */
async function stopProc(p: Proc, graceMs = 5000): Promise<void> {
  if (!isAlive(p)) return;
  p.child.kill('SIGTERM');
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), graceMs)));
  const r = await Promise.race([p.exited, late]);
  clearTimeout(timer);
  if (r === 'late') await killProc(p, 'SIGKILL');
}

export class GatewayNode {
  readonly procs: Proc[] = [];
  down = false;
  constructor(
    readonly id: string,
    readonly port: number,
    private readonly args: string[],
  ) {}
  get proc(): Proc {
    return this.procs.at(-1)!;
  }
  get alive(): boolean {
    return this.procs.length > 0 && isAlive(this.proc);
  }
  get hostPort(): string {
    return `127.0.0.1:${this.port}`;
  }
  start(): Proc {
    const p = startProc(`gateway-${this.id}#${this.procs.length}`, this.args);
    this.procs.push(p);
    this.down = false;
    return p;
  }
  async kill(): Promise<void> {
    this.down = true;
    if (this.alive) await killProc(this.proc, 'SIGKILL');
  }
  async stop(): Promise<void> {
    this.down = true;
    if (this.alive) await stopProc(this.proc);
  }
}

interface Heard {
  p: Presence;
  at: number;
}

/** A presence announcement older than this is not taken as current (services announce once a second). */
const FRESH_MS = 1600;

/**
 * The test's own connection to the bus: every presence announcement, and the
 * gateway → learner traffic, which tells which learner a session is pinned to.
 */
export class BusSpy {
  private readonly heard = new Map<string, Heard>();
  /** Session id → the learner its latest request or reconnect went to. */
  private readonly pinned = new Map<bigint, string>();

  private constructor(
    readonly nc: NatsConnection,
    cluster: string,
  ) {
    const subj = subjects(cluster);
    nc.subscribe(subj.presenceAll, {
      callback: (err, msg) => {
        if (err) return;
        try {
          const p = unpack<Presence>(msg.data);
          this.heard.set(`${p.kind}/${p.id}`, { p: { ...p, epoch: Number(p.epoch), zxid: Number(p.zxid) }, at: Date.now() });
          if (p.kind === 'member' && p.role === 'leading' && p.serving) this.noteLeader(Number(p.epoch), p.id);
        } catch {
          // not ours to judge
        }
      },
    });
    const prefix = subj.learnerIn('X', 'Y').split('X')[0]!;
    nc.subscribe(subj.learnerIn('*', '*'), {
      callback: (err, msg) => {
        if (err) return;
        const learner = msg.subject.slice(prefix.length).split('.')[0]!;
        try {
          const [, , , entries] = unpack<GatewayBatch>(msg.data);
          for (const e of entries) {
            if (e[0] === 'r') this.pinned.set(BigInt(e[2]), learner);
            else if (e[0] === 'c' && BigInt(e[2].sessionId) !== 0n) this.pinned.set(BigInt(e[2].sessionId), learner);
          }
        } catch {
          // ignore
        }
      },
    });
  }

  /** Listens as the bus's auditor: the only identity that may read a learner's client traffic without being that learner. */
  static async start(bus: SecureBus, cluster: string): Promise<BusSpy> {
    const nc = await bus.connect(SPY);
    const spy = new BusSpy(nc, cluster);
    await nc.flush();
    return spy;
  }

  /**
   * Zab's first promise, checked in every cluster test: one leader per epoch.
   * Two members that both announce themselves leading and serving in one
   * epoch have each established it, and could each commit writes.
   */
  private readonly leaderOf = new Map<number, string>();
  twoLeaders?: string;

  private noteLeader(epoch: number, id: string): void {
    const first = this.leaderOf.get(epoch);
    if (first === undefined) this.leaderOf.set(epoch, id);
    else if (first !== id) this.twoLeaders ??= `members ${first} and ${id} both led epoch ${epoch}`;
  }

  /** Presence of each service heard within the last FRESH_MS. */
  fresh(kind?: Presence['kind']): Presence[] {
    const now = Date.now();
    return [...this.heard.values()].filter((h) => now - h.at <= FRESH_MS && (!kind || h.p.kind === kind)).map((h) => h.p);
  }

  /** The latest announcement of `kind`/`id`, if it was heard at or after `since` (ms). */
  heardSince(kind: Presence['kind'], id: string, since: number): Presence | undefined {
    const h = this.heard.get(`${kind}/${id}`);
    return h && h.at >= since ? h.p : undefined;
  }

  latest(kind: Presence['kind'], id: string): Presence | undefined {
    return this.heard.get(`${kind}/${id}`)?.p;
  }

  /** Forget what was heard so far (after a failure, so old announcements do not count). */
  forget(kind: Presence['kind'], id: string): void {
    this.heard.delete(`${kind}/${id}`);
  }

  learnerOf(sessionId: bigint): string | undefined {
    return this.pinned.get(sessionId);
  }

  async close(): Promise<void> {
    await this.nc.close();
  }
}

export interface ClusterOptions {
  voters?: number;
  observers?: number;
  gateways?: number;
  tickTime?: number;
  syncLimit?: number;
  initLimit?: number;
  snapCount?: number;
  /** --commit-log-count of members and observers. */
  commitLogCount?: number;
  cluster?: string;
  /** nats-servers of the bus. */
  natsServers?: number;
  /**
   * Members provisioned on the bus but not started, ids after the voters'
   * (4 and 5 after 1, 2, 3): `zooid follower --join --ensemble <voters>`,
   * started by the test (`node(id).start()`) to be added by reconfig.
   */
  joiners?: number;
  /** How many of the joiners (the first ones) start without --ensemble: they learn the configuration from the members. */
  joinersLearn?: number;
  /** Extra flags for every member (e.g. --reconfig-enabled, --super-digest). */
  memberArgs?: string[];
  /** The observers' ids, instead of obs1… (a number names one in a `server.N` line). */
  observerIds?: string[];
}

const SPY: BusIdentity = { kind: 'auditor', id: 'spy' };
const STATUS: BusIdentity = { kind: 'tool', id: 'status' };

export interface Settled {
  leader: Node;
  epoch: number;
  /** Presence of every running member and observer, by id. */
  presence: Map<string, Presence>;
  /** How long settling took. */
  ms: number;
}

export class Cluster {
  readonly members: Node[] = [];
  readonly observers: Node[] = [];
  readonly gateways: GatewayNode[] = [];
  private readonly root: string;

  private constructor(
    readonly bus: SecureBus,
    readonly spy: BusSpy,
    readonly opts: Required<ClusterOptions>,
  ) {
    this.root = mkdtempSync(join(tmpdir(), 'zooid-cluster-'));
  }

  static async start(o: ClusterOptions = {}): Promise<Cluster> {
    const opts: Required<ClusterOptions> = {
      voters: 3,
      observers: 1,
      gateways: 2,
      tickTime: 200,
      syncLimit: 5,
      initLimit: 10,
      snapCount: 100_000,
      commitLogCount: 1000,
      cluster: 'zooid',
      natsServers: 3,
      joiners: 0,
      joinersLearn: 0,
      memberArgs: [],
      observerIds: [],
      ...o,
    };
    const ensemble = Array.from({ length: opts.voters }, (_, i) => String(i + 1));
    const joiners = Array.from({ length: opts.joiners }, (_, i) => String(opts.voters + i + 1));
    const observers = opts.observerIds.length > 0 ? opts.observerIds : Array.from({ length: opts.observers }, (_, i) => `obs${i + 1}`);
    const gateways = Array.from({ length: opts.gateways }, (_, i) => `gw${i + 1}`);
    const bus = await startSecureBus({
      servers: opts.natsServers,
      cluster: opts.cluster,
      identities: [
        ...[...ensemble, ...joiners].map((id): BusIdentity => ({ kind: 'member', id })),
        ...observers.map((id): BusIdentity => ({ kind: 'observer', id })),
        ...gateways.map((id): BusIdentity => ({ kind: 'gateway', id })),
        STATUS,
        SPY,
      ],
    });
    const spy = await BusSpy.start(bus, opts.cluster);
    const c = new Cluster(bus, spy, opts);
    const common = (who: BusIdentity) => [...c.busArgs(who), '--cluster', opts.cluster, '--tick-time', String(opts.tickTime)];
    const limits = ['--sync-limit', String(opts.syncLimit), '--init-limit', String(opts.initLimit), '--snap-count', String(opts.snapCount), '--commit-log-count', String(opts.commitLogCount)];
    for (const id of ensemble) {
      const dir = join(c.root, `m${id}`);
      c.members.push(new Node('member', id, dir, ['follower', '--id', id, '--ensemble', ensemble.join(','), '--data-dir', dir, ...common({ kind: 'member', id }), ...limits, ...opts.memberArgs]));
    }
    for (const [i, id] of joiners.entries()) {
      const dir = join(c.root, `m${id}`);
      const voters = i < opts.joinersLearn ? [] : ['--ensemble', ensemble.join(',')];
      c.members.push(new Node('member', id, dir, ['follower', '--id', id, '--join', ...voters, '--data-dir', dir, ...common({ kind: 'member', id }), ...limits, ...opts.memberArgs]));
    }
    for (const id of observers) {
      const dir = join(c.root, id);
      c.observers.push(new Node('observer', id, dir, ['observer', '--id', id, '--data-dir', dir, ...common({ kind: 'observer', id }), ...limits]));
    }
    for (const id of gateways) {
      const port = await freePort();
      c.gateways.push(new GatewayNode(id, port, ['gateway', '--id', id, '--client-port', String(port), '--host', '127.0.0.1', '--admin-port', '0', ...common({ kind: 'gateway', id })]));
    }
    for (const n of [...c.members, ...c.observers]) if (!joiners.includes(n.id)) n.start();
    for (const g of c.gateways) g.start();
    try {
      await Promise.all(c.gateways.map((g) => waitForPort(g.port, '127.0.0.1', 20_000)));
      await c.settled(30_000);
      await Promise.all(c.gateways.map((g) => waitServing(g.port)));
    } catch (err) {
      await c.stop();
      throw err;
    }
    return c;
  }

  get learners(): Node[] {
    return [...this.members, ...this.observers];
  }

  node(id: string): Node {
    const n = this.learners.find((l) => l.id === id);
    if (!n) throw new Error(`no node ${id}`);
    return n;
  }

  /** Every gateway, both in the connect string. */
  get connectString(): string {
    return this.gateways.map((g) => g.hostPort).join(',');
  }

  /** Running members whose fresh presence says leading and serving. */
  leaders(): Node[] {
    const fresh = this.spy.fresh('member');
    return this.members.filter((m) => m.running && fresh.some((p) => p.id === m.id && p.pid === m.pid && p.role === 'leading' && p.serving));
  }

  /**
   * Waits until the running part of the cluster has settled: exactly one
   * member leads and serves; every other running member follows it in the
   * same epoch and serves; every running observer serves in that epoch; every
   * gateway announces itself. Returns the leader.
   */
  async settled(deadlineMs = 20_000, expect: { leaderNot?: string } = {}): Promise<Settled> {
    const t0 = Date.now();
    let last = '';
    try {
      return await waitFor(
        'the cluster to settle on one leader',
        () => {
          this.assertNoCrash();
          const fresh = new Map(this.spy.fresh().map((p) => [`${p.kind}/${p.id}`, p]));
          const leaders = this.leaders();
          last = JSON.stringify([...fresh.values()].map((p) => [p.kind, p.id, p.role, p.serving, p.epoch, '0x' + p.zxid.toString(16), p.pid]));
          if (leaders.length !== 1) return undefined;
          const leader = leaders[0]!;
          if (expect.leaderNot && leader.id === expect.leaderNot) return undefined;
          const lp = fresh.get(`member/${leader.id}`)!;
          const presence = new Map<string, Presence>();
          for (const n of this.learners) {
            if (!n.running) continue;
            const p = fresh.get(`${n.kind}/${n.id}`);
            if (!p || p.pid !== n.pid || !p.serving || p.epoch !== lp.epoch) return undefined;
            if (n.kind === 'member' && n !== leader && p.role !== 'following') return undefined;
            presence.set(n.id, p);
          }
          for (const g of this.gateways) if (g.alive && !fresh.get(`gateway/${g.id}`)) return undefined;
          return { leader, epoch: lp.epoch, presence, ms: Date.now() - t0 };
        },
        deadlineMs,
        50,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}; last heard: ${last}`);
    }
  }

  /** Throws (ending any wait) when a process the test did not stop has exited. */
  assertNoCrash(): void {
    if (this.spy.twoLeaders) throw Object.assign(new Error(this.spy.twoLeaders), { crash: true });
    for (const n of [...this.learners, ...this.gateways]) {
      if (n.procs.length === 0 || n.down || n.alive) continue;
      const c = n.proc.child;
      throw Object.assign(new Error(`${n.proc.name} exited by itself (code ${c.exitCode}, signal ${c.signalCode}):\n${n.proc.output().slice(-4000)}`), { crash: true });
    }
  }

  /** Waits until every running learner has applied the same zxid (no writes in flight). */
  async converged(deadlineMs = 15_000): Promise<number> {
    let seen = '';
    try {
      return await waitFor(
        'every learner to apply the same zxid',
        () => {
          this.assertNoCrash();
          const fresh = this.spy.fresh();
          const zx = this.learners.filter((n) => n.running).map((n) => fresh.find((p) => p.kind === n.kind && p.id === n.id && p.pid === n.pid)?.zxid);
          seen = JSON.stringify(zx.map((z) => (z === undefined ? null : '0x' + z.toString(16))));
          if (zx.some((z) => z === undefined) || new Set(zx).size !== 1) return undefined;
          return zx[0]!;
        },
        deadlineMs,
        100,
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}: ${seen}`);
    }
  }

  /** `zooid status --json` against this cluster's bus. */
  status(waitMs = 1500): Promise<{ code: number; view: ClusterView; stderr: string }> {
    return new Promise((resolve, reject) => {
      execFile(
        process.execPath,
        [ZOOID_BIN, 'status', ...this.busArgs(STATUS), '--cluster', this.opts.cluster, '--json', '--wait-ms', String(waitMs)],
        { env: { ...process.env, ZOOID_LOG_FORMAT: 'json' }, timeout: waitMs + 15_000 },
        (err, stdout, stderr) => {
          const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
          try {
            resolve({ code, view: JSON.parse(stdout) as ClusterView, stderr });
          } catch {
            reject(new Error(`zooid status printed no JSON (exit ${code}):\n${stdout}\n${stderr}`));
          }
        },
      );
    });
  }

  /** Last lines of every process, for failure messages. */
  tails(chars = 2500): string {
    // A joiner the test never started has no process.
    const all = [...this.learners.filter((n) => n.procs.length > 0).map((n) => n.proc), ...this.gateways.map((g) => g.proc)];
    return all.map((p) => `--- ${p.name} ---\n${p.output().slice(-chars)}`).join('\n');
  }

  async stop(): Promise<void> {
    for (const n of this.learners) if (n.frozen) n.thaw();
    await Promise.all([...this.learners.map((n) => n.stop()), ...this.gateways.map((g) => g.stop())]);
    await this.spy.close().catch(() => undefined);
    await this.bus.stop();
    rmSync(this.root, { recursive: true, force: true });
    if (this.spy.twoLeaders) throw new Error(this.spy.twoLeaders);
  }

  /** The flags that put a process on this cluster's bus as `who`. */
  busArgs(who: BusIdentity): string[] {
    return ['--nats', this.bus.urls, '--nats-nkey', this.bus.seed(who), '--nats-tls-ca', this.bus.ca];
  }

  /** A seed file for an nkey the bus does not know: an intruder's. */
  strangerSeed(): string {
    const file = join(this.root, 'stranger.nk');
    writeFileSync(file, new TextDecoder().decode(createUser().getSeed()) + '\n', { mode: 0o600 });
    return file;
  }

  /** A fresh directory under the cluster's root, removed with it. */
  tempDir(name: string): string {
    return mkdtempSync(join(this.root, `${name}-`));
  }
}

/** Log lines of `n`'s current process with this message. */
export function lines(n: Node, msg: string): LogLine[] {
  return n.logs().filter((l) => l.msg === msg);
}

/** The modes the leader logged for syncing `learner` since `since` (ms), oldest first. */
export function leaderSyncModes(leader: Node, learner: string, since: number): string[] {
  return lines(leader, 'syncing learner')
    .filter((l) => l.learner === learner && Number(l.time) >= since)
    .map((l) => String(l.mode));
}
