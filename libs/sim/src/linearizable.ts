import { Err } from '@zooid/protocol';
import type { HistOp } from './history.js';

/** One znode as the writes see it. */
interface KeyState {
  exists: boolean;
  data: string;
  version: number;
}

const ABSENT: KeyState = { exists: false, data: '', version: -1 };

/**
 * The next state if `op` took effect with the result it reported, or null
 * when that result is impossible from `s`. An op with no result may have
 * done anything a real write could.
 */
function step(s: KeyState, op: HistOp): KeyState | null {
  const o = op.op;
  const r = op.result;
  switch (o.type) {
    case 'create': {
      const next = { exists: true, data: o.data, version: 0 };
      if (!r) return s.exists ? s : next;
      if (r.err === Err.OK) return s.exists ? null : next;
      if (r.err === Err.NODEEXISTS) return s.exists ? s : null;
      return s;
    }
    case 'set': {
      const fits = s.exists && (o.version === -1 || o.version === s.version);
      const next = { exists: true, data: o.data, version: s.version + 1 };
      if (!r) return fits ? next : s;
      if (r.err === Err.OK) return fits && r.version === next.version ? next : null;
      if (r.err === Err.NONODE) return s.exists ? null : s;
      if (r.err === Err.BADVERSION) return s.exists && !fits ? s : null;
      return s;
    }
    case 'delete': {
      const fits = s.exists && (o.version === -1 || o.version === s.version);
      if (!r) return fits ? ABSENT : s;
      if (r.err === Err.OK) return fits ? ABSENT : null;
      if (r.err === Err.NONODE) return s.exists ? null : s;
      if (r.err === Err.BADVERSION) return s.exists && !fits ? s : null;
      return s;
    }
    default:
      return s;
  }
}

export type LinResult = { ok: true } | { ok: false; detail: string } | { ok: 'unknown' };

/**
 * Wing & Gong's search, with Lowe's memo of (linearized set, state) as in
 * Porcupine: is there an order of these writes to one key, each taking effect
 * between its call and its return, that explains every result? Ops without a
 * result may be placed anywhere after their call, or nowhere. Gives up
 * (`unknown`) after `budget` search steps rather than run long.
 */
export function linearizeKey(ops: readonly HistOp[], budget = 200_000): LinResult {
  const sorted = [...ops].sort((a, b) => a.call - b.call || a.id - b.id);
  const n = sorted.length;
  const done = new Uint8Array(n);
  const required = sorted.filter((o) => o.result).length;
  const seen = new Set<string>();
  let steps = 0;
  let deepest = 0;
  const search = (state: KeyState, left: number, depth: number): boolean | 'budget' => {
    if (left === 0) return true;
    if (++steps > budget) return 'budget';
    deepest = Math.max(deepest, depth);
    let minRet = Infinity;
    for (let i = 0; i < n; i++) if (!done[i] && sorted[i]!.result) minRet = Math.min(minRet, sorted[i]!.ret!);
    for (let i = 0; i < n; i++) {
      const op = sorted[i]!;
      if (done[i] || op.call > minRet) continue;
      const next = step(state, op);
      if (!next || (!op.result && next === state)) continue;
      done[i] = 1;
      const key = `${done.join('')}|${next.exists}|${next.data}|${next.version}`;
      if (!seen.has(key)) {
        seen.add(key);
        const r = search(next, left - (op.result ? 1 : 0), depth + 1);
        if (r !== false) {
          done[i] = 0;
          return r;
        }
      }
      done[i] = 0;
    }
    return false;
  };
  const r = search(ABSENT, required, 0);
  if (r === 'budget') return { ok: 'unknown' };
  if (r) return { ok: true };
  return { ok: false, detail: `no order explains ${required} completed writes; the longest explained prefix has ${deepest}` };
}
