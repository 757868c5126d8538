/**
 * `--config FILE` / ZOOID_CONFIG: a zoo.cfg people already have. Parsing,
 * the flag > environment > file > default order, unknown keys (a warning
 * naming the key) and invalid values (refused, exit code 2), then real
 * processes started with a config file, checked through what a client and
 * the four-letter words see.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  CONFIG_KEYS,
  ConfigError,
  JaasError,
  followerSpec,
  freePort,
  gatewaySpec,
  memberSpec,
  parseConfig,
  parseJaasUsers,
  parseFlags,
  standaloneSpec,
  startNatsServer,
  waitForPort,
  ZOOID_BIN,
  type ManagedNats,
} from '@zooid/cli';
import { SnapshotStore } from '@zooid/store';
import { fourLetter, waitFor } from './harness.js';
import { NzkClient } from './clients/nzk.js';

const dirs: string[] = [];
function tempDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'zooid-config-'));
  dirs.push(d);
  return d;
}
function cfgFile(text: string): string {
  const f = join(tempDir(), 'zoo.cfg');
  writeFileSync(f, text);
  return f;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** A ZooKeeper 3.8 zoo.cfg as shipped and commonly edited. */
const ZOO_CFG = `# The number of milliseconds of each tick
tickTime=2500
# The number of ticks that the initial synchronization phase can take
initLimit=12
syncLimit=4
dataDir=/var/lib/zookeeper
clientPort=2182
clientPortAddress = 127.0.0.1
maxClientCnxns=0
minSessionTimeout: 6000
maxSessionTimeout 50000
4lw.commands.whitelist=stat, ruok, conf, isro
autopurge.snapRetainCount=5
autopurge.purgeInterval=24
jute.maxbuffer=4194304
snapCount=50000
DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=
! a properties comment
server.1=zoo1:2888:3888
server.2=zoo2:2888:3888;2181
server.3=[fe80::1]:2888:3888:participant;0.0.0.0:2181
server.4=zoo4:2888:3888:observer
server.5=zoo5a:2888:3888|zoo5b:2889:3889
`;

