/**
 * The bench's load through Apache ZooKeeper's Java client (java/JavaLoad.java,
 * a single-file program the JDK compiles at launch on Debian's jars), for
 * `npm run bench -- --load java`.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LoadResult, Workload } from './load.js';

const SOURCE = fileURLToPath(new URL('../java/JavaLoad.java', import.meta.url));
/** zookeeper.jar's manifest names the rest of its classpath; slf4j-nop keeps the client quiet. */
const CLASSPATH = ['/usr/share/java/zookeeper.jar', '/usr/share/java/slf4j-nop.jar'].join(':');

export function runJavaLoad(connectString: string, w: Workload): Promise<LoadResult> {
  const args = [connectString, w.sessions, w.inflight, w.keys, w.valueBytes, w.readPercent, w.warmupMs, w.measureMs].map(String);
  // Setting up the sessions and compiling the program come on top of the run itself.
  const deadlineMs = w.warmupMs + w.measureMs + 120_000;
  return new Promise((resolve, reject) => {
    execFile('/usr/bin/java', ['-Xmx512m', '-cp', CLASSPATH, SOURCE, ...args], { timeout: deadlineMs, killSignal: 'SIGKILL' }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`the Java load failed (${err.code ?? err.signal}): ${stderr.trim()}`));
        return;
      }
      try {
        resolve(JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as LoadResult);
      } catch {
        reject(new Error(`the Java load printed no result: ${stdout}${stderr}`));
      }
    });
  });
}
