import { Err, EventType } from '@zooid/protocol';
import { DataTree, decodeTxn, isQuorum, parseConfig, staticEnsemble, voterIds, type Ensemble, type Txn, type TxnHeader } from '@zooid/tree';
import { hexZxid } from '@zooid/zab';
import type { AppliedTxn, HistOp, History, Violation } from './history.js';
import { linearizeKey } from './linearizable.js';

export interface CheckOptions {
  /** Search steps per key before the linearizability check gives up (reported, not a violation). */
  linBudget?: number;
  /** Whether the run ended quiet, so every live member must hold the same tree. */
  quiescent?: boolean;
}

export interface CheckReport {
  violations: Violation[];
  /** Keys whose linearizability search ran out of budget. */
  inconclusive: string[];
}

interface Committed {
  zxid: number;
  hdr: TxnHeader;
  txn: Txn;
}

/** Checks a run's history against Zooid's promises. */
export function check(h: History, opts: CheckOptions = {}): CheckReport {
  const violations: Violation[] = [];
  const v = (kind: Violation['kind'], detail: string) => violations.push({ kind, detail });
  const log = committedLog(h, v);
  const byZxid = new Map(log.map((c) => [c.zxid, c]));
  checkWrites(h, byZxid, v);
  checkSessions(h, v);
  checkSyncs(h, v);
  checkReadsAndWatches(h, log, v);
  const inconclusive = checkLinearizable(h, opts.linBudget ?? 200_000, v);
  if (opts.quiescent) checkFinal(h, log, v);
  checkLeaders(h, v);
  checkConfigs(h, log, v);
  return { violations, inconclusive };
}

/**
 * Every member life's applied sequence must agree with every other's on the
 * zxids both hold, with no zxid skipped inside the range both cover; their
 * union, in zxid order, is the committed log.
 */
function committedLog(h: History, v: (k: Violation['kind'], d: string) => void): Committed[] {
  const all = new Map<number, { payload: Uint8Array; from: string }>();
  const lives = [...h.ensemble.applied.entries()];
  for (const [life, seq] of lives) {
    for (let i = 1; i < seq.length; i++) {
      if (seq[i]!.zxid <= seq[i - 1]!.zxid) v('logs-diverge', `${life} applied ${hexZxid(seq[i]!.zxid)} after ${hexZxid(seq[i - 1]!.zxid)}`);
    }
    for (const t of seq) {
      const prior = all.get(t.zxid);
      if (!prior) all.set(t.zxid, { payload: t.payload, from: life });
      else if (!sameBytes(prior.payload, t.payload)) v('logs-diverge', `${life} and ${prior.from} applied different transactions at ${hexZxid(t.zxid)}`);
    }
  }
  for (const [a, sa] of lives) {
    for (const [b, sb] of lives) {
      if (a >= b || sa.length === 0 || sb.length === 0) continue;
      const lo = Math.max(sa[0]!.zxid, sb[0]!.zxid);
      const hi = Math.min(sa.at(-1)!.zxid, sb.at(-1)!.zxid);
      const za = zxidsIn(sa, lo, hi);
      const zb = zxidsIn(sb, lo, hi);
      if (za.join() !== zb.join()) {
        const missing = za.find((z) => !zb.includes(z)) ?? zb.find((z) => !za.includes(z))!;
        v('logs-diverge', `${a} and ${b} disagree on whether ${hexZxid(missing)} was committed`);
      }
    }
  }
  return [...all.entries()]
    .sort((x, y) => x[0] - y[0])
    .map(([zxid, { payload }]) => ({ zxid, ...decodeTxn(payload) }));
}

function zxidsIn(seq: readonly AppliedTxn[], lo: number, hi: number): number[] {
  return seq.filter((t) => t.zxid >= lo && t.zxid <= hi).map((t) => t.zxid);
}

function isWrite(op: HistOp): boolean {
  return op.op.type !== 'get' && op.op.type !== 'sync';
}

