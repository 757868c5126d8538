/**
 * `npm run bench -- --read-scale`: does Zooid's read throughput grow with
 * observers and gateways, as the design says? On a machine with fewer cores
 * than processes more processes only share the same cores, so besides the
 * throughput each shape reaches here, this measures the CPU time every
 * process spends per request and projects what the shape would do with a
 * core per process: the busiest process saturates first, at
 * requests × 1 s / its CPU time.
 */
import { openSessions, prepareKeys, runLoad, type Workload } from './load.js';
import { clusterProcesses, cpuMicros } from './procs.js';
import { startZooid } from './systems.js';

export interface Shape {
  observers: number;
  gateways: number;
}

export interface ReadScaleResult extends Shape {
  /** Requests per second measured on this machine. */
  throughput: number;
  p99Ms: number;
  errors: number;
  /** CPU µs per request, by process (member-1, observer-o1, gateway-gw1, nats-1, supervisor). */
  cpuUsPerOp: Record<string, number>;
  /** The process that would saturate first with a core of its own, and the throughput it would allow. */
  bottleneck: string;
  projected: number;
}

export const DEFAULT_SHAPES: Shape[] = [
  { observers: 0, gateways: 1 },
  { observers: 1, gateways: 1 },
  { observers: 2, gateways: 1 },
  { observers: 0, gateways: 2 },
  { observers: 2, gateways: 2 },
];

export async function readScale(shape: Shape, w: Omit<Workload, 'readPercent'>, progress: (fraction: number) => void): Promise<ReadScaleResult> {
  const sys = await startZooid('secure', shape);
  try {
    const clients = await openSessions(sys.connectString, w.sessions);
    try {
      const load: Workload = { ...w, readPercent: 100 };
      await prepareKeys(clients[0]!, load);
      // Warm up first, so that the CPU counted is that of the measured interval alone.
      await runLoad(clients, { ...load, measureMs: w.warmupMs, warmupMs: 0 }, (f) => progress(f * (w.warmupMs / (w.warmupMs + w.measureMs))));
      const procs = clusterProcesses(sys.root!);
      const before = new Map([...procs].map(([label, pid]) => [label, cpuMicros(pid)]));
      const r = await runLoad(clients, { ...load, warmupMs: 0 }, (f) => progress((w.warmupMs + f * w.measureMs) / (w.warmupMs + w.measureMs)));
      const cpuUsPerOp: Record<string, number> = {};
      let bottleneck = '';
      let busiest = 0;
      for (const [label, pid] of procs) {
        const used = cpuMicros(pid) - before.get(label)!;
        cpuUsPerOp[label] = r.ops > 0 ? used / r.ops : 0;
        if (label !== 'supervisor' && used > busiest) [busiest, bottleneck] = [used, label];
      }
      return { ...shape, throughput: r.throughput, p99Ms: r.p99Ms, errors: r.errors, cpuUsPerOp, bottleneck, projected: busiest > 0 ? (r.ops * 1e6) / busiest : 0 };
    } finally {
      await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    }
  } finally {
    await sys.stop();
  }
}

/** CPU per request summed by kind of process: members, observers, gateways, the bus. */
function byKind(cpu: Record<string, number>): Record<string, number> {
  const out: Record<string, number> = { members: 0, observers: 0, gateways: 0, bus: 0 };
  for (const [label, us] of Object.entries(cpu)) {
    const kind = label.startsWith('member') ? 'members' : label.startsWith('observer') ? 'observers' : label.startsWith('gateway') ? 'gateways' : label.startsWith('nats') ? 'bus' : undefined;
    if (kind) out[kind]! += us;
  }
  return out;
}

export function readScaleTable(results: ReadScaleResult[]): string {
  const header = ['observers', 'gateways', 'reads/s here', 'p99 ms', 'µs/read members', 'observers', 'gateways', 'bus', 'busiest process', 'projected reads/s'];
  const rows = results.map((r) => {
    const k = byKind(r.cpuUsPerOp);
    return [r.observers, r.gateways, Math.round(r.throughput), r.p99Ms.toFixed(2), k.members!.toFixed(0), k.observers!.toFixed(0), k.gateways!.toFixed(0), k.bus!.toFixed(0), r.bottleneck, Math.round(r.projected)].map(String);
  });
  const cells = [header, ...rows];
  const widths = header.map((_, i) => Math.max(...cells.map((row) => row[i]!.length)));
  return cells.map((row) => row.map((c, i) => c.padStart(widths[i]!)).join('  ')).join('\n') + '\n';
}
