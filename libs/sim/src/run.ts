import { CALM, SimBus, type BusFaults } from './bus.js';
import { SimClient } from './client.js';
import { SimGateway } from './gateway.js';
import { check } from './check.js';
import { emptyRecord, type History, type Violation } from './history.js';
import { Member, type Defects, type Timing } from './member.js';
import type { SimMsg } from './messages.js';
import { Rng } from './rng.js';
import { Scheduler } from './scheduler.js';
import { digestOf } from '@zooid/tree';

export interface RunOptions {
  seed: number;
  /** Length of the faulty phase, in ticks. */
  steps?: number;
  voters?: number;
  observers?: number;
  gateways?: number;
  clients?: number;
  defects?: Defects & { forgetLastZxid?: boolean; replyBeforeWatch?: boolean };
  /** Relative weights of the kinds of fault (default DEFAULT_MIX). */
  mix?: FaultMix;
  /** Share of member faults aimed at the current leader (default 1/3). */
  leaderBias?: number;
  /** Chance per 50 ms that a gateway moves a connection's session to another learner (default 1%). */
  clientMoves?: number;
  /**
   * Dynamic reconfiguration: five member processes, of which the first 3 or
   * 5 vote at start, and an operator client that adds and removes voters.
   */
  reconfig?: boolean;
  /** Replays only these faults of the seed's schedule (by index), to shrink a failing trace. */
  only?: ReadonlySet<number>;
}

/** `member: 'leader'` names whoever leads when the fault strikes (a random member when nobody does). */
export type Fault =
  | { at: number; kind: 'crash'; member: string; downMs: number }
  /** Several members lose power at once (a rack, a zone) and come back one by one. */
  | { at: number; kind: 'crash-many'; members: string[]; downMs: number[] }
  | { at: number; kind: 'pause'; member: string; ms: number }
  /** What a member sends (to one member only, if `to`) is held up by `extraMs` for `ms`: a congested route between bus servers. */
  | { at: number; kind: 'slow'; member: string; to?: string; extraMs: number; ms: number }
  | { at: number; kind: 'partition'; groups: string[][]; ms: number }
  | { at: number; kind: 'cut'; from: string; to: string; ms: number }
  | { at: number; kind: 'bus-restart'; downMs: number }
  /** A gateway dies with its connections; its clients reconnect through another, or through it once it is back. */
  | { at: number; kind: 'gateway-crash'; gateway: string; downMs: number };

export interface RunResult {
  seed: number;
  violations: Violation[];
  inconclusive: string[];
  faults: Fault[];
  /** Index into `faults` of those that were applied. */
  applied: number[];
  ops: number;
  committed: number;
  leaders: number;
  history: History;
  simulatedMs: number;
  /** Scheduler events run, and bus messages sent and lost. */
  events: number;
  messages: number;
  lost: number;
}

const TIMING: Timing = { tickTime: 100, initLimit: 10, syncLimit: 5 };
/** The operator's credentials: reconfig needs WRITE on /zookeeper/config, which only the super user has. */
export const SUPER_USER = 'super:sim';

