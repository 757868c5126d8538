import { describe, expect, it } from 'vitest';
import { decodeTxn } from '@zooid/tree';
import { runSeed, type FaultMix, type RunOptions, type RunResult } from '../src/run.js';
import { describeFailure } from '../src/trace.js';
import type { Violation } from '../src/history.js';

/** Seeds every `npm test` runs: a few seconds of simulated faults each, well inside the time budget on two cores. */
const BUDGET = Number(process.env.ZOOID_SIM_SEEDS ?? 500);
/** Seeds with an operator reconfiguring the ensemble under the same faults. */
const RECONFIG_BUDGET = Number(process.env.ZOOID_SIM_RECONFIG_SEEDS ?? 100);

const fingerprint = (r: RunResult) =>
  JSON.stringify({ ops: r.history.ops, events: r.history.events, applied: [...r.history.ensemble.applied], v: r.violations }, (_k, x) =>
    typeof x === 'bigint' ? x.toString(16) : x instanceof Uint8Array ? Buffer.from(x).toString('base64') : x,
  );

describe('the simulator', () => {
  it('replays a seed exactly', async () => {
    const a = await runSeed({ seed: 7 });
    const b = await runSeed({ seed: 7 });
    expect(a.ops).toBeGreaterThan(0);
    expect(fingerprint(b)).toBe(fingerprint(a));
    expect(fingerprint(await runSeed({ seed: 8 }))).not.toBe(fingerprint(a));
  });

  it('replays a subset of a seed\'s faults exactly', async () => {
    const only = new Set([0, 2]);
    expect(fingerprint(await runSeed({ seed: 5, only }))).toBe(fingerprint(await runSeed({ seed: 5, only })));
  });

  it(`finds no violation in ${BUDGET} seeds`, { timeout: 170_000 }, async () => {
    const failures: string[] = [];
    for (let seed = 1; seed <= BUDGET; seed++) {
      const r = await runSeed({ seed });
      if (r.violations.length > 0) failures.push(describeFailure({ seed }, r));
    }
    expect(failures.join('\n\n')).toBe('');
  });
});

describe('the simulator with dynamic reconfiguration', () => {
  it(`finds no violation in ${RECONFIG_BUDGET} seeds where an operator adds and removes voters`, { timeout: 120_000 }, async () => {
    const failures: string[] = [];
    let changes = 0;
    let leadersRemoved = 0;
    for (let seed = 1; seed <= RECONFIG_BUDGET; seed++) {
      const r = await runSeed({ seed, reconfig: true });
      if (r.violations.length > 0) failures.push(describeFailure({ seed, reconfig: true }, r));
      const committed = new Set<number>();
      for (const life of r.history.ensemble.applied.values()) for (const t of life) if (decodeTxn(t.payload).txn.type === 'reconfig') committed.add(t.zxid);
      changes += committed.size;
      leadersRemoved += r.history.ensemble.trace.filter((e) => e.what.includes('removed from the configuration')).length;
    }
    expect(failures.join('\n\n')).toBe('');
    // The runs did reconfigure under their faults: changes committed in most seeds, some of them removing the leader.
    expect(changes).toBeGreaterThan(RECONFIG_BUDGET);
    expect(leadersRemoved).toBeGreaterThan(0);
  });
});

/**
 * Each planted defect must be caught within 100 seeds: the first seed
 * (from 1) whose run with the defect shows a violation of a kind that defect
 * should cause, while the same seed without it shows none.
 */
async function catches(defects: RunOptions['defects'], kinds: Violation['kind'][], opts: Omit<RunOptions, 'seed' | 'defects'> = {}, seeds = 100): Promise<number | undefined> {
  for (let seed = 1; seed <= seeds; seed++) {
    const bad = await runSeed({ seed, defects, ...opts });
    if (!bad.violations.some((v) => kinds.includes(v.kind))) continue;
    if ((await runSeed({ seed, ...opts })).violations.length > 0) continue;
    return seed;
  }
  return undefined;
}

const DIVERGENCE: Violation['kind'][] = ['logs-diverge', 'lost-write', 'not-linearizable', 'read-mismatch', 'digests-differ'];
const POWER_LOSS: FaultMix = { crash: 20, 'crash-many': 40, pause: 0, slow: 0, partition: 10, cut: 0, 'bus-restart': 0 };
const SLOW_LEADERS: FaultMix = { crash: 10, 'crash-many': 0, pause: 0, slow: 50, partition: 10, cut: 0, 'bus-restart': 0 };

describe('planted defects are caught', { timeout: 60_000 }, () => {
  it('committing on one ack fewer than a quorum', async () => {
    expect(await catches({ oneAckShort: true }, DIVERGENCE)).toBeDefined();
  });

  it('acking (and so committing and applying) before the fsync', async () => {
    // Power lost on several members at once loses what they acked but never wrote.
    expect(await catches({ ackBeforeFsync: true }, DIVERGENCE, { mix: POWER_LOSS, leaderBias: 0.5 })).toBeDefined();
  });

  it('accepting a broadcast from an old epoch', async () => {
    expect(await catches({ acceptOldEpoch: true }, DIVERGENCE, { mix: SLOW_LEADERS, leaderBias: 0.8 })).toBeDefined();
  });

  it('answering reads before the session\'s last zxid', async () => {
    // A learner behind a slow route from the leader lags while it still serves; sessions that move often find it.
    expect(await catches({ forgetLastZxid: true }, ['stale-read'], { mix: SLOW_LEADERS, leaderBias: 0.9, clientMoves: 0.1 })).toBeDefined();
  });

  it('counting only the committed voters while a configuration change is pending (elections, establishing an epoch)', async () => {
    // A change logged but not known committed then commits, or rules, without its new voters' quorum.
    expect(await catches({ ignorePendingConfig: true }, ['no-quorum', 'two-leaders', ...DIVERGENCE], { reconfig: true })).toBeDefined();
  });

  it('letting every member that leads hear each learner\'s acks, not only the leader it follows', async () => {
    // Two members elected at once by quorums that share a learner then both establish the same epoch.
    expect(await catches({ leadersShareAcks: true }, ['two-leaders', ...DIVERGENCE], { mix: POWER_LOSS })).toBeDefined();
  });

  it('delivering a reply before the watch event its change fired', async () => {
    expect(await catches({ replyBeforeWatch: true }, ['watch-order'])).toBeDefined();
  });
});
