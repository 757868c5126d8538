import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { ZooKeeperClient } from '@zooid/client';
import { startProgress } from '@zooid/runtime/progress';
import { ZOOID_SYSTEMS, external, startZooKeeper, startZooid, stopRunning, type System, type ZooidBus } from './systems.js';
import { loadZnodes, openSessions, prepareKeys, runLoad, type LoadResult, type Workload } from './load.js';
import { settledResidentBytes } from './procs.js';
import { chart, liveHeapGrowth, table, type SystemResult } from './report.js';
import { benchClients, clientTable, type ClientResult } from './clients.js';
import { runJavaLoad } from './java-load.js';
import { benchScale, scaleTable, type ScaleResult } from './scale.js';
import { DEFAULT_SHAPES, readScale, readScaleTable, type ReadScaleResult, type Shape } from './read-scale.js';

const USAGE = `usage: npm run bench -- [flags]

Runs Zooid (zooid up: 3 voting members, 1 gateway) on its secured bus of 3
nats-servers, on one secured nats-server (what clustering the bus costs)
and on one open nats-server (no auth, no TLS: what securing it costs), and
Apache ZooKeeper 3.8 (3 servers on loopback), one after the other on this machine and drives them with the same client and
load, then compares memory with many znodes loaded.

  --workload 0,80,100   read percentages to run
  --duration 20         measured seconds per workload
  --warmup 5            warm-up seconds per workload
  --sessions 16         client sessions
  --inflight 16         requests in flight per session
  --znodes 100000       znodes loaded for the memory comparison (0 skips it;
                        with --scale, 1000000)
  --load node           the client that drives the workloads: node (Zooid's
                        own, in this process) or java (Apache ZooKeeper's
                        Java client, Debian's zookeeper.jar, in a JVM of its
                        own per workload)
  --tls                 also run Zooid and ZooKeeper with clients on their
                        TLS client ports (zooid-tls, zookeeper-tls)
  --only SYSTEM          run one system only: zooid, zooid-secure-1,
                        zooid-open-bus, zookeeper, or with --tls
                        zooid-tls or zookeeper-tls
  --connect HOST:PORT   bench a running ZooKeeper-compatible server instead
  --clients             compare the clients instead of the servers:
                        @zooid/client and node-zookeeper-client, each in a
                        child process of its own, on Zooid and ZooKeeper
                        (or --only one, or --connect), with the same load
                        and workloads, then the client's heap and resident
                        size per 10,000 data watches (--watches)
  --watches 10000       data watches for the client memory comparison
                        (0 skips it)
  --scale               a large tree instead of the workloads: Zooid and
                        ZooKeeper each load --znodes znodes, then report the
                        load rate, resident size, snapshot size and time, a
                        follower's restart from its data directory and from
                        an empty one (a SNAP), and the longest event-loop
                        stall of Zooid's leader during each
  --read-scale          Zooid alone at 100 % reads in five shapes (0, 1, 2
                        observers; 1, 2 gateways): the throughput here, the
                        CPU time per read of every process, and what each
                        shape would reach with a core per process
  --shapes 0x1,1x1,...  with --read-scale: the shapes to run, each
                        OBSERVERSxGATEWAYS (default 0x1,1x1,2x1,0x2,2x2)
  --out DIR             where results go (default bench/results)
`;

/** A bar per phase on a terminal, a line every quarter otherwise. */
function progressLine(label: string) {
  const progress = startProgress({ label: label.padEnd(34), total: 100, stepPercent: 25 });
  return (fraction: number) => {
    progress.update(Math.round(fraction * 100));
    if (fraction >= 1) progress.end(`${label}: done`);
  };
}

type LoadDriver = 'node' | 'java';

