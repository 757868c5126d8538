/**
 * One client library in a process of its own (started by clients.ts with
 * --expose-gc), so that its heap and resident size are its own: either the
 * closed-loop load of the server bench through that library, or the memory
 * it takes to hold many data watches. Prints one JSON line on stdout.
 */
import { createRequire } from 'node:module';
import { ZooKeeperClient } from '@zooid/client';
import { runLoad, type LoadClient } from './load.js';
import type { ClientName, LoadOutcome, WatchOutcome, WorkerTask } from './clients.js';

interface Session extends LoadClient {
  watchData(path: string, watcher: () => void): Promise<void>;
  close(): Promise<void>;
}

/** The slice of node-zookeeper-client's API used here (it ships no types). */
interface NzkClient {
  connect(): void;
  close(): void;
  once(event: 'connected', fn: () => void): void;
  getData(path: string, cb: (err: Error | null, data?: Buffer) => void): void;
  getData(path: string, watcher: () => void, cb: (err: Error | null, data?: Buffer) => void): void;
  setData(path: string, data: Buffer, version: number, cb: (err: Error | null) => void): void;
}

async function zooidSession(connectString: string): Promise<Session> {
  const c = await ZooKeeperClient.connect(connectString, { sessionTimeout: 30_000 });
  return {
    getData: (path) => c.getData(path),
    setData: (path, data) => c.setData(path, data),
    watchData: async (path, watcher) => void (await c.getData(path, watcher)),
    close: () => c.close(),
  };
}

async function nzkSession(connectString: string): Promise<Session> {
  const nzk = createRequire(import.meta.url)('node-zookeeper-client') as { createClient(cs: string, opts: object): NzkClient };
  const c = nzk.createClient(connectString, { sessionTimeout: 30_000 });
  await new Promise<void>((resolve) => {
    c.once('connected', resolve);
    c.connect();
  });
  const done = (resolve: () => void, reject: (e: Error) => void) => (err: Error | null) => (err ? reject(err) : resolve());
  return {
    getData: (path) => new Promise<void>((resolve, reject) => c.getData(path, done(resolve, reject))),
    setData: (path, data) => new Promise<void>((resolve, reject) => c.setData(path, data, -1, done(resolve, reject))),
    watchData: (path, watcher) => new Promise<void>((resolve, reject) => c.getData(path, watcher, done(resolve, reject))),
    close: async () => c.close(),
  };
}

function openSession(client: ClientName, connectString: string): Promise<Session> {
  return client === '@zooid/client' ? zooidSession(connectString) : nzkSession(connectString);
}

/** Heap and resident size after two full collections (the second catches what the first's finalizers freed). */
function settledMemory(): { heap: number; rss: number } {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('the client bench worker needs node --expose-gc');
  gc();
  gc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss };
}

async function load(task: Extract<WorkerTask, { kind: 'load' }>): Promise<LoadOutcome> {
  const sessions = await Promise.all(Array.from({ length: task.workloads[0]!.sessions }, () => openSession(task.client, task.connectString)));
  const runs: LoadOutcome['runs'] = [];
  try {
    for (const w of task.workloads) {
      const cpu = process.cpuUsage();
      const r = await runLoad(sessions, w, () => undefined);
      const used = process.cpuUsage(cpu);
      // CPU over the whole run (warm-up included) per request completed in it: the client's own cost.
      const total = r.ops * ((w.warmupMs + w.measureMs) / w.measureMs);
      runs.push({ ...r, cpuUsPerOp: total > 0 ? (used.user + used.system) / total : 0 });
    }
  } finally {
    await Promise.all(sessions.map((s) => s.close()));
  }
  return { runs };
}

async function watches(task: Extract<WorkerTask, { kind: 'watches' }>): Promise<WatchOutcome> {
  const session = await openSession(task.client, task.connectString);
  try {
    const watcher = () => undefined;
    const before = settledMemory();
    // 256 at a time: both clients pipeline, and neither is measured with a backlog of unsent requests.
    let next = 0;
    const worker = async () => {
      for (let i = next++; i < task.count; i = next++) await session.watchData(`${task.parent}/n${i}`, watcher);
    };
    await Promise.all(Array.from({ length: 256 }, worker));
    const after = settledMemory();
    return { watches: task.count, heapBeforeBytes: before.heap, heapAfterBytes: after.heap, rssBeforeBytes: before.rss, rssAfterBytes: after.rss };
  } finally {
    await session.close();
  }
}

const task = JSON.parse(process.argv[2]!) as WorkerTask;
(task.kind === 'load' ? load(task) : watches(task)).then(
  (out) => {
    process.stdout.write(JSON.stringify(out) + '\n');
    process.exit(0);
  },
  (err: unknown) => {
    process.stderr.write(`client bench worker (${task.client}, ${task.kind}): ${(err as Error)?.stack ?? String(err)}\n`);
    process.exit(1);
  },
);