describe('parseConfig', () => {
  it('maps every zoo.cfg key to its flag, server.N voters to the ensemble', () => {
    const c = parseConfig(ZOO_CFG);
    expect(c.warnings).toEqual([]);
    expect(c.flags).toEqual({
      'tick-time': '2500',
      'init-limit': '12',
      'sync-limit': '4',
      'data-dir': '/var/lib/zookeeper',
      'client-port': '2182',
      host: '127.0.0.1',
      'max-client-cnxns': '0',
      'min-session-timeout': '6000',
      'max-session-timeout': '50000',
      '4lw-whitelist': 'stat, ruok, conf, isro',
      'snap-retain': '5',
      'purge-interval': '24',
      'max-buffer': '4194304',
      'snap-count': '50000',
      'super-digest': 'super:D/InIHSb7yEEbrWz8b9l71RjZJU=',
      // Observers (server.4) vote in no quorum.
      ensemble: '1,2,3,5',
    });
    expect(c.servers.map((s) => [s.id, s.observer])).toEqual([
      ['1', false],
      ['2', false],
      ['3', false],
      ['4', true],
      ['5', false],
    ]);
  });

  it("reads Zooid's own nats.* keys for the bus, and refuses servers that are not URLs", () => {
    const c = parseConfig('nats.servers=tls://nats-1:4222,tls://nats-2:4222\nnats.nkey=/etc/zooid/bus/member-1.nk\nnats.tls.ca=/etc/zooid/bus/ca.pem\n');
    expect(c.flags).toEqual({ nats: 'tls://nats-1:4222,tls://nats-2:4222', 'nats-nkey': '/etc/zooid/bus/member-1.nk', 'nats-tls-ca': '/etc/zooid/bus/ca.pem' });
    expect(c.warnings).toEqual([]);
    expect(() => parseConfig('nats.servers=http://x/y\n', 'z.cfg')).toThrow('z.cfg:1: invalid nats.servers=http://x/y: must be NATS URLs');
  });

  it('reads superUser, and enforce.auth.schemes only under enforce.auth.enabled=true', () => {
    expect(parseConfig('superUser=admin\nenforce.auth.enabled=true\nenforce.auth.schemes=sasl,digest\n').flags).toEqual({ 'super-user': 'admin', 'enforce-auth-schemes': 'sasl,digest' });
    const off = parseConfig('enforce.auth.enabled=false\nenforce.auth.schemes=sasl\n', 'z.cfg');
    expect(off.flags).toEqual({});
    expect(off.warnings).toEqual(['z.cfg: ignoring enforce.auth.schemes: enforce.auth.enabled is not true']);
    expect(() => parseConfig('enforce.auth.enabled=true\n', 'z.cfg')).toThrow('z.cfg: enforce.auth.enabled=true needs enforce.auth.schemes');
    expect(() => parseConfig('enforce.auth.enabled=yes\n', 'z.cfg')).toThrow('z.cfg:1: invalid enforce.auth.enabled=yes: must be true or false');
  });

  it('reads PEM key and trust stores as the TLS port\'s certificate, key and CA, and refuses other store types', () => {
    const c = parseConfig('ssl.keyStore.location=/etc/zk/server.pem\nssl.keyStore.password=\nssl.trustStore.location=/etc/zk/ca.crt\nssl.trustStore.type=PEM\nsecureClientPort=2281\n', 'z.cfg');
    // secureClientPort without clientPort: TLS only.
    expect(c.flags).toEqual({ 'ssl-cert': '/etc/zk/server.pem', 'ssl-key': '/etc/zk/server.pem', 'ssl-ca': '/etc/zk/ca.crt', 'secure-client-port': '2281', 'client-port': 'none' });
    expect(c.warnings).toEqual([]);
    expect(() => parseConfig('ssl.keyStore.location=/etc/zk/keystore.jks\n', 'z.cfg')).toThrow('z.cfg:1: ssl.keyStore /etc/zk/keystore.jks is a JKS store; Zooid reads PEM files');
    expect(() => parseConfig('ssl.trustStore.location=/etc/zk/trust.pem\nssl.trustStore.type=PKCS12\n', 'z.cfg')).toThrow('z.cfg:2: ssl.trustStore /etc/zk/trust.pem is a PKCS12 store');
    expect(parseConfig('ssl.keyStore.location=k.pem\nssl.keyStore.password=secret\n', 'z.cfg').warnings).toEqual(['z.cfg:2: ignoring ssl.keyStore.password: the PEM key must not be encrypted']);
  });

  it('maps each key to a flag some command has', () => {
    const flags = new Set([...Object.keys(memberSpec), ...Object.keys(gatewaySpec)]);
    for (const k of CONFIG_KEYS) expect(flags, k.key).toContain(k.flag);
    expect(Object.keys(followerSpec)).toContain('ensemble');
  });

  it('reads reconfigEnabled as true or false (any case) into --reconfig-enabled, and refuses anything else', () => {
    expect(parseConfig('reconfigEnabled=TRUE\n').flags['reconfig-enabled']).toBe('TRUE');
    expect(parseConfig('reconfigEnabled=false\n').flags['reconfig-enabled']).toBe('false');
    expect(() => parseConfig('reconfigEnabled=yes\n', 'r.cfg')).toThrow('r.cfg:1: invalid reconfigEnabled=yes: must be true or false');
  });

  it('warns about unknown keys by name and line, and about ZooKeeper keys that mean nothing here, and goes on', () => {
    const c = parseConfig('tickTime=100\nfoo.bar=1\ndataLogDir=/logs\nstandaloneEnabled=false\ntickTime=200\n', 'my.cfg');
    expect(c.flags['tick-time']).toBe('200');
    expect(c.warnings).toEqual([
      'my.cfg:2: unknown key "foo.bar" ignored',
      'my.cfg:3: ignoring dataLogDir: Zooid keeps the transaction log in dataDir/log',
      'my.cfg:4: ignoring standaloneEnabled: an ensemble of one is `zooid member`',
      'my.cfg:5: tickTime repeats line 1; the later value wins',
    ]);
  });

  it.each([
    ['tickTime=2s', 'tickTime=2s'],
    ['tickTime=0', 'tickTime=0'],
    ['initLimit=-1', 'initLimit=-1'],
    ['clientPort=-1', 'clientPort=-1'],
    ['clientPort=65536', 'clientPort=65536'],
    ['maxClientCnxns=ten', 'maxClientCnxns=ten'],
    ['jute.maxbuffer=0x100000', 'jute.maxbuffer=0x100000'],
    ['snapCount=1.5', 'snapCount=1.5'],
    ['autopurge.purgeInterval=-24', 'autopurge.purgeInterval=-24'],
    ['autopurge.snapRetainCount=0', 'autopurge.snapRetainCount=0'],
    ['4lw.commands.whitelist=ruok,stats', '4lw.commands.whitelist=ruok,stats'],
    ['dataDir=', 'dataDir='],
    ['DigestAuthenticationProvider.superDigest=super:password', 'DigestAuthenticationProvider.superDigest=super:password'],
    ['tickTime=2000 # ms', 'tickTime=2000 # ms'],
    ['server.1=zoo1:2888', 'server.1=zoo1:2888'],
    ['server.x=zoo1:2888:3888', 'server.x=zoo1:2888:3888'],
    ['server.1=zoo1:2888:99999', 'server.1=zoo1:2888:99999'],
    ['server.1=zoo1:2888:3888:leader', 'server.1=zoo1:2888:3888:leader'],
    ['minSessionTimeout=9000\nmaxSessionTimeout=4000', 'minSessionTimeout=9000'],
  ])('refuses %j naming key and value', (text, named) => {
    expect(() => parseConfig(text, 'z.cfg')).toThrow(ConfigError);
    expect(() => parseConfig(text, 'z.cfg')).toThrow(named);
  });
});

