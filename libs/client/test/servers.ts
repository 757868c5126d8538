/**
 * The two servers the client's tests run against: a real Zooid standalone
 * (nats-server, member and gateway as child processes, from the shared test
 * harness) and the real Apache ZooKeeper 3.8 from Debian's `zookeeper`
 * package, started as `java ... ZooKeeperServerMain` with a temporary
 * config on a free port and killed by pid.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '@zooid/cli';
import { fourLetter, startStandalone, waitFor } from '../../../test/harness.js';

export interface TestServer {
  name: 'zooid' | 'zookeeper';
  connectString: string;
  port: number;
  tickTime: number;
  stop(): Promise<void>;
}

export const TICK = 500;

const ZK_JAR = '/usr/share/java/zookeeper.jar';

export async function startZooid(): Promise<TestServer> {
  const s = await startStandalone({ gateways: 1, tickTime: TICK });
  return { name: 'zooid', connectString: s.connectString, port: s.ports[0]!, tickTime: TICK, stop: () => s.stop() };
}

/**
 * ZooKeeper 3.8 standalone with TTL nodes enabled and the container sweep
 * every 200 ms (instead of once a minute), so both server kinds remove
 * empty containers and expired TTL nodes within a test's patience.
 */
export async function startZooKeeper(): Promise<TestServer> {
  if (!existsSync(ZK_JAR)) throw new Error(`${ZK_JAR} is missing: install Debian's zookeeper package (apt-get install zookeeper)`);
  const work = mkdtempSync(join(tmpdir(), 'client-test-zk-'));
  const port = await freePort();
  const conf = join(work, 'zoo.cfg');
  writeFileSync(
    conf,
    [`tickTime=${TICK}`, `dataDir=${join(work, 'data')}`, `clientPort=${port}`, 'clientPortAddress=127.0.0.1', 'admin.enableServer=false', '4lw.commands.whitelist=*', ''].join('\n'),
  );
  const child = spawn(
    'java',
    [
      '-Dzookeeper.extendedTypesEnabled=true',
      '-Dznode.container.checkIntervalMs=200',
      '-Dzookeeper.log.dir=' + work,
      '-cp',
      `${ZK_JAR}:/usr/share/java/slf4j-simple.jar`,
      'org.apache.zookeeper.server.ZooKeeperServerMain',
      conf,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  const keep = (d: Buffer) => (out = (out + d.toString()).slice(-100_000));
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  try {
    await waitFor('ZooKeeper serving', async () => child.exitCode === null && /Zookeeper version/.test(await fourLetter(port, 'srvr')), 60_000, 200);
  } catch (err) {
    child.kill('SIGKILL');
    throw new Error(`${(err as Error).message}\n${out}`);
  }
  return {
    name: 'zookeeper',
    connectString: `127.0.0.1:${port}`,
    port,
    tickTime: TICK,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
      rmSync(work, { recursive: true, force: true });
    },
  };
}
