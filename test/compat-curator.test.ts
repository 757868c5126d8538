/**
 * Compatibility: Apache Curator 5.4 (Debian's libcurator-*-java) on the
 * ZooKeeper 3.8 Java client — the framework's CRUD, the InterProcessMutex
 * and LeaderLatch recipes, and the framework over the TLS client port with
 * the Netty socket and a PEM trust store.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, waitForPort } from '@zooid/cli';
import { killProc, startProc, waitServing, type Proc } from './harness.js';
import { runCurator } from './clients/curator.js';

let dataDir: string;
let sa: Proc;
let plain: string;
let secure: string;

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'zooid-curator-'));
  const [port, securePort] = [await freePort(), await freePort()];
  sa = startProc('standalone', ['standalone', '--data-dir', dataDir, '--client-port', String(port), '--secure-client-port', String(securePort), '--host', '127.0.0.1', '--admin-port', '0', '--tick-time', '500']);
  await waitForPort(securePort, '127.0.0.1', 30_000);
  await waitServing(port, 30_000);
  plain = `127.0.0.1:${port}`;
  secure = `127.0.0.1:${securePort}`;
}, 60_000);

afterAll(async () => {
  if (sa) await killProc(sa, 'SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
});

describe('Curator against Zooid', () => {
  it('creates with parents, sets, gets, lists and deletes recursively', async () => {
    expect(await runCurator(plain, 'basic')).toEqual({ data: 'two', children: 'a', gone: true });
  }, 120_000);

  it('InterProcessMutex: held by one client, not to be had by another until released', async () => {
    expect(await runCurator(plain, 'mutex')).toEqual({ aGot: true, bWhileHeld: false, bAfter: true });
  }, 120_000);

  it('LeaderLatch: one leader of two, and the other takes over when it leaves', async () => {
    expect(await runCurator(plain, 'latch')).toEqual({ oneLeader: true, tookOver: true });
  }, 120_000);

  it('over the TLS client port', async () => {
    const tls = [
      '-Dzookeeper.client.secure=true',
      '-Dzookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty',
      `-Dzookeeper.ssl.trustStore.location=${join(dataDir, 'tls', 'ca.pem')}`,
      '-Dzookeeper.ssl.trustStore.type=PEM',
    ];
    expect(await runCurator(secure, 'basic', { jvmFlags: tls })).toEqual({ data: 'two', children: 'a', gone: true });
  }, 120_000);
});
