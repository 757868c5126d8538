/**
 * SASL DIGEST-MD5 (issue 11, item 3): users from a ZooKeeper JAAS file
 * (`Server { DigestLoginModule required user_NAME="…"; }`), `sasl:NAME` ids
 * for ACLs, the SASL super user, and enforce.auth.schemes — proven with
 * clients nobody here wrote: kazoo's sasl_options and the Java client's JAAS
 * `Client` section (zkCli.sh).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Err, OpCode, Xid } from '@zooid/protocol';
import { startStandalone, waitFor, type Standalone } from './harness.js';
import { runPython } from './clients/python.js';
import { runZkCli } from './clients/zkcli.js';
import { RawClient, req } from './support/raw-client.js';

const dir = mkdtempSync(join(tmpdir(), 'zooid-sasl-'));
const serverJaas = join(dir, 'server.jaas');
writeFileSync(
  serverJaas,
  `// as ZooKeeper's docs write it
Server {
       org.apache.zookeeper.server.auth.DigestLoginModule required
       user_super="adminsecret"
       user_bob="bobsecret"
       user_alice="alicesecret";
};
`,
);

/** A JAAS file for the Java client: its `Client` section is what makes it speak SASL. */
function clientJaas(user: string, password: string): string[] {
  const file = join(dir, `client-${user}-${password}.jaas`);
  writeFileSync(file, `Client {\n  org.apache.zookeeper.server.auth.DigestLoginModule required\n  username="${user}"\n  password="${password}";\n};\n`);
  return [`-Djava.security.auth.login.config=${file}`];
}

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('SASL DIGEST-MD5 with users from a JAAS file', () => {
  let zk: Standalone;
  let hosts: string;
  const kz = (user: string, password: string, mode: string, path = '/bobs') => runPython('kz_sasl.py', [hosts, user, password, path, mode]);

  beforeAll(async () => {
    // At debug level, so that a password logged anywhere would show.
    const verbose = { ZOOID_LOG_LEVEL: 'debug' };
    zk = await startStandalone({ memberArgs: ['--sasl-jaas', serverJaas, '--super-user', 'super'], memberEnv: verbose, gatewayEnv: verbose });
    hosts = zk.connectString;
  });
  afterAll(async () => {
    await zk?.stop();
  });

  it('kazoo authenticates, and sasl:bob is the id its ACL names', async () => {
    expect(await kz('bob', 'bobsecret', 'create')).toEqual({ acl: [['sasl', 'bob', 31]] });
    expect(await kz('bob', 'bobsecret', 'read')).toEqual({ data: 'for bob' });
    expect(await kz('alice', 'alicesecret', 'read')).toEqual({ error: 'NoAuthError' });
  }, 60_000);

  it('the super user reads what only bob may', async () => {
    expect(await kz('super', 'adminsecret', 'read')).toEqual({ data: 'for bob' });
  }, 60_000);

  it('a wrong password or an unknown user is AUTH_FAILED, not a session', async () => {
    expect(await kz('bob', 'wr0ng-pw-7f3a', 'refused')).toEqual({ state: 'auth_failed' });
    expect(await kz('mallory', 'x', 'refused')).toEqual({ state: 'auth_failed' });
    await waitFor('the refusal logged', () => /"reason":"wrong password for bob".*"msg":"SASL authentication failed; closing connection"/.test(zk.member.output()));
  }, 60_000);

  it('the Java client authenticates from its JAAS Client section: whoami, then a read only bob may make', async () => {
    const run = await runZkCli(hosts, ['whoami', 'get /bobs', 'getAcl /bobs'], 60_000, clientJaas('bob', 'bobsecret'));
    expect(run.lines).toEqual(expect.arrayContaining(['sasl: bob', 'for bob', "'sasl,'bob", ': cdrwa']));
  }, 90_000);

  it('the Java client with a wrong password is refused, and reads nothing', async () => {
    const run = await runZkCli(hosts, ['get /bobs'], 60_000, clientJaas('bob', 'wr0ng-pw-7f3a'));
    expect(run.raw).not.toContain('for bob');
    expect(run.raw).toMatch(/AuthFailed|Authentication failed|SASL authentication failed/i);
  }, 90_000);

  it('a raw sasl packet with garbage is AUTHFAILED and a closed connection; the member carries on', async () => {
    const { client } = await RawClient.handshake(zk.ports[0]!);
    const first = await client!.call(OpCode.sasl, { token: new Uint8Array() });
    expect(first.err).toBe(Err.OK);
    const second = await client!.call(OpCode.sasl, { token: Buffer.from('username="bob",garbage') });
    expect(second.err).toBe(Err.AUTHFAILED);
    await client!.closed;
    expect(await kz('bob', 'bobsecret', 'read')).toEqual({ data: 'for bob' });
  }, 60_000);

  it('no password, SASL or digest, right or wrong, is in any log line or any file of the data directory', async () => {
    const { client } = await RawClient.handshake(zk.ports[0]!);
    expect((await client!.callWithXid(Xid.auth, OpCode.auth, { type: 0, scheme: 'digest', auth: Buffer.from('carol:c4rol-digest-pw') })).err).toBe(Err.OK);
    expect((await client!.call(OpCode.create, req.create('/carols', 'c'))).err).toBe(Err.OK);
    await client!.close();
    const secrets = ['bobsecret', 'alicesecret', 'adminsecret', 'wr0ng-pw-7f3a', 'c4rol-digest-pw'];
    const logs = [zk.member, ...zk.gateways].map((p) => p.output()).join('\n');
    expect(logs).toContain('SASL authentication failed');
    for (const secret of secrets) expect(logs, secret).not.toContain(secret);
    for (const f of readdirSync(zk.dataDir, { recursive: true, withFileTypes: true }).filter((d) => d.isFile())) {
      let bytes: Buffer;
      try {
        bytes = readFileSync(join(f.parentPath, f.name));
      } catch {
        continue; // a spare log segment renamed meanwhile
      }
      for (const secret of secrets) expect(bytes.includes(secret), `${secret} in ${f.name}`).toBe(false);
    }
  }, 60_000);
});