describe('parseJaasUsers', () => {
  it("reads the Server section's DigestLoginModule users, past comments and other sections", () => {
    const text = `/* a ZooKeeper JAAS file */
Client { org.apache.zookeeper.server.auth.DigestLoginModule required username="bob" password="nope"; };
Server {
  // the users
  org.apache.zookeeper.server.auth.DigestLoginModule required
    user_super="admin\\"secret"
    user_bob=bobsecret;
};`;
    expect(Object.fromEntries(parseJaasUsers(text))).toEqual({ super: 'admin"secret', bob: 'bobsecret' });
  });

  it.each([
    ['Client { m required a="b"; };', 'no "Server" section'],
    ['Server { com.sun.security.auth.module.Krb5LoginModule required useKeyTab=true; };', 'Kerberos is not supported'],
    ['Server { m required user_a="b" }', 'expected a name near "}"'],
    ['Server { m required user_a=; };', 'option user_a has no value'],
    ['Server { m required user_a="b; };', 'unterminated string'],
  ])('refuses %j: %s', (text, why) => {
    expect(() => parseJaasUsers(text, 'Server', 'j.conf')).toThrow(JaasError);
    expect(() => parseJaasUsers(text, 'Server', 'j.conf')).toThrow(why);
  });
});

describe('parseFlags with a config file', () => {
  const saved = { ...process.env };
  beforeEach(() => {
    for (const k of Object.keys(process.env)) if (k.startsWith('ZOOID_')) delete process.env[k];
  });
  afterEach(() => {
    process.env = { ...saved };
  });

  it('applies flag > environment > file > default', () => {
    const file = cfgFile('tickTime=3000\ninitLimit=20\nsyncLimit=7\nsnapCount=42\n');
    process.env.ZOOID_INIT_LIMIT = '30';
    process.env.ZOOID_SYNC_LIMIT = '8';
    const f = parseFlags(['--config', file, '--sync-limit', '9'], memberSpec);
    expect(f['sync-limit']).toBe('9'); // flag over env and file
    expect(f['init-limit']).toBe('30'); // env over file
    expect(f['tick-time']).toBe('3000'); // file over default
    expect(f['snap-count']).toBe('42');
    expect(f['snap-retain']).toBe('3'); // default
    expect(f['min-session-timeout']).toBeUndefined(); // derived from tickTime later
  });

  it('takes the file from ZOOID_CONFIG; --config wins over it', () => {
    process.env.ZOOID_CONFIG = cfgFile('clientPort=3001\n');
    expect(parseFlags([], gatewaySpec)['client-port']).toBe('3001');
    expect(parseFlags(['--config', cfgFile('clientPort=3002\n')], gatewaySpec)['client-port']).toBe('3002');
  });

  it('gives a follower its ensemble from server.N lines unless --ensemble says otherwise', () => {
    const file = cfgFile('server.1=a:1:2\nserver.2=b:1:2\nserver.3=c:1:2\n');
    expect(parseFlags(['--config', file], followerSpec).ensemble).toBe('1,2,3');
    expect(parseFlags(['--config', file, '--ensemble', '1,2'], followerSpec).ensemble).toBe('1,2');
  });

  it('refuses an invalid or missing file as a usage error', () => {
    expect(() => parseFlags(['--config', cfgFile('tickTime=abc\n')], memberSpec)).toThrow(/tickTime=abc/);
    expect(() => parseFlags(['--config', '/nonexistent/zoo.cfg'], memberSpec)).toThrow(/cannot read config file \/nonexistent\/zoo.cfg/);
  });
});