/** Every answered write is in the committed log at the zxid its reply named, and the reply says what that transaction did. */
function checkWrites(h: History, byZxid: Map<number, Committed>, v: (k: Violation['kind'], d: string) => void): void {
  for (const op of h.ops) {
    const r = op.result;
    if (!r || !isWrite(op)) continue;
    const c = byZxid.get(r.zxid);
    if (!c || c.hdr.sessionId !== BigInt(`0x${op.session}`) || c.hdr.cxid !== op.xid) {
      v('lost-write', `${describe(op)} was answered at ${hexZxid(r.zxid)}, which the committed log ${c ? 'gives to another request' : 'does not hold'}`);
      continue;
    }
    const logged = c.txn.type === 'error' ? c.txn.err : Err.OK;
    if (logged !== r.err) v('reply-mismatch', `${describe(op)} answered ${r.err}, the committed transaction says ${logged}`);
    else if (op.op.type === 'create' && c.txn.type === 'create' && c.txn.path !== r.data) {
      v('reply-mismatch', `${describe(op)} answered path ${r.data}, the committed transaction created ${c.txn.path}`);
    } else if (op.op.type === 'reconfig' && c.txn.type === 'reconfig' && Buffer.from(c.txn.data).toString() !== r.data) {
      v('reply-mismatch', `${describe(op)} answered configuration ${JSON.stringify(r.data)}, the committed transaction made ${JSON.stringify(Buffer.from(c.txn.data).toString())}`);
    }
  }
}

/** Per session: replies in the order sent, never a zxid older than one already seen. */
function checkSessions(h: History, v: (k: Violation['kind'], d: string) => void): void {
  const seen = new Map<string, { zxid: number; op: number }>();
  const lastXid = new Map<string, number>();
  for (const e of h.events) {
    if (e.kind !== 'reply') continue;
    const conn = `${e.session}/${e.conn}`;
    const prevXid = lastXid.get(conn);
    if (prevXid !== undefined && e.xid <= prevXid) v('fifo', `session ${e.session} got the reply to xid ${e.xid} after the reply to xid ${prevXid}`);
    lastXid.set(conn, e.xid);
    const prior = seen.get(e.session);
    if (prior && e.zxid < prior.zxid) {
      v('stale-read', `session ${e.session}: op ${e.op} answered at ${hexZxid(e.zxid)} after op ${prior.op} had shown it ${hexZxid(prior.zxid)}`);
    }
    if (!prior || e.zxid > prior.zxid) seen.set(e.session, { zxid: e.zxid, op: e.op });
  }
}

/**
 * A read that follows a sync on its session sees at least every write that
 * was answered, to anyone, before the sync was sent.
 */
function checkSyncs(h: History, v: (k: Violation['kind'], d: string) => void): void {
  const answered = h.ops.filter((o) => isWrite(o) && o.result).sort((a, b) => a.ret! - b.ret!);
  const next = new Map<string, HistOp>();
  // Latest first, so that `next` holds the op that follows each one on its connection.
  for (const op of [...h.ops].sort((a, b) => b.xid - a.xid)) {
    const key = `${op.session}/${op.conn}`;
    if (op.op.type === 'sync' && op.result?.err === Err.OK) {
      const read = next.get(key);
      if (read?.result) {
        let floor: HistOp | undefined;
        for (const w of answered) {
          if (w.ret! >= op.call) break;
          if (!floor || w.result!.zxid > floor.result!.zxid) floor = w;
        }
        if (floor && read.result.zxid < floor.result!.zxid) {
          v('stale-read', `${describe(read)} after a sync answered at ${hexZxid(read.result.zxid)}, older than ${describe(floor)}, answered at ${hexZxid(floor.result!.zxid)} before the sync was sent`);
        }
      }
    }
    if (op.op.type === 'get') next.set(key, op);
    else if (op.op.type !== 'sync') next.delete(key);
  }
}

/**
 * Replays the committed log and holds each read to the tree as it stood at
 * the zxid its reply named; a watch set by a read must reach its session
 * before any reply that reflects the change that fires it.
 */
