/**
 * The half of `zooid scale` that runs inside `zooid up`: it starts and
 * stops members and observers and drives the reconfig that makes a new
 * member a voter or an old one not. One voter at a time, each change
 * committed before the next begins, so the ensemble never loses more than
 * one vote at once and a failure leaves it in a shape it has committed.
 */
import { ZooKeeperClient, isZooKeeperError } from '@zooid/client';
import type { BusConfig, Logger } from '@zooid/runtime';
import type { ChildPlan } from './up.js';
import type { ScaleRequest } from './scale-channel.js';
import { clusterView, findLeader, hearPresence, type MemberRow } from './status.js';
import type { ProcessGroup } from './supervise.js';
import { writeScaledShape, type ScaledShape } from './up-state.js';

export interface ScalerOptions {
  group: ProcessGroup;
  log: Logger;
  dataDir: string;
  cluster: string;
  /** The shape running now. */
  shape: ScaledShape;
  reconfigEnabled: boolean;
  /** The super user's password reconfig is sent with; none when the operator chose the super digest. */
  superPassword?: string;
  /** The gateways' client addresses (a connect string), for the reconfig; none without gateways. */
  connectString?: string;
  /** Where presence is heard, as `zooid status` hears it. */
  bus: BusConfig;
  /** The command line of member `id`; `joining`: a new member, which learns the configuration from the ensemble. */
  memberChild: (id: number, joining?: boolean) => ChildPlan;
  observerChild: (n: number) => ChildPlan;
  /** Lets exactly the processes of `shape` on the bus (the managed bus; nothing to do on the operator's). */
  provision: (shape: ScaledShape) => Promise<void>;
  /** How long one voter may take to sync, and one reconfig to commit. */
  stepMs?: number;
}

/**
 * The `server.N` line of a voter, as for the static ensemble: host and
 * ports are only displayed (members talk over NATS), and no client address,
 * for clients connect to gateways (a Curator client would move to it).
 */
const serverLine = (id: number) => `server.${id}=zooid-${id}:2888:3888:participant`;
const ids = (from: number, to: number) => Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => from + i);

/** /zookeeper/config as the scaler needs it: the voters, the server lines as they are, the version. */
interface ConfigView {
  voters: Set<number>;
  lines: string[];
  version: number;
}

/** A /zookeeper/config text, empty until the leader of a new ensemble has shown its static configuration. */
function configView(text: string): ConfigView {
  const lines = text.split('\n').filter((l) => l.startsWith('server.'));
  const voters = new Set(lines.flatMap((l) => /^server\.(\d+)=[^;]*:participant(?:;|$)/.exec(l)?.[1] ?? []).map(Number));
  const version = /^version=([0-9a-f]+)$/m.exec(text)?.[1];
  return { voters, lines, version: version === undefined ? -1 : parseInt(version, 16) };
}

/** Whether the configuration already has what the change asks for. */
function applied(change: { joining?: string; leaving?: string }, voters: Set<number>): boolean {
  if (change.joining) return voters.has(Number(/^server\.(\d+)=/.exec(change.joining)![1]));
  return voters.size > 0 && !voters.has(Number(change.leaving));
}

/**
 * ZooKeeper's answers that mean "not yet": the joiner is still syncing,
 * another change is committing, or one committed since the configuration
 * was read (a new leader showing its configuration's version): read again.
 */
const TRANSIENT = new Set(['NewConfigNoQuorum', 'ReconfigInProgress', 'BadVersion', 'ConnectionLoss', 'OperationTimeout']);

export class Scaler {
  private busy = false;
  private readonly stepMs: number;

  constructor(private readonly o: ScalerOptions) {
    this.stepMs = o.stepMs ?? 60_000;
  }

  /** The channel's handler: one request at a time. */
  readonly handle = async (req: ScaleRequest, note: (text: string) => void): Promise<string> => {
    if (this.busy) throw new Error('a scale is already in progress on this `zooid up`');
    this.busy = true;
    try {
      return await this.scale(req, note);
    } finally {
      this.busy = false;
    }
  };

  /** Whether this `up` can change its voters at all; when not, a request for as many as it has changes observers only. */
  private get reconfigurable(): boolean {
    return this.o.reconfigEnabled && this.o.shape.followers >= 2 && this.o.connectString !== undefined && this.o.superPassword !== undefined;
  }