async function benchSystem(sys: System, workloads: number[], base: Omit<Workload, 'readPercent'>, znodes: number, driver: LoadDriver): Promise<SystemResult> {
  const runs: LoadResult[] = [];
  let clients: ZooKeeperClient[] = await openSessions(sys.connectString, base.sessions, sys.tlsCa);
  try {
    await prepareKeys(clients[0]!, { ...base, readPercent: 0 });
    for (const readPercent of workloads) {
      const label = `${sys.name} ${readPercent}% reads`;
      if (driver === 'java') {
        process.stderr.write(`${label} (Java client)…\n`);
        runs.push(await runJavaLoad(sys.connectString, { ...base, readPercent }));
      } else {
        runs.push(await runLoad(clients, { ...base, readPercent }, progressLine(label)));
      }
    }
    let memory: SystemResult['memory'];
    if (znodes > 0 && sys.pids().length > 0) {
      const heapBefore = await sys.liveHeap?.();
      const before = await settledResidentBytes(sys.pids());
      await loadZnodes(clients, znodes, progressLine(`${sys.name} loading ${znodes} znodes`));
      const after = await settledResidentBytes(sys.pids());
      const heapAfter = await sys.liveHeap?.();
      memory = { znodes, rssBeforeBytes: before, rssAfterBytes: after, bytesPerZnode: (after - before) / znodes, ...liveHeapGrowth(heapBefore, heapAfter, znodes) };
    }
    return { system: sys.name, runs, memory };
  } finally {
    await Promise.all(clients.map((c) => c.close().catch(() => undefined)));
    clients = [];
  }
}

function parseShape(s: string): Shape {
  const m = /^(\d+)x(\d+)$/.exec(s.trim());
  if (!m || Number(m[2]) < 1) throw new Error(`--shapes takes OBSERVERSxGATEWAYS (at least one gateway), not ${s}`);
  return { observers: Number(m[1]), gateways: Number(m[2]) };
}

