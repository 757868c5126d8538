/**
 * Drives Debian's zkCli.sh (the Java ZooKeeperMain) in batch: one JVM per
 * call, commands piped on stdin, `quit` last. Its output mixes the command
 * results (main thread, in order) with watch notifications (event thread, at
 * any point); `runZkCli` separates the two.
 */
import { spawn } from 'node:child_process';

export const ZKCLI = '/usr/share/zookeeper/bin/zkCli.sh';

export interface ZkCliRun {
  /** Everything printed, as is. */
  raw: string;
  /** Command output lines in order: banners, SLF4J noise, blank lines and watch notifications removed. */
  lines: string[];
  /** `WatchedEvent state:… type:… path:…` lines, in arrival order. */
  events: string[];
}

const NOISE = [/^SLF4J:/, /^Connecting to /, /^Welcome to ZooKeeper!$/, /^JLine support is (disabled|enabled)$/, /^WATCHER::$/, /^\s*$/];

/**
 * zkCli.sh's own JVM with `jvmFlags` and the jars its class path misses for
 * TLS: Debian's zookeeper.jar names netty-handler but not netty-codec and
 * netty-resolver, which ClientCnxnSocketNetty's SslHandler needs.
 */
function secureZkCli(server: string, jvmFlags: string[]): [string, string[]] {
  const cp = ['/etc/zookeeper/conf', '/usr/share/java/zookeeper.jar', '/usr/share/java/netty-codec.jar', '/usr/share/java/netty-resolver.jar'].join(':');
  return ['/usr/bin/java', ['-Xmx128m', '-XX:TieredStopAtLevel=1', '-cp', cp, ...jvmFlags, 'org.apache.zookeeper.ZooKeeperMain', '-server', server]];
}

/** With `jvmFlags` (TLS, JAAS), the same CLI runs from its jars with those system properties. */
export function runZkCli(server: string, commands: string[], deadlineMs = 60_000, jvmFlags?: string[]): Promise<ZkCliRun> {
  return new Promise((resolve, reject) => {
    const [cmd, args] = jvmFlags ? secureZkCli(server, jvmFlags) : [ZKCLI, ['-server', server]];
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, JAVA_OPTS: '-Xmx128m -XX:TieredStopAtLevel=1' } });
    let raw = '';
    child.stdout.on('data', (d) => (raw += d));
    child.stderr.on('data', (d) => (raw += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`zkCli.sh did not finish within ${deadlineMs} ms; output so far:\n${raw}`));
    }, deadlineMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal) return;
      // In batch mode zkCli exits with the status of the last command, which
      // is often an expected failure: the output is what tells.
      void code;
      const all = raw.split('\n').map((l) => l.replace(/\r$/, ''));
      const events = all.filter((l) => l.startsWith('WatchedEvent '));
      const lines = all.filter((l) => !l.startsWith('WatchedEvent ') && !NOISE.some((re) => re.test(l)));
      resolve({ raw, lines, events });
    });
    child.stdin.end([...commands, 'quit', ''].join('\n'));
  });
}

/** The 11 lines zkCli prints for a Stat, parsed; zxids and ephemeralOwner as bigint. */
export interface CliStat {
  cZxid: bigint;
  ctime: string;
  mZxid: bigint;
  mtime: string;
  pZxid: bigint;
  cversion: number;
  dataVersion: number;
  aclVersion: number;
  ephemeralOwner: bigint;
  dataLength: number;
  numChildren: number;
}

export const STAT_KEYS = ['cZxid', 'ctime', 'mZxid', 'mtime', 'pZxid', 'cversion', 'dataVersion', 'aclVersion', 'ephemeralOwner', 'dataLength', 'numChildren'] as const;

/** Parses the stat block starting at lines[at]; throws if the 11 lines are not there. */
export function parseStat(lines: string[], at: number): CliStat {
  const out: Record<string, unknown> = {};
  STAT_KEYS.forEach((key, i) => {
    const line = lines[at + i];
    const m = line?.match(/^(\w+) = (.*)$/);
    if (!m || m[1] !== key) throw new Error(`expected '${key} = …' at line ${at + i}, got ${JSON.stringify(line)}`);
    const v = m[2]!;
    out[key] = key.endsWith('Zxid') || key === 'ephemeralOwner' ? BigInt(v) : key.endsWith('time') ? v : Number(v);
  });
  return out as unknown as CliStat;
}

/** A zkCli.sh kept running: commands are written as the test goes, output is watched as it comes. */
export interface ZkCliSession {
  /** Writes commands to zkCli's stdin. */
  send(...commands: string[]): void;
  /** Raw output so far, split in lines. */
  readonly output: string[];
  /** Waits for an output line matching `re` (at or after line `from`); resolves with its index. */
  waitLine(re: RegExp, deadlineMs?: number, from?: number): Promise<number>;
  /** Sends quit and resolves with the whole run, split like runZkCli's. */
  end(deadlineMs?: number): Promise<ZkCliRun>;
  kill(): void;
}

export function runZkCliSession(server: string): ZkCliSession {
  const child = spawn(ZKCLI, ['-server', server], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, JAVA_OPTS: '-Xmx128m -XX:TieredStopAtLevel=1' } });
  let raw = '';
  const output: string[] = [];
  const onData = (d: Buffer) => {
    raw += d;
    output.length = 0;
    output.push(...raw.split('\n'));
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const split = (): ZkCliRun => {
    const all = raw.split('\n').map((l) => l.replace(/\r$/, ''));
    return {
      raw,
      events: all.filter((l) => l.startsWith('WatchedEvent ')),
      lines: all.filter((l) => !l.startsWith('WatchedEvent ') && !NOISE.some((re) => re.test(l))),
    };
  };
  return {
    output,
    send: (...commands) => void child.stdin.write(commands.map((c) => c + '\n').join('')),
    async waitLine(re, deadlineMs = 30_000, from = 0) {
      const until = Date.now() + deadlineMs;
      for (;;) {
        const i = output.findIndex((l, n) => n >= from && re.test(l));
        if (i >= 0) return i;
        if (child.exitCode !== null) throw new Error(`zkCli.sh exited before printing ${re}:\n${raw}`);
        if (Date.now() > until) throw new Error(`zkCli.sh did not print ${re} within ${deadlineMs} ms:\n${raw}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async end(deadlineMs = 30_000) {
      child.stdin.end('quit\n');
      const timer = setTimeout(() => child.kill('SIGKILL'), deadlineMs);
      await exited;
      clearTimeout(timer);
      return split();
    },
    kill: () => void child.kill('SIGKILL'),
  };
}
