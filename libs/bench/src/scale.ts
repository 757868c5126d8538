/**
 * `npm run bench -- --scale`: a large tree in each system, and what its size
 * costs — the rate it loads at, the memory it takes, its snapshots, how long
 * a follower takes to come back from its data directory and from nothing
 * (a SNAP of the whole tree), and how long Zooid's leader stalled its event
 * loop meanwhile (ZooKeeper's JVM reports no such figure).
 */
import { loadZnodes, openSessions } from './load.js';
import { settledResidentBytes } from './procs.js';
import { liveHeapGrowth, type LiveHeapGrowth } from './report.js';
import { waitUntil, type System } from './systems.js';

export interface ScaleResult {
  system: string;
  znodes: number;
  load: { seconds: number; perSecond: number; leaderStallMs: number | null };
  memory: { rssBeforeBytes: number; rssAfterBytes: number; bytesPerZnode: number } & LiveHeapGrowth;
  /** The leader's newest snapshot after the load, and the longest any member took to take one (null: none taken). */
  snapshot: { bytes: number | null; slowestMs: number | null };
  /** A follower killed (SIGKILL) and started again on its data directory, until it serves. */
  restart: { seconds: number; leaderStallMs: number | null };
  /** A follower killed and started again with an empty data directory, until it serves: the leader sends it everything. */
  snapSync: { seconds: number; leaderStallMs: number | null };
}

/** Deadline for a follower to come back; a SNAP of 10M znodes is minutes. */
const BACK_WITHIN_MS = 15 * 60_000;

export async function benchScale(sys: System, znodes: number, progress: (fraction: number) => void, note: (line: string) => void): Promise<ScaleResult> {
  if (!sys.members || !sys.leader || !sys.stall || !sys.snapshotTimes) throw new Error(`${sys.name} cannot be scale-benched (its members are not ours)`);
  const members = sys.members;
  // The members' live heap, each after a full collection; then a round of announcements, so that the
  // collection's pause is reported before the next phase and not counted as a stall of it. A full
  // collection of ten million znodes on a busy machine takes seconds: the wait allows a minute.
  const collected = async () => {
    const heap = await sys.liveHeap?.();
    const since = Date.now();
    if (heap !== undefined && sys.announced) await waitUntil('every member to announce after its collection', async () => members.every((m) => sys.announced!(m.id, since)), 60_000);
    return heap;
  };
  const clients = await openSessions(sys.connectString, 4, sys.tlsCa);
  try {
    const heapBefore = await collected();
    const rssBeforeBytes = await settledResidentBytes(sys.pids());
    const loadLeader = await sys.leader();
    const t0 = Date.now();
    await loadZnodes(clients, znodes, progress);
    const t1 = Date.now();
    const rssAfterBytes = await settledResidentBytes(sys.pids());
    const heapAfter = await collected();
    const leader = await sys.leader();
    const times = sys.snapshotTimes();
    const snapshot = { bytes: members.find((m) => m.id === leader)?.newestSnapshotBytes() ?? null, slowestMs: times.length > 0 ? Math.max(...times) : null };

    const follower = members.find((m) => m.id !== leader)!;
    const back = async (what: string, wipe: boolean) => {
      const from = Date.now();
      await follower.kill({ wipe });
      await waitUntil(`follower ${follower.id} to serve again after ${what}`, () => follower.serving(from), BACK_WITHIN_MS);
      const to = Date.now();
      note(`${sys.name}: follower ${follower.id} back after ${what} in ${((to - from) / 1000).toFixed(1)} s`);
      return { seconds: (to - from) / 1000, leaderStallMs: sys.stall!(leader, from, to) };
    };
    const restart = await back('a restart', false);
    const snapSync = await back('a restart with its data directory emptied', true);
    return {
      system: sys.name,
      znodes,
      load: { seconds: (t1 - t0) / 1000, perSecond: znodes / ((t1 - t0) / 1000), leaderStallMs: sys.stall(loadLeader, t0, t1) },
      memory: { rssBeforeBytes, rssAfterBytes, bytesPerZnode: (rssAfterBytes - rssBeforeBytes) / znodes, ...liveHeapGrowth(heapBefore, heapAfter, znodes) },
      snapshot,
      restart,
      snapSync,
    };
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
  }
}

const MiB = 1024 * 1024;
const orNA = (v: number | null, f: (v: number) => string) => (v === null ? 'n/a' : f(v));

/** One row per figure, one column per system. */
export function scaleTable(results: ScaleResult[]): string {
  const rows: [string, (r: ScaleResult) => string][] = [
    ['znodes', (r) => r.znodes.toLocaleString('en')],
    ['load rate (znodes/s)', (r) => Math.round(r.load.perSecond).toLocaleString('en')],
    ['resident size after (MiB)', (r) => (r.memory.rssAfterBytes / MiB).toFixed(0)],
    ['bytes per znode (all members)', (r) => r.memory.bytesPerZnode.toFixed(0)],
    ['live heap after (MiB)', (r) => orNA(r.memory.heapAfterBytes ?? null, (b) => (b / MiB).toFixed(0))],
    ['live heap per znode (all members)', (r) => orNA(r.memory.heapPerZnode ?? null, (b) => b.toFixed(0))],
    ['newest snapshot (MiB)', (r) => orNA(r.snapshot.bytes, (b) => (b / MiB).toFixed(1))],
    ['slowest snapshot (ms)', (r) => orNA(r.snapshot.slowestMs, String)],
    ['follower restart (s)', (r) => r.restart.seconds.toFixed(1)],
    ['follower from empty (s)', (r) => r.snapSync.seconds.toFixed(1)],
    ['leader stall: load (ms)', (r) => orNA(r.load.leaderStallMs, String)],
    ['leader stall: restart (ms)', (r) => orNA(r.restart.leaderStallMs, String)],
    ['leader stall: from empty (ms)', (r) => orNA(r.snapSync.leaderStallMs, String)],
  ];
  const cells = [['', ...results.map((r) => r.system)], ...rows.map(([label, f]) => [label, ...results.map(f)])];
  const widths = cells[0]!.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  return cells.map((row) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')).join('\n') + '\n';
}
