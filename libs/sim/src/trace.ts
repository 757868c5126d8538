import { hexZxid } from '@zooid/zab';
import { runSeed, type Fault, type RunOptions, type RunResult } from './run.js';

/**
 * Shrinks a failing seed's fault schedule, keeping a replay that still shows
 * a violation of the same kind. Faults after the violation cannot have
 * caused it, and dropping a fault leaves everything before it as it was: so
 * first the shortest prefix of the schedule that still fails (a binary
 * search), then one fault at a time, latest first. Each replay is the same
 * seed with fewer faults, so the answer reproduces exactly.
 */
export async function shrink(o: RunOptions, failed: RunResult, maxRuns = 40): Promise<RunResult> {
  const kind = failed.violations[0]!.kind;
  let best = failed;
  let runs = 0;
  const fails = async (keep: number[]): Promise<boolean> => {
    runs++;
    const r = await runSeed({ ...o, only: new Set(keep) });
    if (!r.violations.some((v) => v.kind === kind)) return false;
    best = r;
    return true;
  };
  const applied = [...failed.applied].sort((a, b) => a - b);
  let lo = 0;
  let hi = applied.length;
  while (lo < hi && runs < maxRuns) {
    const mid = (lo + hi) >> 1;
    if (await fails(applied.slice(0, mid))) hi = mid;
    else lo = mid + 1;
  }
  let keep = applied.slice(0, hi);
  for (const i of [...keep].reverse()) {
    if (runs >= maxRuns) break;
    const without = keep.filter((x) => x !== i);
    if (await fails(without)) keep = without;
  }
  return best;
}

/** What to print for a failing seed: how to replay it, its faults, its violations and the operations they name. */
export function describeFailure(o: RunOptions, r: RunResult): string {
  const lines: string[] = [];
  const faults = r.applied.map((i) => `  #${i} ${formatFault(r.faults[i]!)}`);
  lines.push(`seed ${r.seed}: ${r.violations.length} violation(s); replay: npm run sim -- --seed ${r.seed}${o.steps ? ` --steps ${o.steps}` : ''}${o.reconfig ? ' --reconfig' : ''} --faults ${r.applied.join(',') || 'none'}`);
  lines.push(`faults (${r.applied.length}):`, ...faults);
  lines.push('violations:');
  for (const v of r.violations.slice(0, 10)) lines.push(`  ${v.kind}: ${v.detail}`);
  const named = new Set<number>();
  for (const v of r.violations.slice(0, 10)) for (const m of v.detail.matchAll(/op (\d+)/g)) named.add(Number(m[1]));
  if (named.size > 0) lines.push('operations named:');
  for (const id of [...named].sort((a, b) => a - b)) {
    const op = r.history.ops[id];
    if (!op) continue;
    const res = op.result ? `err ${op.result.err} at ${hexZxid(op.result.zxid)}${op.result.data !== undefined ? ` "${op.result.data}"` : ''}${op.result.version !== undefined ? ` v${op.result.version}` : ''}` : 'no answer';
    lines.push(`  op ${id} ${op.client} session ${op.session} conn ${op.conn} xid ${op.xid} ${JSON.stringify(op.op)} called ${op.call} ms → ${res}${op.ret !== undefined ? ` at ${op.ret} ms` : ''}`);
  }
  const trace = r.history.ensemble.trace;
  const shown = trace.slice(-TRACE_LINES);
  lines.push(`members${shown.length < trace.length ? ` (the last ${shown.length} of ${trace.length} events)` : ''}:`);
  for (const e of shown) lines.push(`  ${e.at} ms ${e.member}: ${e.what}`);
  const leaders = r.history.ensemble.leaders.map((l) => `${l.member}@e${l.epoch} (${l.at} ms)`).join(', ');
  lines.push(`leaders: ${leaders || 'none'}`);
  return lines.join('\n');
}

/** Member lifecycle events printed for a failing seed: the end of the run is where a violation shows. */
const TRACE_LINES = 80;

function formatFault(f: Fault): string {
  switch (f.kind) {
    case 'crash':
      return `${f.at} ms: crash member ${f.member}, back after ${f.downMs} ms`;
    case 'crash-many':
      return `${f.at} ms: crash members ${f.members.map((m, i) => `${m} (back after ${f.downMs[i]} ms)`).join(', ') || 'none'}`;
    case 'slow':
      return `${f.at} ms: what ${f.member} sends${f.to === undefined ? '' : ` to ${f.to}`} is held up ${f.extraMs} ms, for ${f.ms} ms`;
    case 'pause':
      return `${f.at} ms: pause member ${f.member} for ${f.ms} ms`;
    case 'partition':
      return `${f.at} ms: partition ${f.groups.map((g) => `{${g.join(',')}}`).join(' | ')} for ${f.ms} ms`;
    case 'cut':
      return `${f.at} ms: cut ${f.from} → ${f.to} (one way) for ${f.ms} ms`;
    case 'bus-restart':
      return `${f.at} ms: bus server restarts, down ${f.downMs} ms`;
    case 'gateway-crash':
      return `${f.at} ms: crash gateway ${f.gateway}, back after ${f.downMs} ms`;
  }
}
