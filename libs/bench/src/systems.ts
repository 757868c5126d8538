import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { ZOOID_BIN, ensureCa, ensureServerCert, freePort, freePorts, startNatsServer, type ManagedNats } from '@zooid/cli';
import { processTree } from './procs.js';
import { PresenceBoard, askMembers } from './presence-board.js';
import type { HeapReport } from '@zooid/protocol';

/** A system under test: where clients connect, which processes are its, and how to stop it. */
export interface System {
  name: string;
  connectString: string;
  /** The CA to trust when clients connect over TLS (the system's secure client port). */
  tlsCa?: string;
  pids(): number[];
  stop(): Promise<void>;
  /** The supervisor every process of the system descends from, where there is one (`zooid up`). */
  root?: number;
  /** The voting members, for what the scale bench does to them; absent for a server someone else runs. */
  members?: MemberHandle[];
  /** The id of the member leading now. */
  leader?(): Promise<string>;
  /** The longest event-loop stall the member reported within [from, to], ms; null where the system does not report it. */
  stall?(id: string, from: number, to: number): number | null;
  /** Snapshots each member took, from its log: ms to take one (encode and write) and bytes. */
  snapshotTimes?(): number[];
  /**
   * The heap the voting members hold live, summed: each one's in-use heap
   * right after a full collection it was made to run (Zooid: V8's heap and
   * Buffers outside it; ZooKeeper: the JVM's heap after `jcmd GC.run`).
   * Unlike resident size, it does not count what a heap has reserved.
   */
  liveHeap?(): Promise<number>;
  /** Whether the member announced itself at or after `since` (its announcement reports the stalls before it). */
  announced?(id: string, since: number): boolean;
}

/** One voting member of a system the bench started. */
export interface MemberHandle {
  id: string;
  /** SIGKILL; with wipe, its data directory is emptied first. It starts again (by its supervisor, or here). */
  kill(opts?: { wipe?: boolean }): Promise<void>;
  /** Serving clients again, in sync with the leader, since `since`. */
  serving(since: number): Promise<boolean>;
  /** Bytes of its newest snapshot file, if it has one. */
  newestSnapshotBytes(): number | undefined;
}

const execFileP = promisify(execFile);

/** Size of the newest `snapshot.<zxid hex>` file in dir, by zxid. */
function newestSnapshot(dir: string): number | undefined {
  if (!existsSync(dir)) return undefined;
  const names = readdirSync(dir).filter((n) => /^snapshot\.[0-9a-f]+$/.test(n));
  if (names.length === 0) return undefined;
  const newest = names.sort((a, b) => Number(BigInt('0x' + a.slice(9)) - BigInt('0x' + b.slice(9)))).at(-1)!;
  return statSync(join(dir, newest)).size;
}

function fourLetter(port: number, word: string): Promise<string> {
  return new Promise((resolve) => {
    const s = connect({ port, host: '127.0.0.1' }, () => s.write(word));
    let out = '';
    s.on('data', (d) => (out += d.toString()));
    s.on('end', () => resolve(out));
    s.on('error', () => resolve(''));
  });
}

