/**
 * Runs test/clients/CuratorCheck.java as a single-file program on Debian's
 * Curator and ZooKeeper jars (the JDK compiles it at launch). `jvmFlags`
 * carry the zookeeper.* properties, e.g. for TLS.
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';

const CLASSPATH = [
  '/usr/share/java/curator-recipes.jar',
  '/usr/share/java/slf4j-nop.jar',
  // The Netty socket's SslHandler needs these beside what zookeeper.jar names.
  '/usr/share/java/netty-codec.jar',
  '/usr/share/java/netty-resolver.jar',
].join(':');

export function runCurator<T = Record<string, unknown>>(connect: string, scenario: 'basic' | 'mutex' | 'latch', jvmFlags: string[] = [], deadlineMs = 90_000): Promise<T> {
  const source = join(import.meta.dirname, 'CuratorCheck.java');
  return new Promise((resolve, reject) => {
    execFile('/usr/bin/java', ['-Xmx128m', '-XX:TieredStopAtLevel=1', '-cp', CLASSPATH, ...jvmFlags, source, connect, scenario], { timeout: deadlineMs, killSignal: 'SIGKILL', maxBuffer: 8 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`CuratorCheck ${scenario} failed (${err.code ?? err.signal}):\n${stderr}\n${stdout}`));
        return;
      }
      const last = stdout.trim().split('\n').at(-1) ?? '';
      try {
        resolve(JSON.parse(last) as T);
      } catch {
        reject(new Error(`CuratorCheck ${scenario} printed no JSON:\n${stdout}\n${stderr}`));
      }
    });
  });
}
