/**
 * Runs test/clients/CuratorCheck.java as a single-file program on Debian's
 * Curator and ZooKeeper jars (the JDK compiles it at launch). `jvmFlags`
 * carry the zookeeper.* properties, e.g. for TLS; a scenario that prints
 * `PAUSE` waits, with its client connected, until `onPause` has done the
 * test's part (a gateway restarted) and goes on.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';

const CLASSPATH = [
  '/usr/share/java/curator-recipes.jar',
  '/usr/share/java/slf4j-nop.jar',
  // The Netty socket's SslHandler needs these beside what zookeeper.jar names.
  '/usr/share/java/netty-codec.jar',
  '/usr/share/java/netty-resolver.jar',
].join(':');

export interface CuratorRun {
  jvmFlags?: string[];
  /** The scenario's own arguments, after the connect string and its name. */
  args?: string[];
  deadlineMs?: number;
  onPause?: () => Promise<void>;
}

export function runCurator<T = Record<string, unknown>>(connect: string, scenario: 'basic' | 'mutex' | 'latch' | 'reconfig', run: CuratorRun = {}): Promise<T> {
  const { jvmFlags = [], args = [], deadlineMs = 90_000, onPause } = run;
  const source = join(import.meta.dirname, 'CuratorCheck.java');
  return new Promise((resolve, reject) => {
    const child = spawn('/usr/bin/java', ['-Xmx128m', '-XX:TieredStopAtLevel=1', '-cp', CLASSPATH, ...jvmFlags, source, connect, scenario, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let scanned = 0;
    let failure: unknown;
    const timer = setTimeout(() => {
      failure = new Error(`CuratorCheck ${scenario} ran past its ${deadlineMs} ms deadline`);
      child.kill('SIGKILL');
    }, deadlineMs);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      for (let nl = stdout.indexOf('\n', scanned); nl >= 0; nl = stdout.indexOf('\n', scanned)) {
        const line = stdout.slice(scanned, nl);
        scanned = nl + 1;
        if (line !== 'PAUSE') continue;
        (onPause ?? (() => Promise.reject(new Error('the scenario paused and the test has no onPause'))))().then(
          () => child.stdin.write('\n'),
          (err: unknown) => {
            failure = err;
            child.kill('SIGKILL');
          },
        );
      }
    });
    // A scenario that died before its go-ahead: its exit says why, not the write that found it gone.
    child.stdin.on('error', () => undefined);
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (failure) return reject(failure instanceof Error ? failure : new Error(String(failure)));
      if (code !== 0) return reject(new Error(`CuratorCheck ${scenario} failed (${code ?? signal}):\n${stderr}\n${stdout}`));
      const last = stdout.trim().split('\n').at(-1) ?? '';
      try {
        resolve(JSON.parse(last) as T);
      } catch {
        reject(new Error(`CuratorCheck ${scenario} printed no JSON:\n${stdout}\n${stderr}`));
      }
    });
  });
}
