import { ZooKeeperClient } from '@zooid/client';

export interface Workload {
  /** Percentage of requests that are reads (getData); the rest are setData. */
  readPercent: number;
  sessions: number;
  /** Requests each session keeps in flight. */
  inflight: number;
  keys: number;
  valueBytes: number;
  warmupMs: number;
  measureMs: number;
}

/** What the load needs of a client: @zooid/client as it is, or another client behind an adapter. */
export interface LoadClient {
  getData(path: string): Promise<unknown>;
  setData(path: string, data: Buffer): Promise<unknown>;
}

export interface LoadResult {
  readPercent: number;
  ops: number;
  seconds: number;
  throughput: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

/** Nearest-rank percentile of sorted latencies. */
function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export async function openSessions(connectString: string, n: number, tlsCa?: string): Promise<ZooKeeperClient[]> {
  const clients = Array.from({ length: n }, () => new ZooKeeperClient(connectString, { sessionTimeout: 30_000, tls: tlsCa === undefined ? undefined : { ca: tlsCa } }));
  await Promise.all(clients.map((c) => c.connect(30_000)));
  return clients;
}

export async function prepareKeys(c: ZooKeeperClient, w: Workload): Promise<void> {
  const value = Buffer.alloc(w.valueBytes, 0x61);
  await c.create('/bench').catch(() => undefined);
  await Promise.all(Array.from({ length: w.keys }, (_, i) => c.create(`/bench/k${i}`, value).catch(() => undefined)));
}

/**
 * Closed-loop load: every session keeps `inflight` requests outstanding, each
 * slot issuing its next request as soon as the previous one answers. Only
 * requests that start and finish inside the measured interval count.
 */
export async function runLoad(clients: LoadClient[], w: Workload, progress: (fraction: number) => void): Promise<LoadResult> {
  const value = Buffer.alloc(w.valueBytes, 0x62);
  const latencies: number[] = [];
  let errors = 0;
  let seed = 12345;
  const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000);
  const start = performance.now();
  const measureFrom = start + w.warmupMs;
  const end = measureFrom + w.measureMs;
  const timer = setInterval(() => progress(Math.min(1, (performance.now() - start) / (w.warmupMs + w.measureMs))), 250);
  const slot = async (c: LoadClient) => {
    for (;;) {
      const t0 = performance.now();
      if (t0 >= end) return;
      const path = `/bench/k${Math.floor(random() * w.keys)}`;
      try {
        if (random() * 100 < w.readPercent) await c.getData(path);
        else await c.setData(path, value);
        const t1 = performance.now();
        if (t0 >= measureFrom && t1 <= end) latencies.push(t1 - t0);
      } catch {
        errors++;
      }
    }
  };
  await Promise.all(clients.flatMap((c) => Array.from({ length: w.inflight }, () => slot(c))));
  clearInterval(timer);
  progress(1);
  const sorted = Float64Array.from(latencies).sort();
  const seconds = w.measureMs / 1000;
  return {
    readPercent: w.readPercent,
    ops: sorted.length,
    seconds,
    throughput: sorted.length / seconds,
    p50Ms: percentile(sorted, 50),
    p99Ms: percentile(sorted, 99),
    errors,
  };
}

/** Loads `count` small znodes through all sessions, pipelined. */
export async function loadZnodes(clients: ZooKeeperClient[], count: number, progress: (fraction: number) => void): Promise<void> {
  await clients[0]!.create('/mem').catch(() => undefined);
  let next = 0;
  const data = Buffer.alloc(16, 0x63);
  const worker = async (c: ZooKeeperClient) => {
    for (;;) {
      const i = next++;
      if (i >= count) return;
      await c.create(`/mem/n${i}`, data).catch(() => undefined);
      if (i % 2000 === 0) progress(i / count);
    }
  };
  await Promise.all(clients.flatMap((c) => Array.from({ length: 16 }, () => worker(c))));
  progress(1);
}
