/**
 * Runs the real Apache ZooKeeper 3.8 (Debian package `zookeeper`) in
 * standalone mode on a free loopback port, for comparing Zooid's answers
 * with the reference ones. Not used by the default test run; a test opts in
 * with ZOOID_COMPARE_ZK=1.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@zooid/cli';
import { fourLetter, waitFor } from '../harness.js';

export interface RealZk {
  port: number;
  child: ChildProcess;
  output: () => string;
  stop(): Promise<void>;
}

export const realZkAvailable = existsSync('/usr/share/java/zookeeper.jar');

export async function startRealZk(opts: { tickTime?: number } = {}): Promise<RealZk> {
  const work = mkdtempSync(join(tmpdir(), 'real-zk-'));
  const port = await freePort();
  const conf = join(work, 'zoo.cfg');
  writeFileSync(
    conf,
    [
      `tickTime=${opts.tickTime ?? 500}`,
      `dataDir=${join(work, 'data')}`,
      `clientPort=${port}`,
      'clientPortAddress=127.0.0.1',
      'admin.enableServer=false',
      '4lw.commands.whitelist=*',
      '',
    ].join('\n'),
  );
  const child = spawn('java', ['-cp', '/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-simple.jar', 'org.apache.zookeeper.server.ZooKeeperServerMain', conf], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-200_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await waitFor('real ZooKeeper serving', async () => /Zookeeper version/.test(await fourLetter(port, 'srvr')), 30_000, 200);
  return {
    port,
    child,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
      rmSync(work, { recursive: true, force: true });
    },
  };
}