export async function main(argv: string[]): Promise<void> {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      process.stderr.write(`bench: ${signal}: stopping the systems it started\n`);
      void stopRunning().finally(() => process.exit(130));
    });
  }
  const { values } = parseArgs({
    args: argv,
    options: {
      workload: { type: 'string', default: '0,80,100' },
      duration: { type: 'string', default: '20' },
      warmup: { type: 'string', default: '5' },
      sessions: { type: 'string', default: '16' },
      inflight: { type: 'string', default: '16' },
      znodes: { type: 'string' },
      only: { type: 'string' },
      load: { type: 'string', default: 'node' },
      tls: { type: 'boolean', default: false },
      connect: { type: 'string' },
      clients: { type: 'boolean', default: false },
      watches: { type: 'string', default: '10000' },
      scale: { type: 'boolean', default: false },
      'read-scale': { type: 'boolean', default: false },
      shapes: { type: 'string' },
      out: { type: 'string', default: 'bench/results' },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) {
    process.stdout.write(USAGE);
    return;
  }
  const num = (name: keyof typeof values) => {
    const n = Number(values[name]);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${name} must be a non-negative number`);
    return n;
  };
  const workloads = String(values.workload).split(',').map(Number);
  if (workloads.some((w) => !(w >= 0 && w <= 100))) throw new Error('--workload takes read percentages between 0 and 100');
  const base = {
    sessions: num('sessions'),
    inflight: num('inflight'),
    keys: 100,
    valueBytes: 100,
    warmupMs: num('warmup') * 1000,
    measureMs: num('duration') * 1000,
  };
  const znodes = values.znodes === undefined ? (values.scale ? 1_000_000 : 100_000) : num('znodes');
  const driver = values.load as LoadDriver;
  if (driver !== 'node' && driver !== 'java') throw new Error('--load takes node or java');
  if (driver === 'java' && (values.tls || values.clients)) throw new Error('--load java runs neither with --tls nor with --clients');
  const starters: [string, () => Promise<System>][] = values.connect
    ? [[values.connect, async () => external(values.connect!)]]
    : [
        ...(Object.entries(ZOOID_SYSTEMS) as [ZooidBus, string][]).map(([kind, name]): [string, () => Promise<System>] => [name, () => startZooid(kind)]),
        ['zookeeper', () => startZooKeeper()],
        // Both over their TLS client ports: what encrypting client traffic costs each.
        ...(values.tls
          ? ([
              ['zooid-tls', () => startZooid('secure', { tls: true })],
              ['zookeeper-tls', () => startZooKeeper({ tls: true })],
            ] as [string, () => Promise<System>][])
          : []),
      ];
  // The client comparison needs one Zooid and one ZooKeeper, not every bus variant.
  const eligible = values.clients || values.scale ? starters.filter(([n]) => n === 'zooid' || n === 'zookeeper' || n === values.connect) : starters;
  const chosen = values.only ? eligible.filter(([n]) => n === values.only) : eligible;
  if (chosen.length === 0) throw new Error(`--only takes ${eligible.map(([n]) => n).join(', ')}`);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  mkdirSync(values.out!, { recursive: true });
  const command = `npm run bench -- ${argv.join(' ')}`.trim();

  if (values.clients) {
    const results: ClientResult[] = [];
    for (const [name, start] of chosen) {
      process.stderr.write(`starting ${name}…\n`);
      const sys = await start();
      try {
        results.push(...(await benchClients(sys, workloads.map((readPercent) => ({ ...base, readPercent })), num('watches'), (line) => process.stderr.write(line + '\n'))));
      } finally {
        await sys.stop();
      }
    }
    const json = join(values.out!, `${stamp}-clients.json`);
    writeFileSync(json, JSON.stringify({ date: new Date().toISOString(), command, workload: base, clients: results }, null, 2) + '\n');
    process.stdout.write(clientTable(results) + `\nresults: ${json}\n`);
    return;
  }

  if (values['read-scale']) {
    const shapes = values.shapes === undefined ? DEFAULT_SHAPES : values.shapes.split(',').map(parseShape);
    const results: ReadScaleResult[] = [];
    for (const shape of shapes) {
      const label = `zooid, ${shape.observers} observer(s), ${shape.gateways} gateway(s)`;
      process.stderr.write(`starting ${label}…\n`);
      results.push(await readScale(shape, base, progressLine(label)));
    }
    const json = join(values.out!, `${stamp}-read-scale.json`);
    writeFileSync(json, JSON.stringify({ date: new Date().toISOString(), command, workload: { ...base, readPercent: 100 }, shapes: results }, null, 2) + '\n');
    process.stdout.write(readScaleTable(results) + `\nresults: ${json}\n`);
    return;
  }

  if (values.scale) {
    if (values.connect) throw new Error('--scale starts its own systems: it does not run with --connect');
    const results: ScaleResult[] = [];
    for (const [name] of chosen) {
      process.stderr.write(`starting ${name}…\n`);
      const sys = name === 'zookeeper' ? await startZooKeeper({ scale: true }) : await startZooid('secure', { scale: true });
      try {
        results.push(await benchScale(sys, znodes, progressLine(`${name} loading ${znodes} znodes`), (line) => process.stderr.write(line + '\n')));
      } finally {
        await sys.stop();
      }
    }
    const json = join(values.out!, `${stamp}-scale.json`);
    writeFileSync(json, JSON.stringify({ date: new Date().toISOString(), command, scale: results }, null, 2) + '\n');
    process.stdout.write(scaleTable(results) + `\nresults: ${json}\n`);
    return;
  }

  const results: SystemResult[] = [];
  for (const [name, start] of chosen) {
    process.stderr.write(`starting ${name}…\n`);
    const sys = await start();
    try {
      results.push(await benchSystem(sys, workloads, base, znodes, driver));
    } finally {
      await sys.stop();
    }
  }

  const json = join(values.out!, `${stamp}.json`);
  const svg = join(values.out!, `${stamp}.svg`);
  const record = { date: new Date().toISOString(), command, load: driver, workload: base, results };
  writeFileSync(json, JSON.stringify(record, null, 2) + '\n');
  writeFileSync(svg, chart(results));
  const loadLine = `load: ${driver === 'java' ? "Apache ZooKeeper's Java client" : '@zooid/client'}, ${base.sessions} sessions × ${base.inflight} in flight\n`;
  process.stdout.write(loadLine + table(results) + `\nresults: ${json}\nchart:   ${svg}\n`);
}