/** One seeded run: an ensemble of real cores, replicas and trees under faults, clients recording what they saw, then the checker. */
export async function runSeed(o: RunOptions): Promise<RunResult> {
  // A seed runs to its end on microtasks alone; one real turn first lets a host (vitest's worker RPC) breathe between seeds.
  await new Promise((resolve) => setImmediate(resolve));
  const rng = new Rng(o.seed);
  const nVoters = o.voters ?? rng.pick([3, 3, 5]);
  const nObservers = o.observers ?? rng.int(0, 1);
  const nGateways = o.gateways ?? rng.int(1, 2);
  const nClients = o.clients ?? 4;
  const steps = o.steps ?? 100;
  const sched = new Scheduler();
  const bus = new SimBus<SimMsg>(sched, rng.fork());
  const voters = Array.from({ length: nVoters }, (_, i) => String(i + 1));
  // Members no configuration lists yet (started as `--join`): a reconfig may add them.
  const participants = o.reconfig ? Array.from({ length: Math.max(nVoters, 5) }, (_, i) => String(i + 1)) : voters;
  const observers = Array.from({ length: nObservers }, (_, i) => `o${i + 1}`);
  const members = [...participants, ...observers];
  const record = emptyRecord(voters);
  const violations: Violation[] = [];
  const world = {
    sched,
    bus,
    voters,
    participants,
    members,
    tree: { superDigest: digestOf(SUPER_USER) },
    timing: TIMING,
    record,
    defects: o.defects ?? {},
    fail: (member: string, err: unknown) => violations.push({ kind: 'assertion' as const, detail: `${member} at ${sched.now} ms: ${err instanceof Error ? err.message : String(err)}` }),
    holders: (zxid: number, payload: Uint8Array): string[] => [...byId.values()].filter((m) => m.holdsDurably(zxid, payload)).map((m) => m.id),
  };
  const faultRng = rng.fork();
  const byId: Map<string, Member> = new Map(
    members.map((id) => [id, new Member(id, participants.includes(id), world, rng.fork(), { offsetMs: rng.int(0, 5000), driftPpm: rng.int(-2000, 2000) })]),
  );
  const diskTorn = rng.chance(0.5) ? 0.5 : 0;
  const slowDisk = rng.chance(0.3);
  for (const m of byId.values()) m.disk.faults = { minFsync: 1, maxFsync: slowDisk ? 80 : 8, torn: diskTorn };
  const faulty: BusFaults = {
    drop: rng.pick([0, 0.01, 0.05]),
    duplicate: rng.pick([0, 0.01, 0.05]),
    minDelay: 1,
    maxDelay: rng.pick([2, 10, 30]),
    straggle: rng.pick([0, 0.001, 0.01]),
  };
  const ops: History['ops'] = [];
  const events: History['events'] = [];
  const gateways = Array.from(
    { length: nGateways },
    (_, i) => new SimGateway(`g${i + 1}`, sched, bus, rng.fork(), members, { moves: o.clientMoves ?? 0.01, forgetLastZxid: o.defects?.forgetLastZxid, replyBeforeWatch: o.defects?.replyBeforeWatch }),
  );
  const clients = Array.from({ length: nClients }, (_, i) => new SimClient(`c${i + 1}`, sched, rng.fork(), gateways, ops, events, { pipeline: 3 }));
  if (o.reconfig) clients.push(new SimClient('operator', sched, rng.fork(), gateways, ops, events, { pipeline: 1, operator: { members: participants, auth: SUPER_USER } }));

  const faults = schedule(
    faultRng,
    members,
    gateways.map((g) => g.id),
    steps * TIMING.tickTime,
    o.mix ?? DEFAULT_MIX,
    o.leaderBias ?? 1 / 3,
  );
  const applied: number[] = [];
  faults.forEach((f, i) => {
    if (o.only && !o.only.has(i)) return;
    sched.at(f.at, () => {
      applied.push(i);
      inject(f);
    });
  });
  const resolve = (member: string): Member => {
    if (member !== 'leader') return byId.get(member)!;
    return [...byId.values()].find((m) => m.role.startsWith('leading')) ?? byId.get(faultRng.pick(members))!;
  };
  const crash = (m: Member, downMs: number) => {
    if (!m.proc.alive) return;
    m.crash();
    sched.after(downMs, () => m.restart());
  };
  function inject(f: Fault): void {
    switch (f.kind) {
      case 'crash':
        return crash(resolve(f.member), f.downMs);
      case 'crash-many':
        f.members.forEach((id, i) => crash(byId.get(id)!, f.downMs[i]!));
        return;
      case 'pause':
        resolve(f.member).proc.pause(f.ms);
        return;
      case 'slow':
        sched.after(f.ms, bus.delay(resolve(f.member).id, f.extraMs, f.to === undefined ? undefined : resolve(f.to).id));
        return;
      case 'partition':
        sched.after(f.ms, bus.partition(f.groups));
        return;
      case 'cut':
        sched.after(f.ms, bus.block(resolve(f.from).id, resolve(f.to).id, false));
        return;
      case 'bus-restart':
        bus.restart(f.downMs);
        return;
      case 'gateway-crash': {
        const g = gateways.find((x) => x.id === f.gateway)!;
        if (!g.proc.alive) return;
        g.crash();
        sched.after(f.downMs, () => g.restart());
        return;
      }
    }
  }

  try {
    for (const m of byId.values()) m.start();
    for (const g of gateways) g.start();
    await sched.runUntilAsync(1000);
    bus.faults = faulty;
    for (const c of clients) c.start();
    const faultEnd = 1000 + steps * TIMING.tickTime;
    await sched.runUntilAsync(faultEnd);
    // Quiet: every fault healed, every member back, no new requests; wait for the ensemble to settle.
    bus.faults = CALM;
    bus.heal();
    for (const c of clients) c.stop();
    for (const m of byId.values()) m.disk.faults = { minFsync: 1, maxFsync: 8, torn: 0 };
    await sched.runUntilAsync(faultEnd + 20_000);
    const settled = () => [...byId.values()].every((m) => m.proc.alive && m.serving) && clients.every((c) => c.idle) && new Set([...byId.values()].map((m) => m.lastZxid)).size === 1;
    for (let t = 0; t < 30 && !settled(); t++) await sched.runUntilAsync(sched.now + 1000);
    for (const m of byId.values()) if (m.proc.alive && m.serving) record.final.push({ member: m.id, lastZxid: m.lastZxid, digest: m.digest! });
    const history: History = { ops, events, ensemble: record };
    const report = check(history, { quiescent: true });
    if (!settled()) violations.push({ kind: 'stuck', detail: `the ensemble did not settle within 50 s of quiet (${[...byId.values()].map((m) => `${m.id}:${m.role}${m.serving ? '' : ' not serving'}`).join(', ')})` });
    return result(history, [...violations, ...report.violations], report.inconclusive);
  } catch (err) {
    violations.push({ kind: 'assertion', detail: `simulation failed at ${sched.now} ms: ${err instanceof Error ? err.stack : String(err)}` });
    return result({ ops, events, ensemble: record }, violations, []);
  }

  function result(history: History, vs: Violation[], inconclusive: string[]): RunResult {
    const committed = new Set([...record.applied.values()].flatMap((life) => life.map((t) => t.zxid))).size;
    return { seed: o.seed, violations: vs, inconclusive, faults, applied, ops: ops.length, committed, leaders: record.leaders.length, history, simulatedMs: sched.now, events: sched.steps, messages: bus.sent, lost: bus.lost };
  }
}

