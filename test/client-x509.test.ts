/**
 * x509 authentication (issue 11, item 2): with --ssl-client-auth need, a
 * client certificate's subject is the session's `x509` id, as ZooKeeper's
 * X509AuthenticationProvider makes it. kazoo with a certificate for CN=alice
 * makes a node only alice may read; CN=bob is refused it; a client without a
 * certificate is refused at the handshake.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { connect as tlsConnect } from 'node:tls';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureCa, ensureServerCert, freePort, waitForPort } from '@zooid/cli';
import { killProc, startProc, waitServing, type Proc } from './harness.js';
import { runPython } from './clients/python.js';

let dataDir: string;
let sa: Proc;
let securePort: number;
let ca: string;
const certs: Record<string, { cert: string; key: string }> = {};

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'zooid-x509-'));
  const port = await freePort();
  securePort = await freePort();
  sa = startProc('standalone', ['standalone', '--data-dir', dataDir, '--client-port', String(port), '--secure-client-port', String(securePort), '--ssl-client-auth', 'need', '--host', '127.0.0.1', '--admin-port', '0', '--tick-time', '500']);
  await waitForPort(securePort, '127.0.0.1', 30_000);
  await waitServing(port, 30_000);
  // Client certificates from the CA standalone made (a "server" certificate also carries clientAuth).
  const authority = await ensureCa(join(dataDir, 'tls'));
  ca = authority.file;
  mkdirSync(join(dataDir, 'clients'));
  for (const who of ['alice', 'bob']) certs[who] = await ensureServerCert(join(dataDir, 'clients'), who, '127.0.0.1', authority);
}, 60_000);

afterAll(async () => {
  if (sa) await killProc(sa, 'SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
});

const kz = (who: string, mode: string) => runPython('kz_x509.py', [`127.0.0.1:${securePort}`, ca, certs[who]!.cert, certs[who]!.key, '/alice-only', mode]);

describe('x509 ids from client certificates', () => {
  it("the certificate's subject is the session's x509 id", async () => {
    expect(await kz('alice', 'create')).toEqual({ acl: [['x509', 'CN=alice', 31]] });
    expect(await kz('alice', 'read')).toEqual({ data: 'for alice' });
    expect(await kz('bob', 'read')).toEqual({ error: 'NoAuthError' });
  }, 60_000);

  it('need: no certificate, no connection', async () => {
    const outcome = await new Promise<string>((resolve) => {
      const s = tlsConnect({ host: '127.0.0.1', port: securePort, rejectUnauthorized: false }, () => s.write(Buffer.alloc(48)));
      s.on('data', () => resolve('answered'));
      s.on('error', () => resolve('refused'));
      s.on('close', () => resolve('refused'));
    });
    expect(outcome).toBe('refused');
  });
});