describe('enforce.auth.schemes=sasl', () => {
  let zk: Standalone;

  beforeAll(async () => {
    zk = await startStandalone({ memberArgs: ['--sasl-jaas', serverJaas, '--enforce-auth-schemes', 'sasl'] });
  });
  afterAll(async () => {
    await zk?.stop();
  });

  it('a session that has not authenticated gets SESSIONCLOSEDREQUIRESASLAUTH and a closed connection', async () => {
    const { client } = await RawClient.handshake(zk.ports[0]!);
    const r = await client!.call(OpCode.getData, req.getData('/', false));
    expect(r.err).toBe(Err.SESSIONCLOSEDREQUIRESASLAUTH);
    await client!.closed;
    await waitFor('the refusal logged', () => zk.member.output().includes('request before authentication; closing connection'));
  });

  it('digest auth alone does not count; SASL does, for kazoo and for the Java client', async () => {
    const { client } = await RawClient.handshake(zk.ports[0]!);
    expect((await client!.callWithXid(Xid.auth, OpCode.auth, { type: 0, scheme: 'digest', auth: Buffer.from('bob:bobsecret') })).err).toBe(Err.OK);
    expect((await client!.call(OpCode.create, req.create('/x', 'x'))).err).toBe(Err.SESSIONCLOSEDREQUIRESASLAUTH);
    expect(await runPython('kz_sasl.py', [zk.connectString, 'alice', 'alicesecret', '/alices', 'create'])).toEqual({ acl: [['sasl', 'alice', 31]] });
    const run = await runZkCli(zk.connectString, ['get /alices'], 60_000, clientJaas('alice', 'alicesecret'));
    expect(run.lines).toContain('for alice');
  }, 90_000);
});