function checkReadsAndWatches(h: History, log: readonly Committed[], v: (k: Violation['kind'], d: string) => void): void {
  const reads = h.ops.filter((o) => o.op.type === 'get' && o.result).sort((a, b) => a.result!.zxid - b.result!.zxid || a.id - b.id);
  const watched = new Map<string, HistOp[]>();
  const fires = new Map<number, number>();
  const tree = new DataTree();
  let i = 0;
  const judge = (upTo: number) => {
    for (; i < reads.length && reads[i]!.result!.zxid <= upTo; i++) {
      const op = reads[i]!;
      const r = op.result!;
      const path = (op.op as { path: string }).path;
      const node = tree.getNode(path);
      const got = r.err === Err.NONODE ? 'absent' : r.err === Err.OK ? `v${r.version} "${r.data}"` : `error ${r.err}`;
      const want = node ? `v${node.version} "${Buffer.from(node.data ?? []).toString()}"` : 'absent';
      if (got !== want) v('read-mismatch', `${describe(op)} read ${got} at ${hexZxid(r.zxid)}, where the committed log has ${want}`);
      if (r.err === Err.OK && (op.op as { watch: boolean }).watch) {
        const list = watched.get(path) ?? [];
        list.push(op);
        watched.set(path, list);
      }
    }
  };
  for (const c of log) {
    judge(c.zxid - 1);
    const result = tree.apply(c.hdr, c.txn);
    for (const t of result.triggers) {
      if (t.type !== EventType.NodeDataChanged && t.type !== EventType.NodeDeleted) continue;
      for (const op of watched.get(t.path) ?? []) fires.set(op.id, c.zxid);
      watched.delete(t.path);
    }
  }
  judge(Infinity);
  const bySession = new Map<string, History['events']>();
  for (const e of h.events) {
    const key = `${e.session}/${e.conn}`;
    const list = bySession.get(key) ?? [];
    list.push(e);
    bySession.set(key, list);
  }
  const ops = new Map(h.ops.map((o) => [o.id, o]));
  for (const [id, fired] of fires) {
    const w = ops.get(id)!;
    const path = (w.op as { path: string }).path;
    const events = bySession.get(`${w.session}/${w.conn}`) ?? [];
    const from = events.findIndex((e) => e.kind === 'reply' && e.op === id);
    for (const e of events.slice(from + 1)) {
      if (e.kind === 'watch') {
        if (e.path === path) break;
        continue;
      }
      if (e.zxid >= fired) {
        v('watch-order', `session ${w.session}: the reply to op ${e.op} at ${hexZxid(e.zxid)} came before the watch set by ${describe(w)}, fired at ${hexZxid(fired)}`);
        break;
      }
    }
  }
}

/** Writes to each plain key, one key at a time; and across keys, a write answered before another was sent has the lower zxid. */
function checkLinearizable(h: History, budget: number, v: (k: Violation['kind'], d: string) => void): string[] {
  const byKey = new Map<string, HistOp[]>();
  for (const op of h.ops) {
    const o = op.op;
    if (o.type === 'get' || o.type === 'sync' || o.type === 'close' || o.type === 'reconfig') continue;
    if (o.type === 'create' && (o.ephemeral || o.sequential)) continue;
    const list = byKey.get(o.path) ?? [];
    list.push(op);
    byKey.set(o.path, list);
  }
  const inconclusive: string[] = [];
  for (const [key, ops] of byKey) {
    const r = linearizeKey(ops, budget);
    if (r.ok === 'unknown') inconclusive.push(key);
    else if (!r.ok) v('not-linearizable', `writes to ${key}: ${r.detail}`);
  }
  const answered = h.ops.filter((o) => isWrite(o) && o.result).sort((a, b) => a.ret! - b.ret!);
  const bySend = [...answered].sort((a, b) => a.call - b.call);
  let j = 0;
  let maxZxid = -Infinity;
  let maxOp: HistOp | undefined;
  for (const b of bySend) {
    for (; j < answered.length && answered[j]!.ret! < b.call; j++) {
      if (answered[j]!.result!.zxid > maxZxid) {
        maxZxid = answered[j]!.result!.zxid;
        maxOp = answered[j];
      }
    }
    if (maxOp && b.result!.zxid < maxZxid) {
      v('not-linearizable', `${describe(b)}, sent after ${describe(maxOp)} was answered at ${hexZxid(maxZxid)}, took the older zxid ${hexZxid(b.result!.zxid)}`);
    }
  }
  return inconclusive;
}

/**
 * At quiescence every live member has applied the whole committed log, and
 * their trees are equal. A member short of it has lost a write if a client
 * was told of a later one; otherwise someone applied what the ensemble at
 * rest does not hold.
 */