describe('the zooid command with --config', () => {
  const run = (args: string[], env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [ZOOID_BIN, ...args], { encoding: 'utf8', timeout: 20_000, env: { ...process.env, ZOOID_LOG_FORMAT: 'json', ...env } });

  it('exits 2 naming the key and value of an invalid setting, for every command', () => {
    const file = cfgFile('clientPort=-5\n');
    for (const cmd of ['member', 'follower', 'observer', 'gateway', 'standalone', 'up', 'status']) {
      const r = run([cmd, '--config', file]);
      expect(r.status, cmd).toBe(2);
      expect(r.stderr, cmd).toContain('clientPort=-5');
    }
    const viaEnv = run(['gateway'], { ZOOID_CONFIG: cfgFile('tickTime=fast\n') });
    expect(viaEnv.status).toBe(2);
    expect(viaEnv.stderr).toContain('tickTime=fast');
  });

  it('refuses session timeout bounds the wrong way round', () => {
    const r = run(['member', '--config', cfgFile('minSessionTimeout=5000\n'), '--max-session-timeout', '4000', '--nats', 'nats://127.0.0.1:1']);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--min-session-timeout 5000 is above --max-session-timeout 4000');
  });

  it('lists --config in every command’s help', () => {
    for (const cmd of ['member', 'follower', 'observer', 'gateway', 'standalone', 'up', 'status']) {
      expect(run([cmd, '--help']).stdout, cmd).toMatch(/--config VALUE/);
    }
  });
});