export async function waitUntil(what: string, fn: () => Promise<boolean>, deadlineMs: number): Promise<void> {
  const until = Date.now() + deadlineMs;
  while (!(await fn())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill(signal);
  const force = setTimeout(() => child.kill('SIGKILL'), 10_000);
  return exited.finally(() => clearTimeout(force));
}

/**
 * `zooid up` with three voting members, no observer and one gateway, on a
 * bus of one of three kinds: the one it provisions (`secure`: three
 * clustered nats-servers, an nkey per process, TLS), the same on one
 * nats-server (`secure-1`: authentication and TLS without clustering), or one
 * nats-server without authentication or TLS (`open`, as Zooid ran before its
 * bus was secured). Side by side they split what the secured, clustered bus
 * costs into its two parts.
 */
export type ZooidBus = 'secure' | 'secure-1' | 'open';

export const ZOOID_SYSTEMS: Record<ZooidBus, string> = { secure: 'zooid', 'secure-1': 'zooid-secure-1', open: 'zooid-open-bus' };

/** What the scale bench needs of a system beyond a client port: its members' logs, handles and reports. */
export interface StartOptions {
  tls?: boolean;
  scale?: boolean;
  /** Zooid's shape beyond its three voters: observers (default 0) and gateways (default 1). */
  observers?: number;
  gateways?: number;
}

/** How to stop each system started and not yet stopped: an interrupted bench stops them, not leaving them running. */
const running = new Set<() => Promise<void>>();

/** `stop`, registered until it has run. */
function tracked(stop: () => Promise<void>): () => Promise<void> {
  const once = async () => {
    if (!running.delete(once)) return;
    await stop();
  };
  running.add(once);
  return once;
}

/** Stops every system still running (on SIGINT or SIGTERM). */
export async function stopRunning(): Promise<void> {
  await Promise.all([...running].map((stop) => stop().catch(() => undefined)));
}

/** The voting members `startZooid` runs (`--followers 3`). */
const ZOOID_VOTERS = ['1', '2', '3'];

export async function startZooid(kind: ZooidBus = 'secure', opts: StartOptions = {}): Promise<System> {
  const dir = mkdtempSync(join(tmpdir(), 'zooid-bench-'));
  const gateways = opts.gateways ?? 1;
  const port = await freePorts(gateways);
  const adminPort = await freePorts(gateways);
  const securePort = opts.tls ? await freePort() : undefined;
  let nats: ManagedNats | undefined;
  const bus: string[] = [];
  if (kind === 'open') {
    nats = await startNatsServer();
    bus.push('--nats', nats.url);
  } else if (kind === 'secure-1') {
    bus.push('--nats-servers', '1');
  }
  const logFile = join(dir, 'up.log');
  const out = opts.scale ? openSync(logFile, 'a') : 'ignore';
  const child = spawn(process.execPath, [ZOOID_BIN, 'up', '--followers', String(ZOOID_VOTERS.length), '--observers', String(opts.observers ?? 0), '--gateways', String(gateways), '--client-port', String(port), '--admin-port', String(adminPort), '--data-dir', dir, ...bus, ...(securePort ? ['--secure-client-port', String(securePort)] : [])], {
    stdio: ['ignore', out, out],
    // The scale bench reads the members' snapshot lines.
    // --expose-gc: the members run a full collection when the bench asks for their live heap.
    env: { ...process.env, ZOOID_LOG_LEVEL: opts.scale ? 'info' : 'warn', ZOOID_LOG_FORMAT: 'json', NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --expose-gc`.trim() },
  });
  const ports = Array.from({ length: gateways }, (_, i) => port + i);
  const cleanUp = tracked(async () => {
    await stopChild(child);
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  try {
    for (const p of ports) await waitUntil(`Zooid serving on ${p}`, async () => /Mode: (leader|follower|standalone|observer)/.test(await fourLetter(p, 'srvr')), 60_000);
  } catch (err) {
    // A cluster that never served is stopped too, not left running after the bench gives up.
    await cleanUp();
    throw err;
  }
  const board = opts.scale ? await PresenceBoard.open(dir) : undefined;
  const members = board ? ZOOID_VOTERS.map((id) => zooidMember(board, id, join(dir, `member-${id}`))) : undefined;
  return {
    members,
    leader: board
      ? async () => {
          await waitUntil('a Zooid leader', async () => board.leader() !== undefined, 30_000);
          return board.leader()!.id;
        }
      : undefined,
    stall: board ? (id, from, to) => board.maxStall(id, from, to) : undefined,
    announced: board ? (id, since) => board.latest(id, since) !== undefined : undefined,
    snapshotTimes: () => logLines(logFile, /"msg":"snapshot written"/).map((l) => Number(/"encodeMs":(\d+)/.exec(l)?.[1]) + Number(/"writeMs":(\d+)/.exec(l)?.[1])),
    name: `${ZOOID_SYSTEMS[kind]}${securePort ? '-tls' : ''}`,
    // up made the port's CA and certificate in <data-dir>/tls/.
    ...(securePort ? { connectString: `127.0.0.1:${securePort}`, tlsCa: readFileSync(join(dir, 'tls', 'ca.pem'), 'utf8') } : { connectString: ports.map((p) => `127.0.0.1:${p}`).join(',') }),
    root: child.pid,
    liveHeap: async () => {
      // A member holds a snapshot whole while it encodes and writes it: the steady state is between snapshots.
      let reports: HeapReport[] = [];
      await waitUntil(
        'no Zooid member in the middle of a snapshot',
        async () => {
          reports = await askMembers<HeapReport>(dir, ZOOID_VOTERS, { command: 'heap' }, 30_000);
          return reports.every((r) => !r.snapshotting);
        },
        // One of ten million znodes takes tens of seconds on this machine.
        300_000,
      );
      if (reports.some((r) => !r.collected)) throw new Error('a Zooid member ran no full collection (started without --expose-gc)');
      return reports.reduce((sum, r) => sum + r.heapUsed + r.external, 0);
    },
    pids: () => [...processTree(child.pid!), ...(nats ? processTree(nats.child.pid!) : [])],
    stop: async () => {
      await board?.close();
      await cleanUp();
    },
  };
}

function logLines(file: string, match: RegExp): string[] {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => match.test(l)) : [];
}

/** A member of `zooid up`: its supervisor restarts it when it dies. */
function zooidMember(board: PresenceBoard, id: string, dataDir: string): MemberHandle {
  let killed: number | undefined;
  return {
    id,
    async kill({ wipe = false } = {}) {
      const pid = board.latest(id)?.pid;
      if (pid === undefined) throw new Error(`member ${id} has not announced itself`);
      // Emptied under the running process: what it still writes goes to unlinked files.
      if (wipe) for (const name of readdirSync(dataDir)) rmSync(join(dataDir, name), { recursive: true, force: true });
      process.kill(pid, 'SIGKILL');
      killed = pid;
    },
    async serving(since) {
      const p = board.latest(id, since);
      return p !== undefined && p.pid !== killed && p.serving && p.role === 'following';
    },
    newestSnapshotBytes: () => newestSnapshot(join(dataDir, 'snapshots')),
  };
}

// Debian's zookeeper.jar names netty-handler but not the codec and resolver jars its SslHandler needs.
const ZK_CLASSPATH = ['/usr/share/java/zookeeper.jar', '/usr/share/java/slf4j-simple.jar', '/usr/share/java/netty-codec.jar', '/usr/share/java/netty-resolver.jar'].join(':');

/**
 * ZooKeeper's own TLS client port: the Netty connection factory, and PEM
 * key and trust stores from a CA made here with Zooid's certificate code
 * (ZooKeeper's PEM key store is the private key and the chain in one file).
 */
async function zooKeeperTls(dir: string): Promise<{ lines: string[]; ca: string }> {
  const tlsDir = join(dir, 'tls');
  mkdirSync(tlsDir, { recursive: true });
  const ca = await ensureCa(tlsDir, 'bench CA');
  const server = await ensureServerCert(tlsDir, 'zookeeper', '127.0.0.1', ca);
  const keyStore = join(tlsDir, 'keystore.pem');
  writeFileSync(keyStore, readFileSync(server.key, 'utf8') + readFileSync(server.cert, 'utf8'));
  return {
    ca: readFileSync(ca.file, 'utf8'),
    lines: [
      'serverCnxnFactory=org.apache.zookeeper.server.NettyServerCnxnFactory',
      `ssl.keyStore.location=${keyStore}`,
      'ssl.keyStore.type=PEM',
      `ssl.trustStore.location=${ca.file}`,
      'ssl.trustStore.type=PEM',
      'ssl.clientAuth=none',
    ],
  };
}

/** Apache ZooKeeper 3.8 from Debian: three servers on loopback, default fsync on; with `tls`, clients use its secureClientPort. */
export async function startZooKeeper(opts: StartOptions = {}): Promise<System> {
  const dir = mkdtempSync(join(tmpdir(), 'zk-bench-'));
  const ids = [1, 2, 3];
  const ports = await Promise.all(ids.map(async () => ({ client: await freePort(), secure: await freePort(), quorum: await freePort(), election: await freePort() })));
  const tls = opts.tls ? await zooKeeperTls(dir) : undefined;
  const servers = ids.map((id, i) => `server.${id}=127.0.0.1:${ports[i]!.quorum}:${ports[i]!.election}`);
  const dataDir = (id: number) => join(dir, `zk${id}`);
  const spawnServer = (id: number) => {
    const data = dataDir(id);
    const cfg = join(data, 'zoo.cfg');
    // The scale bench reads "Snapshot taken in N ms" from what slf4j-simple writes to stderr.
    const err = opts.scale ? openSync(join(data, 'zk.log'), 'a') : 'ignore';
    return spawn('java', ['-Dzookeeper.log.dir=' + data, '-cp', ZK_CLASSPATH, 'org.apache.zookeeper.server.quorum.QuorumPeerMain', cfg], { stdio: ['ignore', 'ignore', err] });
  };
  const children = ids.map((id, i) => {
    const data = dataDir(id);
    mkdirSync(data, { recursive: true });
    writeFileSync(join(data, 'myid'), `${id}\n`);
    writeFileSync(
      join(data, 'zoo.cfg'),
      ['tickTime=2000', 'initLimit=10', 'syncLimit=5', `dataDir=${data}`, `clientPort=${ports[i]!.client}`, 'clientPortAddress=127.0.0.1', 'admin.enableServer=false', '4lw.commands.whitelist=*', ...servers, ...(tls ? [`secureClientPort=${ports[i]!.secure}`, ...tls.lines] : []), ''].join('\n'),
    );
    return spawnServer(id);
  });
  // ZooKeeper keeps every snapshot and log unless purged, and its autopurge runs hourly at most: loading millions of
  // znodes, three members filled 50 GB in 17 minutes. Purged every minute to the three newest, as Zooid keeps, the
  // way zkCleanup.sh from cron would.
  let purging = Promise.resolve();
  const purge = opts.scale
    ? setInterval(() => {
        purging = purging.then(async () => {
          for (const id of ids) await execFileP('java', ['-cp', ZK_CLASSPATH, 'org.apache.zookeeper.server.PurgeTxnLog', dataDir(id), '-n', '3']).catch(() => undefined); // a member wiped meanwhile has nothing to purge
        });
      }, 60_000)
    : undefined;
  const stopAll = tracked(async () => {
    clearInterval(purge);
    await purging;
    await Promise.all(children.map((c) => stopChild(c)));
    rmSync(dir, { recursive: true, force: true });
  });
  const mode = async (i: number) => /Mode: (\w+)/.exec(await fourLetter(ports[i]!.client, 'srvr'))?.[1];
  try {
    await waitUntil('ZooKeeper quorum serving', async () => {
      const modes = await Promise.all(ids.map((_, i) => mode(i)));
      return modes.includes('leader') && modes.filter((m) => m === 'follower').length === 2;
    }, 90_000);
  } catch (err) {
    await stopAll();
    throw err;
  }
  const members = ids.map((id, i): MemberHandle => ({
    id: String(id),
    async kill({ wipe = false } = {}) {
      await stopChild(children[i]!, 'SIGKILL');
      if (wipe) rmSync(join(dataDir(id), 'version-2'), { recursive: true, force: true });
      children[i] = spawnServer(id);
    },
    serving: async () => (await mode(i)) === 'follower',
    newestSnapshotBytes: () => newestSnapshot(join(dataDir(id), 'version-2')),
  }));
  return {
    name: tls ? 'zookeeper-tls' : 'zookeeper',
    connectString: ports.map((p) => `127.0.0.1:${tls ? p.secure : p.client}`).join(','),
    tlsCa: tls?.ca,
    pids: () => children.flatMap((c) => processTree(c.pid!)),
    members: opts.scale ? members : undefined,
    leader: async () => {
      let leader: string | undefined;
      await waitUntil('a ZooKeeper leader', async () => {
        const modes = await Promise.all(ids.map((_, i) => mode(i)));
        leader = String(ids[modes.indexOf('leader')] ?? '');
        return leader !== '';
      }, 30_000);
      return leader!;
    },
    stall: () => null,
    liveHeap: async () => (await Promise.all(children.map((c) => jvmLiveHeap(c.pid!)))).reduce((a, b) => a + b, 0),
    snapshotTimes: () => ids.flatMap((id) => logLines(join(dataDir(id), 'zk.log'), /Snapshot taken in \d+ ms/).map((l) => Number(/Snapshot taken in (\d+) ms/.exec(l)![1]))),
    stop: stopAll,
  };
}

/** A JVM's heap in use right after a full collection: `jcmd GC.run`, then the `used` of `jcmd GC.heap_info`. */
async function jvmLiveHeap(pid: number): Promise<number> {
  await execFileP('jcmd', [String(pid), 'GC.run']);
  const { stdout } = await execFileP('jcmd', [String(pid), 'GC.heap_info']);
  const used = /heap\s+total \d+K, used (\d+)K/.exec(stdout);
  if (!used) throw new Error(`jcmd ${pid} GC.heap_info said nothing of the heap in use:\n${stdout}`);
  return Number(used[1]) * 1024;
}

/** Any ZooKeeper-compatible server someone else runs: nothing to start or stop, no processes to measure. */
export function external(connectString: string): System {
  return { name: connectString, connectString, pids: () => [], stop: async () => undefined };
}