  private refuse(req: ScaleRequest): string | undefined {
    const { followers } = req;
    const observers = req.observers ?? this.o.shape.observers;
    if (!Number.isInteger(followers) || !Number.isInteger(observers) || followers < 0 || observers < 0) return 'followers and observers must be whole numbers, at least 0';
    if (followers === this.o.shape.followers && !this.reconfigurable) return undefined;
    const dir = this.o.dataDir;
    if (!this.o.reconfigEnabled) {
      return `this \`zooid up\` runs without --reconfig-enabled, so its voters are fixed: stop it and start it again on the same data directory with --reconfig-enabled (\`zooid up --data-dir ${dir} --reconfig-enabled …\`), then scale`;
    }
    // A one-voter `up` runs a standalone member, which has no quorum to join: reconfig needs an ensemble.
    if (followers < 2 || this.o.shape.followers < 2) return `voters scale between 2 and more: a one-voter \`zooid up\` is a standalone member (asked ${this.o.shape.followers} → ${followers})`;
    if (!this.o.connectString) return 'reconfig goes through a gateway: this `zooid up` runs none (--gateways 0)';
    if (this.o.superPassword === undefined) return 'this `zooid up` was given --super-digest, whose password it does not know: reconfig needs the super user (leave --super-digest off and `up` keeps its own in <data-dir>/super-password)';
    return undefined;
  }

  private async scale(req: ScaleRequest, note: (text: string) => void): Promise<string> {
    const why = this.refuse(req);
    if (why) throw new Error(why);
    const from = { ...this.o.shape };
    const observers = req.observers ?? from.observers;
    if (this.reconfigurable) await this.scaleVoters(req.followers, note);
    for (const n of ids(from.observers + 1, observers)) await this.addObserver(n, note);
    for (const n of ids(observers + 1, from.observers).reverse()) await this.removeObserver(n, note);
    const to = this.o.shape;
    return `voters ${from.followers} → ${to.followers}, observers ${from.observers} → ${to.observers}`;
  }

  private commit(shape: ScaledShape): void {
    this.o.shape = shape;
    writeScaledShape(this.o.dataDir, shape);
  }

  /**
   * The steps are worked out from /zookeeper/config, not from the record
   * alone: an `up` killed between a step's commit and its record (or a
   * reconfig whose answer was lost and whose member was stopped again)
   * leaves the configuration one voter ahead of or behind what runs.
   * Running members are 1..shape.followers; the voters are what the
   * configuration says.
   */
  private async scaleVoters(target: number, note: (text: string) => void): Promise<void> {
    const voting = await this.configuredVoters();
    // Grow, lowest first: every id up to the target that does not vote, or votes without running.
    for (const id of ids(1, target)) if (!voting.has(id) || id > this.o.shape.followers) await this.addVoter(id, note);
    // Shrink, highest first: every voter above the target, and every member above it that no longer votes.
    const above = new Set([...voting, ...ids(1, this.o.shape.followers)].filter((id) => id > target));
    for (const id of [...above].sort((x, y) => y - x)) await this.removeVoter(id, voting.has(id), note);
  }

  private async addVoter(id: number, note: (text: string) => void): Promise<void> {
    const grown = { ...this.o.shape, followers: Math.max(id, this.o.shape.followers) };
    await this.o.provision(grown);
    const child = this.o.memberChild(id, true);
    // A member the record runs but the configuration does not count (its removal's record was lost)
    // started without --join and refuses to run: it starts again as a joiner.
    await this.o.group.retire(child.name);
    this.o.group.spawn(child.name, child.args);
    note(`member ${id}: started as a non-voter, learning the configuration from the ensemble`);
    try {
      // Synced in the leader's configuration, voting or not: a voter already when an `up` killed after
      // the reconfig's commit lost the step from scaled.json, and reconfig() then finds it applied.
      await this.waitFor(`member ${id} to sync with the leader`, (rows, leader) => {
        const m = rows.find((r) => r.id === String(id));
        return m?.role === 'following' && m.config === leader?.config && m.lag !== null;
      });
      note(`member ${id}: synced; reconfig -members with ${serverLine(id)} added`);
      await this.reconfig({ joining: serverLine(id) });
    } catch (err) {
      // Not added: stopped again and the bus back to the record's shape; the next scale starts again from the configuration.
      await this.o.group.retire(child.name);
      await this.o.provision(this.o.shape);
      throw err;
    }
    this.commit(grown);
    note(`member ${id}: voting`);
  }