export type FaultKind = Fault['kind'];

/** How often each kind of fault is drawn, relative to the others. */
export type FaultMix = Record<FaultKind, number>;

export const DEFAULT_MIX: FaultMix = { crash: 30, 'crash-many': 10, pause: 10, slow: 5, partition: 15, cut: 15, 'bus-restart': 15, 'gateway-crash': 10 };

/** The seed's faults: drawn up front from their own generator, so a subset can be replayed exactly. */
function schedule(rng: Rng, members: readonly string[], gateways: readonly string[], span: number, mix: FaultMix, leaderBias: number): Fault[] {
  const faults: Fault[] = [];
  const kinds = Object.entries(mix) as [FaultKind, number][];
  const total = kinds.reduce((n, [, w]) => n + w, 0);
  let at = 1000 + rng.int(100, 1000);
  while (at < 1000 + span) {
    let r = rng.float() * total;
    const kind = kinds.find(([, w]) => (r -= w) < 0)?.[0] ?? kinds.at(-1)![0];
    // Faults that strike whoever leads at the time: that is where the protocol is most delicate.
    const member = rng.chance(leaderBias) ? 'leader' : rng.pick(members);
    const other = rng.pick(members);
    switch (kind) {
      case 'crash':
        faults.push({ at, kind, member, downMs: rng.int(50, 3000) });
        break;
      case 'crash-many': {
        const hit = members.filter(() => rng.chance(0.6));
        faults.push({ at, kind, members: hit, downMs: hit.map(() => rng.int(50, 3000)) });
        break;
      }
      case 'pause':
        faults.push({ at, kind, member, ms: rng.int(50, 2000) });
        break;
      case 'slow':
        faults.push({ at, kind, member, to: rng.chance(0.5) ? other : undefined, extraMs: rng.int(100, 2000), ms: rng.int(200, 3000) });
        break;
      case 'partition': {
        const shuffled = [...members];
        for (let i = shuffled.length - 1; i > 0; i--) {
          const j = rng.int(0, i);
          [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
        }
        const cut = rng.int(1, members.length - 1);
        faults.push({ at, kind, groups: [shuffled.slice(0, cut), shuffled.slice(cut)], ms: rng.int(200, 3000) });
        break;
      }
      case 'cut':
        faults.push(rng.chance(0.5) ? { at, kind, from: member, to: other, ms: rng.int(200, 3000) } : { at, kind, from: other, to: member, ms: rng.int(200, 3000) });
        break;
      case 'bus-restart':
        faults.push({ at, kind, downMs: rng.int(10, 500) });
        break;
      case 'gateway-crash':
        faults.push({ at, kind, gateway: rng.pick(gateways), downMs: rng.int(50, 3000) });
        break;
    }
    at += rng.int(200, 1500);
  }
  return faults;
}
