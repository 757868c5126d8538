/**
 * The TLS client port (issue 11, item 1): `zooid standalone
 * --secure-client-port` makes its own CA and certificate in <data-dir>/tls/,
 * and clients nobody here wrote connect through it — the Java client
 * (zkCli.sh with the Netty socket and a PEM trust store) and kazoo
 * (use_ssl) — as does `zooid shell --tls`. Refused: plain text on the TLS
 * port, a server certificate from a CA the client does not trust.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZOOID_BIN, ensureCa, freePort, waitForPort } from '@zooid/cli';
import { killProc, startProc, waitFor, waitServing, type Proc } from './harness.js';
import { runPython } from './clients/python.js';
import { runZkCli } from './clients/zkcli.js';

let dataDir: string;
let sa: Proc;
let port: number;
let securePort: number;
let ca: string;

function zooidShell(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [ZOOID_BIN, 'shell', ...args], { timeout: 30_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) =>
      resolve({ code: err ? Number(err.code ?? 1) : 0, out: stdout + stderr }),
    );
  });
}

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'zooid-tls-'));
  [port, securePort] = [await freePort(), await freePort()];
  sa = startProc('standalone', ['standalone', '--data-dir', dataDir, '--client-port', String(port), '--secure-client-port', String(securePort), '--host', '127.0.0.1', '--admin-port', '0', '--tick-time', '500']);
  await waitForPort(securePort, '127.0.0.1', 30_000);
  await waitServing(port, 30_000);
  ca = join(dataDir, 'tls', 'ca.pem');
}, 60_000);

afterAll(async () => {
  if (sa) await killProc(sa, 'SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
});

describe('TLS client port', () => {
  it('standalone made a CA and a certificate for 127.0.0.1 in <data-dir>/tls', () => {
    expect(existsSync(ca)).toBe(true);
  });

  it('kazoo with use_ssl and the CA', async () => {
    expect(await runPython('kz_tls.py', [`127.0.0.1:${securePort}`, ca, '/kazoo-tls'])).toEqual({ data: 'over tls' });
  }, 60_000);

  it('zkCli.sh: Netty socket, client.secure, PEM trust store', async () => {
    const jvm = [
      '-Dzookeeper.client.secure=true',
      '-Dzookeeper.clientCnxnSocket=org.apache.zookeeper.ClientCnxnSocketNetty',
      `-Dzookeeper.ssl.trustStore.location=${ca}`,
      '-Dzookeeper.ssl.trustStore.type=PEM',
    ];
    const run = await runZkCli(`127.0.0.1:${securePort}`, ['create /java-tls from-java', 'get /java-tls'], 90_000, jvm);
    expect(run.lines, run.raw).toContain('from-java');
  }, 120_000);

  it('zooid shell --tls, and the node kazoo wrote', async () => {
    const r = await zooidShell([`127.0.0.1:${securePort}`, '--tls', '--tls-ca', ca, '-c', 'get /kazoo-tls']);
    expect(r.out).toContain('over tls');
    expect(r.code).toBe(0);
  });

  it('plain text on the TLS port: closed unanswered, one log line', async () => {
    const got = await new Promise<string>((resolve) => {
      let out = '';
      // A plain ZooKeeper connect request: 4-byte length, then 44 bytes of record.
      const request = Buffer.alloc(48);
      request.writeInt32BE(44, 0);
      const s = connect(securePort, '127.0.0.1', () => s.write(request));
      s.on('data', (d) => (out += d));
      s.on('close', () => resolve(out));
      s.on('error', () => undefined);
    });
    expect(got).toBe('');
    await waitFor('the refusal logged', () => sa.output().includes('TLS handshake refused'), 10_000);
  });

  it('a server certificate from another CA is refused by the client', async () => {
    const other = await ensureCa(join(dataDir, 'other'), 'Some other CA');
    const r = await zooidShell([`127.0.0.1:${securePort}`, '--tls-ca', other.file, '--connect-timeout', '3000', '-c', 'ls /']);
    expect(r.code).not.toBe(0);
    const err = await new Promise<string>((resolve) => {
      const s = tlsConnect({ host: '127.0.0.1', port: securePort, ca: other.cert.toString('pem') }, () => resolve('connected'));
      s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    });
    expect(err).toMatch(/UNABLE_TO_VERIFY_LEAF_SIGNATURE|SELF_SIGNED|UNABLE_TO_GET_ISSUER_CERT/);
  });
});

describe('TLS only', () => {
  it('a zoo.cfg with secureClientPort and no clientPort gets a TLS port and no plain one, as ZooKeeper does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zooid-tls-only-'));
    const secure = await freePort();
    const cfg = join(dir, 'zoo.cfg');
    writeFileSync(cfg, `tickTime=500\ndataDir=${join(dir, 'data')}\nsecureClientPort=${secure}\nclientPortAddress=127.0.0.1\n`);
    const only = startProc('standalone', ['standalone', '--config', cfg, '--admin-port', '0']);
    try {
      await waitForPort(secure, '127.0.0.1', 30_000);
      const r = await zooidShell([`127.0.0.1:${secure}`, '--tls-ca', join(dir, 'data', 'tls', 'ca.pem'), '-c', 'create /tls-only yes\nget /tls-only']);
      expect(r.out).toMatch(/^yes$/m);
      const listening = await waitFor('the gateway saying where it listens', () => only.output().split('\n').find((l) => l.includes('"msg":"gateway listening"')));
      expect(JSON.parse(listening)).toMatchObject({ securePort: secure });
      expect(JSON.parse(listening)).not.toHaveProperty('port');
    } finally {
      await killProc(only, 'SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('--client-port none without a secure port is a usage error, not a gateway that serves nobody', async () => {
    const r = await new Promise<{ code: number; out: string }>((resolve) => {
      execFile(process.execPath, [ZOOID_BIN, 'gateway', '--client-port', 'none', '--nats', 'nats://127.0.0.1:1'], { timeout: 30_000 }, (err, stdout, stderr) =>
        resolve({ code: err ? Number(err.code ?? 1) : 0, out: stdout + stderr }),
      );
    });
    expect(r.code).toBe(2);
    expect(r.out).toContain('--client-port none needs --secure-client-port');
  });
});

describe('zooid up --secure-client-port', () => {
  it('gives every gateway a TLS port, counting up, with certificates in <data-dir>/tls', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'zooid-tls-up-'));
    const [plain, secure] = [await freePort(), await freePort()];
    const up = startProc('up', ['up', '--followers', '1', '--observers', '0', '--gateways', '1', '--nats-servers', '1', '--client-port', String(plain), '--secure-client-port', String(secure), '--admin-port', '0', '--data-dir', dir, '--tick-time', '500']);
    try {
      await waitServing(plain, 30_000).catch((err: unknown) => {
        throw new Error(`${String(err)}\nzooid up said:\n${up.output().slice(-4000)}`);
      });
      await waitForPort(secure, '127.0.0.1', 10_000);
      const r = await zooidShell([`127.0.0.1:${secure}`, '--tls-ca', join(dir, 'tls', 'ca.pem'), '-c', 'create /via-up up-over-tls\nget /via-up']);
      expect(r.out).toMatch(/^up-over-tls$/m);
      expect(r.code).toBe(0);
    } finally {
      await killProc(up, 'SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
