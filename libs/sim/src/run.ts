import { CALM, SimBus, type BusFaults } from './bus.js';
import { SimClient } from './client.js';
import { check } from './check.js';
import { emptyRecord, type History, type Violation } from './history.js';
import { Member, type Defects, type Timing } from './member.js';
import type { SimMsg } from './messages.js';
import { Rng } from './rng.js';
import { Scheduler } from './scheduler.js';

export interface RunOptions {
  seed: number;
  /** Length of the faulty phase, in ticks. */
  steps?: number;
  voters?: number;
  observers?: number;
  clients?: number;
  defects?: Defects & { forgetLastZxid?: boolean };
  /** Replays only these faults of the seed's schedule (by index), to shrink a failing trace. */
  only?: ReadonlySet<number>;
}

export type Fault =
  | { at: number; kind: 'crash'; member: string; downMs: number }
  | { at: number; kind: 'pause'; member: string; ms: number }
  | { at: number; kind: 'partition'; groups: string[][]; ms: number }
  | { at: number; kind: 'cut'; from: string; to: string; ms: number }
  | { at: number; kind: 'bus-restart'; downMs: number };

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
}

const TIMING: Timing = { tickTime: 100, initLimit: 10, syncLimit: 5 };

/** One seeded run: an ensemble of real cores, replicas and trees under faults, clients recording what they saw, then the checker. */
export function runSeed(o: RunOptions): RunResult {
  const rng = new Rng(o.seed);
  const nVoters = o.voters ?? rng.pick([3, 3, 5]);
  const nObservers = o.observers ?? rng.int(0, 1);
  const nClients = o.clients ?? 4;
  const steps = o.steps ?? 100;
  const sched = new Scheduler();
  const bus = new SimBus<SimMsg>(sched, rng.fork());
  const voters = Array.from({ length: nVoters }, (_, i) => String(i + 1));
  const observers = Array.from({ length: nObservers }, (_, i) => `o${i + 1}`);
  const members = [...voters, ...observers];
  const record = emptyRecord();
  const violations: Violation[] = [];
  const world = {
    sched,
    bus,
    voters,
    members,
    timing: TIMING,
    record,
    defects: o.defects ?? {},
    fail: (member: string, err: unknown) => violations.push({ kind: 'assertion' as const, detail: `${member} at ${sched.now} ms: ${err instanceof Error ? err.message : String(err)}` }),
  };
  const faultRng = rng.fork();
  const byId = new Map(
    members.map((id) => [id, new Member(id, voters.includes(id), world, rng.fork(), { offsetMs: rng.int(0, 5000), driftPpm: rng.int(-2000, 2000) })]),
  );
  const diskTorn = rng.chance(0.5) ? 0.5 : 0;
  const slowDisk = rng.chance(0.3);
  for (const m of byId.values()) m.disk.faults = { minFsync: 1, maxFsync: slowDisk ? 80 : 8, torn: diskTorn };
  const faulty: BusFaults = {
    drop: rng.pick([0, 0.01, 0.05]),
    duplicate: rng.pick([0, 0.01, 0.05]),
    minDelay: 1,
    maxDelay: rng.pick([2, 10, 30]),
    straggle: rng.pick([0, 0.01]),
  };
  const ops: History['ops'] = [];
  const events: History['events'] = [];
  const clients = Array.from(
    { length: nClients },
    (_, i) => new SimClient(`c${i + 1}`, sched, bus, rng.fork(), members, ops, events, { pipeline: 3, forgetLastZxid: o.defects?.forgetLastZxid }),
  );

  const faults = schedule(faultRng, members, steps * TIMING.tickTime);
  const applied: number[] = [];
  faults.forEach((f, i) => {
    if (o.only && !o.only.has(i)) return;
    sched.at(f.at, () => {
      applied.push(i);
      inject(f);
    });
  });
  function inject(f: Fault): void {
    switch (f.kind) {
      case 'crash': {
        const m = byId.get(f.member)!;
        if (!m.proc.alive) return;
        m.crash();
        sched.after(f.downMs, () => {
          m.proc.restart();
          m.start();
        });
        return;
      }
      case 'pause':
        byId.get(f.member)!.proc.pause(f.ms);
        return;
      case 'partition':
        sched.after(f.ms, bus.partition(f.groups));
        return;
      case 'cut':
        sched.after(f.ms, bus.block(f.from, f.to, false));
        return;
      case 'bus-restart':
        bus.restart(f.downMs);
        return;
    }
  }

  try {
    for (const m of byId.values()) m.start();
    sched.runUntil(1000);
    bus.faults = faulty;
    for (const c of clients) c.start();
    const faultEnd = 1000 + steps * TIMING.tickTime;
    sched.runUntil(faultEnd);
    // Quiet: every fault healed, every member back, no new requests; wait for the ensemble to settle.
    bus.faults = CALM;
    bus.heal();
    for (const c of clients) c.stop();
    for (const m of byId.values()) m.disk.faults = { minFsync: 1, maxFsync: 8, torn: 0 };
    sched.runUntil(faultEnd + 20_000);
    const settled = () => [...byId.values()].every((m) => m.proc.alive && m.serving) && clients.every((c) => c.idle) && new Set([...byId.values()].map((m) => m.lastZxid)).size === 1;
    for (let t = 0; t < 30 && !settled(); t++) sched.runUntil(sched.now + 1000);
    for (const m of byId.values()) if (m.proc.alive && m.serving) record.final.push({ member: m.id, lastZxid: m.lastZxid, digest: m.digest! });
    const history: History = { ops, events, ensemble: record };
    const report = check(history, { quiescent: true });
    if (!settled()) violations.push({ kind: 'assertion', detail: `the ensemble did not settle within 50 s of quiet (${[...byId.values()].map((m) => `${m.id}:${m.role}${m.serving ? '' : ' not serving'}`).join(', ')})` });
    return result(history, [...violations, ...report.violations], report.inconclusive);
  } catch (err) {
    violations.push({ kind: 'assertion', detail: `simulation failed at ${sched.now} ms: ${err instanceof Error ? err.stack : String(err)}` });
    return result({ ops, events, ensemble: record }, violations, []);
  }

  function result(history: History, vs: Violation[], inconclusive: string[]): RunResult {
    let committed = 0;
    for (const life of record.applied.values()) committed = Math.max(committed, life.length);
    return { seed: o.seed, violations: vs, inconclusive, faults, applied, ops: ops.length, committed, leaders: record.leaders.length, history, simulatedMs: sched.now };
  }
}

/** The seed's faults: drawn up front from their own generator, so a subset can be replayed exactly. */
function schedule(rng: Rng, members: readonly string[], span: number): Fault[] {
  const faults: Fault[] = [];
  let at = 1000 + rng.int(100, 1000);
  while (at < 1000 + span) {
    const r = rng.float();
    const member = rng.pick(members);
    if (r < 0.35) faults.push({ at, kind: 'crash', member, downMs: rng.int(50, 3000) });
    else if (r < 0.5) faults.push({ at, kind: 'pause', member, ms: rng.int(50, 2000) });
    else if (r < 0.7) {
      const shuffled = [...members].sort(() => rng.float() - 0.5);
      const cut = rng.int(1, members.length - 1);
      faults.push({ at, kind: 'partition', groups: [shuffled.slice(0, cut), shuffled.slice(cut)], ms: rng.int(200, 3000) });
    } else if (r < 0.85) {
      const to = rng.pick(members.filter((m) => m !== member));
      faults.push({ at, kind: 'cut', from: member, to, ms: rng.int(200, 3000) });
    } else faults.push({ at, kind: 'bus-restart', downMs: rng.int(10, 500) });
    at += rng.int(200, 1500);
  }
  return faults;
}