  /** `voting`: whether the configuration still counts it; when not, only its process is left to stop. */
  private async removeVoter(id: number, voting: boolean, note: (text: string) => void): Promise<void> {
    if (voting) {
      const remaining = ids(1, id - 1).map(String);
      // Quorum first: the change commits only if a majority of the voters that stay are up and synced.
      await this.waitFor(`a majority of voters ${remaining.join(',')} to be up and voting`, (rows) => {
        const up = rows.filter((r) => remaining.includes(r.id) && r.voting === 'yes' && (r.role === 'following' || r.role === 'leading'));
        return up.length > remaining.length / 2;
      });
      note(`member ${id}: reconfig -remove ${id}`);
      await this.reconfig({ leaving: String(id) });
    }
    await this.o.group.retire(`member-${id}`);
    this.commit({ ...this.o.shape, followers: Math.min(id - 1, this.o.shape.followers) });
    await this.o.provision(this.o.shape);
    note(`member ${id}: removed and stopped`);
  }

  private async addObserver(n: number, note: (text: string) => void): Promise<void> {
    await this.o.provision({ ...this.o.shape, observers: n });
    const child = this.o.observerChild(n);
    this.o.group.spawn(child.name, child.args);
    this.commit({ ...this.o.shape, observers: n });
    note(`observer o${n}: started`);
  }

  private async removeObserver(n: number, note: (text: string) => void): Promise<void> {
    await this.o.group.retire(`observer-${n}`);
    this.commit({ ...this.o.shape, observers: n - 1 });
    await this.o.provision(this.o.shape);
    note(`observer o${n}: stopped`);
  }

  /** Listens to presence until `ok` holds of what is heard, or the step's deadline passes. */
  private async waitFor(what: string, ok: (rows: MemberRow[], leader: MemberRow | undefined) => boolean): Promise<void> {
    const until = Date.now() + this.stepMs;
    for (;;) {
      const heard = await hearPresence(this.o.bus, this.o.cluster, 1500);
      const rows = clusterView(heard).members;
      const leader = rows.find((r) => r.id === findLeader(heard)?.id && r.role === 'leading');
      if (ok(rows, leader)) return;
      if (Date.now() > until) throw new Error(`timed out after ${this.stepMs} ms waiting for ${what}; last heard: ${rows.map((r) => `${r.id} ${r.role} voting=${r.voting ?? '-'}`).join(', ') || 'nobody'}`);
    }
  }

  /** The voters of /zookeeper/config; the running members until a leader has shown the configuration there. */
  private configuredVoters(): Promise<Set<number>> {
    return this.withConfig('read /zookeeper/config', async (_client, { voters }) => (voters.size > 0 ? voters : new Set(ids(1, this.o.shape.followers))));
  }

  /**
   * reconfig as the super user. The configuration is read first: a change
   * whose answer was lost may have committed, and is not asked twice. A
   * joiner is added by a whole (non-incremental) reconfig, the
   * configuration's lines as they are and its own: ZooKeeper's incremental
   * add refuses a server spec without a client address.
   */
  private reconfig(change: { joining?: string; leaving?: string }): Promise<void> {
    return this.withConfig(`reconfig ${JSON.stringify(change)}`, async (client, config) => {
      if (applied(change, config.voters)) return;
      if (change.leaving) {
        await client.reconfig(change);
        return;
      }
      // Shown with the first commit of a new leader's epoch: until then there is nothing to add to (retried).
      if (config.lines.length === 0) throw new Error('/zookeeper/config shows no configuration yet');
      await client.reconfig({ newMembers: [...config.lines, change.joining!].join('\n'), fromConfig: config.version });
    });
  }

  /**
   * Runs `fn` on a super user's session with the voters of /zookeeper/config
   * as the leader has them, retried while ZooKeeper answers "not yet"; other
   * refusals end the scale.
   */
  private async withConfig<T>(what: string, fn: (client: ZooKeeperClient, config: ConfigView) => Promise<T>): Promise<T> {
    const until = Date.now() + this.stepMs;
    for (;;) {
      let client: ZooKeeperClient | undefined;
      try {
        // 5 s a gateway: a stopped one leaves time to try the next within the 10 s.
        client = await ZooKeeperClient.connect(this.o.connectString!, { timeout: 10_000, attemptTimeout: 5_000 });
        await client.addAuth('digest', `super:${this.o.superPassword}`);
        await client.sync('/zookeeper/config');
        const { data } = await client.getConfig();
        return await fn(client, configView(data?.toString('utf8') ?? ''));
      } catch (err) {
        // A connection that failed (a gateway restarting) is worth another try too; a refusal is an answer.
        const code = isZooKeeperError(err) ? err.code : undefined;
        if ((code && !TRANSIENT.has(code)) || Date.now() > until) throw new Error(`${what} failed: ${(err as Error).message}`);
        this.o.log.warn({ what, code }, 'not accepted yet; retrying');
        await new Promise((r) => setTimeout(r, 500));
      } finally {
        await client?.close();
      }
    }
  }
}