function checkFinal(h: History, log: readonly Committed[], v: (k: Violation['kind'], d: string) => void): void {
  const last = log.at(-1)?.zxid ?? 0;
  const first = h.ensemble.final[0];
  const acked = Math.max(0, ...h.ops.filter((o) => isWrite(o) && o.result).map((o) => o.result!.zxid));
  for (const f of h.ensemble.final) {
    if (f.lastZxid === last) {
      if (f.digest !== first!.digest && first!.lastZxid === last) v('digests-differ', `${f.member} has digest ${f.digest}, ${first!.member} ${first!.digest}, both at ${hexZxid(last)}`);
      continue;
    }
    if (acked > f.lastZxid) v('lost-write', `${f.member} ended at ${hexZxid(f.lastZxid)}, short of ${hexZxid(acked)}, which a client was told was done`);
    else {
      const beyond = [...h.ensemble.applied].find(([, seq]) => (seq.at(-1)?.zxid ?? 0) > f.lastZxid)?.[0];
      v('logs-diverge', `${f.member} ended at ${hexZxid(f.lastZxid)}, but ${beyond} applied up to ${hexZxid(last)}`);
    }
  }
}

function checkLeaders(h: History, v: (k: Violation['kind'], d: string) => void): void {
  const leader = new Map<number, string>();
  for (const l of h.ensemble.leaders) {
    const prior = leader.get(l.epoch);
    if (prior !== undefined && prior !== l.member) v('two-leaders', `epoch ${l.epoch} was led by ${prior} and by ${l.member}`);
    leader.set(l.epoch, l.member);
  }
  for (const e of h.ensemble.expiries) {
    if (!e.leading) v('expiry-not-by-leader', `session ${e.session} was expired by ${e.by}, which was not leading at ${e.at}`);
  }
}

/**
 * Configuration safety. Each committed transaction was durable, when some
 * member first applied it, on a quorum of the voters then in force — the
 * static ensemble, then each change in the committed log from its zxid on —
 * and a change on a quorum of the old voters as well as of the new: a
 * commit on less lets two quorums that never met decide apart. And every
 * configuration a member took as committed, and so would elect by, is one the
 * committed log holds.
 */
function checkConfigs(h: History, log: readonly Committed[], v: (k: Violation['kind'], d: string) => void): void {
  let inForce: Ensemble = staticEnsemble(h.ensemble.voters);
  const changes = new Map<number, string>();
  for (const c of log) {
    const change = c.txn.type === 'reconfig' ? Buffer.from(c.txn.data).toString('utf8') : undefined;
    const next = change === undefined ? undefined : parseConfig(change);
    const held = h.ensemble.holders.get(c.zxid);
    if (held) {
      const ids = held.map(Number);
      for (const [which, e] of next ? [['old', inForce] as const, ['new', next] as const] : [['', inForce] as const]) {
        if (!isQuorum(e, ids)) {
          v('no-quorum', `${hexZxid(c.zxid)} (${c.txn.type}) was committed while durable on ${held.join(',') || 'no member'} only, not a quorum of the ${which ? `${which} ` : ''}voters ${voterIds(e).join(',')}`);
        }
      }
    }
    if (next) {
      inForce = next;
      // By version, which need not be the zxid (a leader shows the static configuration versioned by its epoch's start).
      changes.set(next.version, change!);
    }
  }
  for (const c of h.ensemble.configs) {
    const logged = changes.get(c.version);
    if (logged !== c.text) v('config-not-committed', `${c.member} took configuration ${hexZxid(c.version)} as committed at ${c.at} ms; the committed log ${logged === undefined ? 'has no change there' : 'has another'}`);
  }
}

function describe(op: HistOp): string {
  const o = op.op;
  const what = o.type === 'close' || o.type === 'sync' ? o.type : o.type === 'reconfig' ? `reconfig +${o.joining.join(',')} -${o.leaving.join(',')}` : `${o.type} ${o.path}${'version' in o && o.version !== -1 ? ` v${o.version}` : ''}`;
  return `op ${op.id} (${what}, session ${op.session}, xid ${op.xid})`;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