describe('real processes configured by a zoo.cfg', () => {
  let nats: ManagedNats;
  const procs: ChildProcess[] = [];
  const output = new Map<ChildProcess, string>();

  function start(args: string[], env: Record<string, string> = {}): ChildProcess {
    const clean = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ZOOID_')));
    const child = spawn(process.execPath, [ZOOID_BIN, ...args], { env: { ...clean, ZOOID_LOG_FORMAT: 'json', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    output.set(child, '');
    const keep = (d: Buffer) => output.set(child, (output.get(child)! + d.toString()).slice(-50_000));
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    procs.push(child);
    return child;
  }

  async function stop(child: ChildProcess): Promise<void> {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const gone = new Promise((r) => child.once('exit', r));
    process.kill(child.pid!, 'SIGTERM');
    const t = setTimeout(() => child.exitCode === null && process.kill(child.pid!, 'SIGKILL'), 5000);
    await gone;
    clearTimeout(t);
  }

  const confOf = async (port: number) =>
    Object.fromEntries(
      (await fourLetter(port, 'conf'))
        .trim()
        .split('\n')
        .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
    );

  beforeAll(async () => {
    nats = await startNatsServer();
  });
  afterAll(async () => {
    await Promise.all(procs.map(stop));
    await nats?.stop();
  });

  it('follower and gateway take tickTime, ports, session bounds, whitelist and ensemble from the file', async () => {
    const dataDir = tempDir();
    const clientPort = await freePort();
    const healthPort = await freePort();
    const file = cfgFile(
      [
        'tickTime=700',
        `dataDir=${dataDir}`,
        `clientPort=${clientPort}`,
        'clientPortAddress=127.0.0.1',
        'minSessionTimeout=3000',
        'maxSessionTimeout=9000',
        '4lw.commands.whitelist=conf,srvr,ruok',
        'autopurge.snapRetainCount=4',
        'no.such.key=1',
        'server.1=localhost:2888:3888',
        'server.9=localhost:2889:3889:observer',
      ].join('\n'),
    );
    const member = start(['follower', '--id', '1', '--config', file, '--nats', nats.url, '--health-port', String(healthPort)]);
    // Any admin HTTP port off its fixed default, so nothing else on this machine is in the way.
    const gw = start(['gateway', '--config', file], { ZOOID_NATS: nats.url, ZOOID_ADMIN_PORT: String(await freePort()) });
    await waitForPort(clientPort, '127.0.0.1', 20_000);
    await waitFor('the gateway serving', async () => (await fourLetter(clientPort, 'srvr')).includes('Mode:'), 20_000, 100);

    const conf = await confOf(clientPort);
    expect(conf).toMatchObject({
      clientPort: String(clientPort),
      dataDir,
      tickTime: '700',
      minSessionTimeout: '3000',
      maxSessionTimeout: '9000',
      serverId: '1',
      voters: '1', // server.9 is an observer
    });
    // The whitelist: stat is not on it.
    expect(await fourLetter(clientPort, 'stat')).toBe('stat is not executed because it is not in the whitelist.\n');
    // The member's health port answers ruok.
    expect(await fourLetter(healthPort, 'ruok')).toBe('imok');

    // Session timeouts are clamped into the file's bounds.
    const low = await new NzkClient(`127.0.0.1:${clientPort}`, { sessionTimeout: 1000 }).connect();
    const high = await new NzkClient(`127.0.0.1:${clientPort}`, { sessionTimeout: 60_000 }).connect();
    try {
      expect(low.sessionTimeout).toBe(3000);
      expect(high.sessionTimeout).toBe(9000);
    } finally {
      await Promise.all([low.close(), high.close()]);
    }
    for (const p of [member, gw]) expect(output.get(p)).toContain('unknown key "no.such.key" ignored');
    await Promise.all([stop(member), stop(gw)]);
  }, 60_000);

  it('standalone hands the file on to its children; its flags and the environment still win', async () => {
    const dataDir = tempDir();
    const clientPort = await freePort();
    const file = cfgFile([`tickTime=600`, `dataDir=${dataDir}`, `clientPort=${clientPort}`, 'minSessionTimeout=5000', 'maxSessionTimeout=9000', 'initLimit=7', '4lw.commands.whitelist=conf,srvr,ruok', 'bogus=1'].join('\n'));
    const sa = start(['standalone', '--config', file, '--nats', nats.url, '--max-session-timeout', '30000'], { ZOOID_TICK_TIME: '800', ZOOID_ADMIN_PORT: String(await freePort()) });
    await waitForPort(clientPort, '127.0.0.1', 20_000);
    await waitFor('standalone serving', async () => (await fourLetter(clientPort, 'srvr')).includes('Mode:'), 20_000, 100);
    expect(await confOf(clientPort)).toMatchObject({
      clientPort: String(clientPort),
      dataDir,
      tickTime: '800', // environment over file
      minSessionTimeout: '5000', // file
      maxSessionTimeout: '30000', // flag over file
      initLimit: '7', // file, through --config handed on
    });
    // The warning is said once, by the supervisor, not again by each child.
    expect(output.get(sa)!.split('unknown key "bogus" ignored').length - 1).toBe(1);
    await stop(sa);
  }, 60_000);
});

describe('autopurge.purgeInterval: snapshots pruned by the purge, not at each write', () => {
  it('keeps every snapshot until prune() when pruneOnWrite is off', async () => {
    const dir = tempDir();
    const quiet = () => undefined;
    const deferred = new SnapshotStore(dir, { retain: 2, pruneOnWrite: false, log: quiet });
    for (const z of [1, 2, 3, 4]) await deferred.write(z, Buffer.from([z]));
    expect(await deferred.list()).toEqual([4, 3, 2, 1]);
    expect(await deferred.prune()).toEqual([4, 3]);
    expect(await deferred.list()).toEqual([4, 3]);

    const eager = new SnapshotStore(tempDir(), { retain: 2, log: quiet });
    for (const z of [1, 2, 3, 4]) await eager.write(z, Buffer.from([z]));
    expect(await eager.list()).toEqual([4, 3]);
  });

  it('is a flag of every data-owning command', () => {
    for (const spec of [memberSpec, followerSpec, standaloneSpec]) expect(Object.keys(spec)).toContain('purge-interval');
  });
});
