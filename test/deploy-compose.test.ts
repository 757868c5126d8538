/**
 * deploy/ cannot rot unnoticed. There is no Docker engine here, so:
 *
 *  - `docker compose config` (or Debian's docker-compose v1) validates the
 *    compose file when a client is installed;
 *  - every service of the compose file runs as local processes with its
 *    exact command and environment (for Zooid's, the image's ENV under the
 *    service's, after the entrypoint the Dockerfile declares): bus-init
 *    first, then the NATS servers on what it wrote, then the roles. Only
 *    what names the container world is rewritten: each NATS service's host
 *    becomes a loopback address of its own (127.0.0.N), its ports free
 *    local ports, the `bus` volume a temp directory, data directories temp
 *    directories, ports free local ports. Then a client works through each
 *    gateway, `zooid status` shows one leader, two followers and the
 *    observer, and every health check the compose file and the Dockerfile
 *    declare passes;
 *  - the Kubernetes manifests parse, their selectors and probes line up, and
 *    the voters' shell command derives id and ensemble from the pod ordinal.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { envName, findNatsServer, freePort, portInUse, startNatsServer, waitForPort, waitForRoutes, ZOOID_BIN, type ManagedNats } from '@zooid/cli';
import { fourLetter, waitFor } from './harness.js';
import { NzkClient } from './clients/nzk.js';

const ROOT = resolve(import.meta.dirname, '..');
const COMPOSE = join(ROOT, 'deploy/docker-compose.yml');
const DOCKERFILE = join(ROOT, 'deploy/Dockerfile');
const K8S = join(ROOT, 'deploy/k8s');

type Env = Record<string, string>;
interface ComposeService {
  image?: string;
  build?: unknown;
  command?: string | string[];
  environment?: Env | string[];
  ports?: (string | { target: number; published?: string | number })[];
  healthcheck?: { test: string | string[] };
  volumes?: string[];
  container_name?: string;
  profiles?: string[];
  restart?: string;
  depends_on?: Record<string, { condition: string }>;
}

const compose = parse(readFileSync(COMPOSE, 'utf8'), { merge: true }) as { services: Record<string, ComposeService> };

/** What the Dockerfile's runtime stage declares: ENTRYPOINT, ENV and the HEALTHCHECK command. */
function dockerfile() {
  const text = readFileSync(DOCKERFILE, 'utf8').replace(/\\\n\s*/g, ' ');
  const runtime = text.slice(text.lastIndexOf('\nFROM '));
  const env: Env = {};
  for (const m of runtime.matchAll(/^ENV (.+)$/gm)) {
    for (const kv of m[1]!.matchAll(/(\w+)=("[^"]*"|\S+)/g)) env[kv[1]!] = kv[2]!.replace(/^"|"$/g, '');
  }
  const entrypoint = JSON.parse(/^ENTRYPOINT (\[.*\])$/m.exec(runtime)![1]!) as string[];
  const health = JSON.parse(/^HEALTHCHECK .*?CMD (\[.*\])$/m.exec(runtime)![1]!) as string[];
  return { env, entrypoint, health };
}

const argvOf = (c: string | string[] | undefined): string[] => (Array.isArray(c) ? c.map(String) : c ? c.split(/\s+/).filter(Boolean) : []);
function envOf(e: ComposeService['environment']): Env {
  if (!e) return {};
  if (Array.isArray(e)) return Object.fromEntries(e.map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  return Object.fromEntries(Object.entries(e).map(([k, v]) => [k, String(v)]));
}

/** The compose client, if one is installed: the v2 plugin or Debian's v1. */
function composeClient(): string[] | undefined {
  if (spawnSync('docker', ['compose', 'version'], { stdio: 'ignore' }).status === 0) return ['docker', 'compose'];
  if (spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0) return ['docker-compose'];
  return undefined;
}

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Env };
  spec: any; // eslint-disable-line @typescript-eslint/no-explicit-any
}
interface K8sContainer {
  image: string;
  command?: string[];
  args?: string[];
  env?: { name: string; value?: string }[];
  readinessProbe?: { exec?: { command: string[] } };
  livenessProbe?: { exec?: { command: string[] } };
}
const objects: K8sObject[] = readdirSync(K8S)
  .filter((f) => f.endsWith('.yaml'))
  .flatMap((f) => parseAllDocuments(readFileSync(join(K8S, f), 'utf8')).map((d) => d.toJS() as K8sObject))
  .filter(Boolean);
const byKind = (kind: string) => objects.filter((o) => o.kind === kind);
const workloads = [...byKind('StatefulSet'), ...byKind('Deployment')];
/** Each Zooid container of the manifests with the role its command runs. */
const k8sZooid = workloads.flatMap((w) =>
  (w.spec.template.spec.containers as K8sContainer[])
    .filter((c) => c.image.startsWith('zooid'))
    .map((c) => {
      const script = [...(c.command ?? []), ...(c.args ?? [])].join(' ');
      return { workload: w.metadata.name, c, script, role: /zooid\.js\s+(\w+)/.exec(script)?.[1] ?? c.args![0]! };
    }),
);

const natsServices = Object.entries(compose.services).filter(([, s]) => s.image?.startsWith('nats'));
const zooidServices = Object.entries(compose.services).filter(([, s]) => s.build !== undefined || s.image?.startsWith('zooid'));
const roleOf = (s: ComposeService) => argvOf(s.command)[0]!;
/** The one-shot service that provisions the bus; the roles are the others. */
const busInit = zooidServices.find(([, s]) => roleOf(s) === 'bus')!;
const roleServices = zooidServices.filter(([, s]) => roleOf(s) !== 'bus');
/** What `up` starts; the rest only with their profile. */
const defaultServices = roleServices.filter(([, s]) => s.profiles === undefined);
const profiles = [...new Set(Object.values(compose.services).flatMap((s) => s.profiles ?? []))];
const argOf = (s: ComposeService, flag: string) => {
  const args = argvOf(s.command);
  return args.includes(flag) ? args[args.indexOf(flag) + 1] : undefined;
};
/** The bus identity a role service runs as: its kind and --id. */
const identityOf = (s: ComposeService) => {
  const kind = { follower: 'member', member: 'member', observer: 'observer', gateway: 'gateway' }[roleOf(s)]!;
  return `${kind}-${argOf(s, '--id')}`;
};

/** What `zooid <role> --help` says: an argument or ZOOID_* variable outside these flags would be ignored or refused. */
const helpCache = new Map<string, string>();
function helpOf(role: string): string {
  let h = helpCache.get(role);
  if (h === undefined) {
    h = spawnSync(process.execPath, [ZOOID_BIN, role, '--help'], { encoding: 'utf8' }).stdout;
    helpCache.set(role, h);
  }
  return h;
}
const flagsOf = (role: string) => new Set([...helpOf(role).matchAll(/^\s+--([a-z0-9-]+)/gm)].map((m) => m[1]!));
/** Port flags a role listens on by default (a container has the port to itself; local processes do not). */
const defaultPortsOf = (role: string) => [...helpOf(role).matchAll(/^\s+--([a-z-]*port) VALUE.*\(default [1-9]\d*\)$/gm)].map((m) => m[1]!);
const envFlag = (name: string) => name.slice('ZOOID_'.length).toLowerCase().replace(/_/g, '-');
/** Variables that configure logging, not a flag. */
const LOG_VARS = new Set(['ZOOID_LOG_LEVEL', 'ZOOID_LOG_FORMAT']);

describe('deploy/docker-compose.yml', () => {
  const client = composeClient();

  it.skipIf(!client)('passes `docker compose config`', () => {
    const [cmd, ...pre] = client!;
    const r = spawnSync(cmd!, [...pre, '-f', COMPOSE, ...profiles.flatMap((p) => ['--profile', p]), 'config', '--services'], { encoding: 'utf8' });
    expect(r.stderr).not.toMatch(/error/i);
    expect(r.status).toBe(0);
    expect(r.stdout.trim().split('\n').sort()).toEqual(Object.keys(compose.services).sort());
  });

  it('declares three NATS servers from the official image, on what bus-init writes', () => {
    expect(natsServices.map(([n, s]) => [n, s.image!.split(':')[0]])).toEqual([
      ['nats-1', 'nats'],
      ['nats-2', 'nats'],
      ['nats-3', 'nats'],
    ]);
    const [initName, init] = busInit;
    expect(argvOf(init.command).slice(0, 2)).toEqual(['bus', 'init']);
    expect(init.restart).toBe('no');
    expect(argOf(init, '--hosts')).toBe(natsServices.map(([n]) => n).join(','));
    for (const [name, s] of natsServices) {
      expect(s.depends_on?.[initName], name).toEqual({ condition: 'service_completed_successfully' });
      expect(argvOf(s.command), name).toEqual(['nats-server', '-c', `/bus/${name}.conf`]);
      expect(s.volumes, name).toEqual(['bus:/bus:ro']);
    }
  });

  it('runs three voters with stable ids and volumes (two more by profile, joining by themselves), and every role as its own bus identity, provisioned by bus-init', () => {
    const followers = roleServices.filter(([, s]) => roleOf(s) === 'follower');
    expect(followers.filter(([, s]) => !s.profiles).map(([, s]) => argOf(s, '--id'))).toEqual(['1', '2', '3']);
    expect(followers.filter(([, s]) => s.profiles?.includes('voters-5')).map(([, s]) => argOf(s, '--id'))).toEqual(['4', '5']);
    for (const [name, s] of followers) {
      expect(s.volumes?.some((v) => v.endsWith(':/data')), name).toBe(true);
      // Added and removed at runtime: the leader must judge reconfigs, whichever member leads.
      expect(envOf(s.environment).ZOOID_RECONFIG_ENABLED, name).toBe('true');
      if (s.profiles) expect(argvOf(s.command), name).toEqual(expect.arrayContaining(['--join', '--add-self']));
    }
    const init = busInit[1];
    const provisioned = [
      ...(argOf(init, '--members') ?? '').split(',').map((id) => `member-${id}`),
      ...(argOf(init, '--observers') ?? '').split(',').map((id) => `observer-${id}`),
      ...(argOf(init, '--gateways') ?? '').split(',').map((id) => `gateway-${id}`),
    ];
    const identities = roleServices.map(([, s]) => identityOf(s));
    expect(new Set(identities).size, 'one identity per service').toBe(identities.length);
    expect(identities.sort()).toEqual(provisioned.sort());
    expect(argOf(init, '--tools')).toBe('status');
    for (const [name, s] of roleServices) {
      expect(argOf(s, '--nats-nkey'), name).toBe(`/bus/${identityOf(s)}.nk`);
      expect(s.volumes, name).toContain('bus:/bus:ro');
      const env = envOf(s.environment);
      expect(env.ZOOID_NATS, name).toBe(natsServices.map(([n]) => `tls://${n}:4222`).join(','));
      expect(env.ZOOID_NATS_TLS_CA, name).toBe('/bus/ca.pem');
      for (const [n] of natsServices) expect(s.depends_on?.[n], `${name} waits for ${n}`).toEqual({ condition: 'service_healthy' });
    }
  });

  it('publishes ports the gateways listen on, and checks the health of every long-running service', () => {
    for (const [name, gw] of roleServices.filter(([, s]) => roleOf(s) === 'gateway')) {
      // Published ports must reach ports the gateway listens on, the client port among them.
      const portOf = (flag: string) => {
        const v = argOf(gw, `--${flag}`) ?? envOf(gw.environment)[envName(flag)];
        return v === undefined ? undefined : Number(v);
      };
      const listening = ['client-port', 'admin-port', 'health-port'].map(portOf).filter((p) => p !== undefined);
      const published = gw.ports!.map((p) => (typeof p === 'string' ? Number(p.split(':').at(-1)) : p.target));
      expect(published, name).toContain(portOf('client-port') ?? 2181);
      for (const p of published) expect(listening, `${name} publishes ${p}`).toContain(p);
    }
    for (const [name, s] of Object.entries(compose.services)) {
      if (s.restart === 'no') continue;
      expect(s.healthcheck?.test, `${name} health check`).toBeDefined();
    }
  });

  it('uses only flags and ZOOID_* variables the commands know', () => {
    for (const [name, s] of zooidServices) {
      const known = flagsOf(roleOf(s));
      for (const a of argvOf(s.command).filter((a) => a.startsWith('--'))) expect(known, `${name}: ${a}`).toContain(a.slice(2));
      // The image's variables are for roles; bus init has no use for them.
      const env = roleOf(s) === 'bus' ? envOf(s.environment) : { ...dockerfile().env, ...envOf(s.environment) };
      for (const v of Object.keys(env).filter((k) => k.startsWith('ZOOID_') && !LOG_VARS.has(k))) {
        expect(known, `${name}: ${v}`).toContain(envFlag(v));
      }
    }
  });

  describe('its services as local processes', () => {
    const instances: { service: string; role: string; args: string[]; env: Env; clientPort?: number; health: string[]; child: ChildProcess; out: () => string }[] = [];
    const servers: { service: string; child: ChildProcess; health: string[]; out: () => string }[] = [];
    const temps: string[] = [];
    const clientPorts: number[] = [];
    const df = dockerfile();
    // Each NATS service on a loopback address of its own, all on the same ports, as in their containers.
    const natsHosts = new Map(natsServices.map(([n], i) => [n, `127.0.0.${i + 1}`]));
    const ports = { client: 0, cluster: 0, monitor: 0 };
    // Where the `bus` volume is mounted in the containers, and the directory that stands in for it.
    const busMount = busInit[1].volumes![0]!.split(':')[1]!;
    let busDir: string;

    const tempDir = (name: string) => {
      const d = mkdtempSync(join(tmpdir(), `zooid-compose-${name}-`));
      temps.push(d);
      return d;
    };

    /** A port free on every NATS service's address. */
    async function portForAll(): Promise<number> {
      for (;;) {
        const p = await freePort();
        const taken = await Promise.all([...natsHosts.values()].map((ip) => portInUse(p, ip)));
        if (!taken.some(Boolean) && !Object.values(ports).includes(p)) return p;
      }
    }

    /** NATS URLs and the bus volume's paths, as the local stand-ins. */
    function rewrite(v: string): string {
      let out = v;
      for (const [n, ip] of natsHosts) out = out.split(`${n}:4222`).join(`${ip}:${ports.client}`);
      if (out === busMount) return busDir;
      return out.split(`${busMount}/`).join(`${busDir}/`);
    }

    /** Rewrites what names the container world; everything else stays as written. */
    async function localize(s: ComposeService) {
      const args = argvOf(s.command).map(rewrite);
      let clientPort: number | undefined;
      for (let i = 0; i < args.length - 1; i++) {
        if (args[i] === '--data-dir') args[i + 1] = tempDir('data');
        if (/^--[a-z-]*port$/.test(args[i]!)) {
          const p = await freePort();
          if (args[i] === '--client-port') clientPort = p;
          args[i + 1] = String(p);
        }
      }
      const env: Env = {};
      for (const [k, v] of Object.entries({ ...df.env, ...envOf(s.environment) })) {
        if (k === 'ZOOID_DATA_DIR') env[k] = tempDir('data');
        else if (/^ZOOID_\w*PORT$/.test(k)) {
          const p = await freePort();
          if (k === 'ZOOID_CLIENT_PORT') clientPort = p;
          env[k] = String(p);
        } else env[k] = rewrite(v);
      }
      // A port the role binds by default, set by neither: moved off its fixed number too.
      for (const flag of defaultPortsOf(argvOf(s.command)[0]!)) {
        const name = envName(flag);
        if (args.includes(`--${flag}`) || name in env) continue;
        const p = await freePort();
        if (flag === 'client-port') clientPort = p;
        env[name] = String(p);
      }
      return { args, env, clientPort };
    }

    // The container's environment is the image's and the service's; nothing of ours leaks in.
    const base = () => Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ZOOID_'))) as Env;

    function spawnKept(cmd: string, args: string[], env: Env) {
      const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      const keep = (d: Buffer) => (out = (out + d.toString()).slice(-100_000));
      child.stdout!.on('data', keep);
      child.stderr!.on('data', keep);
      return { child, out: () => out };
    }

    function start(service: string, args: string[], env: Env, health: string[], clientPort: number | undefined) {
      expect(df.entrypoint.slice(0, 2)).toEqual(['node', '/app/bin/zooid.js']);
      const { child, out } = spawnKept(process.execPath, [ZOOID_BIN, ...args], { ...base(), ...env });
      instances.push({ service, role: args[0]!, args, env, clientPort, health, child, out });
    }

    beforeAll(async () => {
      busDir = tempDir('bus');
      ports.client = await portForAll();
      ports.cluster = await portForAll();
      ports.monitor = await portForAll();
      // bus-init, with the NATS services' local hosts and ports.
      const [, init] = busInit;
      const initArgs = argvOf(init.command).map((a) => (a === argOf(init, '--hosts') ? a.split(',').map((h) => natsHosts.get(h) ?? h).join(',') : rewrite(a)));
      initArgs.push('--client-port', String(ports.client), '--cluster-port', String(ports.cluster), '--monitor-port', String(ports.monitor));
      const r = spawnSync(process.execPath, [ZOOID_BIN, ...initArgs], { env: { ...base(), ...envOf(init.environment) }, encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      // The NATS services, on what it wrote.
      for (const [name, s] of natsServices) {
        const [cmd, ...args] = argvOf(s.command).map(rewrite);
        expect(cmd).toBe('nats-server');
        servers.push({ service: name, health: argvOf(s.healthcheck?.test), ...spawnKept(findNatsServer(), args, base()) });
      }
      await Promise.all([...natsHosts.values()].map((ip) => waitForPort(ports.client, ip, 10_000)));
      await waitForRoutes([...natsHosts.values()].map((ip) => `http://${ip}:${ports.monitor}`));
      for (const [name, s] of defaultServices) {
        const { args, env, clientPort } = await localize(s);
        if (roleOf(s) === 'gateway') clientPorts.push(clientPort ?? 2181);
        start(name, args, env, argvOf(s.healthcheck?.test), clientPort);
      }
      await Promise.all(clientPorts.map((p) => waitForPort(p, '127.0.0.1', 30_000)));
    }, 60_000);

    afterAll(async () => {
      const stop = async ({ child }: { child: ChildProcess }) => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const gone = new Promise((r) => child.once('exit', r));
        process.kill(child.pid!, 'SIGTERM');
        const t = setTimeout(() => child.pid && process.kill(child.pid, 'SIGKILL'), 5000);
        await gone;
        clearTimeout(t);
      };
      // Roles first, the bus last, as compose's dependencies order them.
      await Promise.all(instances.map(stop));
      await Promise.all(servers.map(stop));
      for (const d of temps) rmSync(d, { recursive: true, force: true });
    }, 30_000);

    it('serves a client through every gateway', async () => {
      for (const p of clientPorts) await waitFor(`gateway ${p} serving`, async () => (await fourLetter(p, 'srvr')).includes('Mode:'), 30_000, 200);
      const a = await new NzkClient(`127.0.0.1:${clientPorts[0]}`).connect();
      const b = await new NzkClient(`127.0.0.1:${clientPorts.at(-1)}`).connect();
      try {
        await a.create('/compose', Buffer.from('from the compose file'));
        await waitFor('the write through the other gateway', async () => (await b.exists('/compose')) !== null, 10_000);
        expect((await b.getData('/compose')).data?.toString()).toBe('from the compose file');
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    }, 60_000);

    /** `zooid status --json` as the compose file's header runs it: in a role's container, with the tool's key. */
    function status(): { members: { id: string; role: string; config: string | null; voting: string | null }[]; gateways: { id: string }[] } | undefined {
      const env = { ...base(), ...instances[0]!.env, ZOOID_NATS_NKEY: join(busDir, 'tool-status.nk') };
      const r = spawnSync(process.execPath, [ZOOID_BIN, 'status', '--json', '--wait-ms', '1500'], { env, encoding: 'utf8' });
      return r.status === 0 ? JSON.parse(r.stdout) : undefined;
    }

    it('shows one leader, two followers and the observer in `zooid status`', async () => {
      const observers = instances.filter((i) => i.role === 'observer').length;
      const view = await waitFor(
        'status with every member serving',
        () => {
          const v = status();
          if (!v) return undefined;
          const roles = v.members.map((m) => m.role).sort();
          const want = ['following', 'following', 'leading', ...Array(observers).fill('observing')].sort();
          return JSON.stringify(roles) === JSON.stringify(want) && v.gateways.length === clientPorts.length ? v : undefined;
        },
        30_000,
        200,
      );
      expect(new Set(view.members.map((m) => m.id)).size).toBe(view.members.length);
      expect(view.gateways).toHaveLength(clientPorts.length);
    }, 60_000);

    it("passes the compose file's and the Dockerfile's health checks in every service", async () => {
      for (const srv of servers) {
        expect(srv.health[0], `${srv.service}: exec-form health check`).toBe('CMD');
        // Asked inside its container on 127.0.0.1:8222; here on its own address and port.
        const [cmd, ...args] = srv.health.slice(1).map((a) => a.replace('127.0.0.1:8222', `${natsHosts.get(srv.service)}:${ports.monitor}`));
        const r = spawnSync(cmd!, args, { encoding: 'utf8', timeout: 10_000 });
        expect(r.status, `${srv.service}: ${r.stderr}\n${srv.out().slice(-2000)}`).toBe(0);
      }
      for (const inst of instances) {
        for (const test of [inst.health, ['CMD', ...df.health]]) {
          expect(test[0], `${inst.service}: exec-form health check`).toBe('CMD');
          const [cmd, ...args] = test.slice(1);
          const r = spawnSync(cmd === 'node' ? process.execPath : cmd!, args, { env: { ...process.env, ...inst.env }, encoding: 'utf8', timeout: 10_000 });
          expect(r.status, `${inst.service} ${inst.args.join(' ')}: ${r.stderr}\n${inst.out().slice(-2000)}`).toBe(0);
        }
      }
    }, 60_000);

    it("passes the Kubernetes manifests' probes against the same roles", () => {
      for (const { workload, c, role } of k8sZooid) {
        const inst = instances.find((i) => i.role === role)!;
        expect(inst, `a compose service runs ${role}`).toBeDefined();
        // The manifests' ports, moved to where this local process listens.
        const env: Env = { ZOOID_HEALTH_PORT: inst.env.ZOOID_HEALTH_PORT!, ...(inst.clientPort ? { ZOOID_CLIENT_PORT: String(inst.clientPort) } : {}) };
        for (const probe of [c.readinessProbe, c.livenessProbe]) {
          const [cmd, ...args] = probe!.exec!.command;
          const r = spawnSync(cmd === 'node' ? process.execPath : cmd!, args, { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 10_000 });
          expect(r.status, `${workload} probe ${args.join(' ')}: ${r.stderr}`).toBe(0);
        }
      }
    }, 30_000);

    it('grows to five voters with the voters-5 profile: follower-4 and -5 join, and the leader adds each', async () => {
      const extra = roleServices.filter(([, s]) => s.profiles?.includes('voters-5'));
      for (const [name, s] of extra) {
        const { args, env, clientPort } = await localize(s);
        start(name, args, env, argvOf(s.healthcheck?.test), clientPort);
      }
      let seen: unknown;
      await waitFor(
        'five voting members in one configuration',
        () => {
          const v = status();
          seen = v?.members;
          const voting = v?.members.filter((m) => m.voting === 'yes') ?? [];
          return voting.length === 5 && new Set(voting.map((m) => m.config)).size === 1 ? voting : undefined;
        },
        60_000,
        500,
      ).catch((err: Error) => {
        const logs = instances.filter((i) => extra.some(([n]) => n === i.service)).map((i) => `${i.service}:\n${i.out().slice(-3000)}`);
        throw new Error(`${err.message}; last members ${JSON.stringify(seen)}\n${logs.join('\n')}`);
      });
      const a = await new NzkClient(`127.0.0.1:${clientPorts[0]}`).connect();
      try {
        await a.create('/compose-five', Buffer.from('five voters'));
      } finally {
        await a.close();
      }
    }, 90_000);
  });
});

describe('deploy/Dockerfile', () => {
  const temps: string[] = [];
  const procs: ChildProcess[] = [];
  let nats: ManagedNats | undefined;
  afterAll(async () => {
    for (const p of procs) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    await Promise.all(procs.map((p) => (p.exitCode === null && p.signalCode === null ? new Promise((r) => p.once('exit', r)) : undefined)));
    await nats?.stop();
    for (const d of temps) rmSync(d, { recursive: true, force: true });
  });

  it("copies what the roles need: a member, a gateway and its inspector page run from the image's files", async () => {
    const text = readFileSync(DOCKERFILE, 'utf8');
    expect(text).toContain('sh deploy/image-files.sh /out');
    expect(text).toMatch(/^COPY --from=build \/out \/app$/m);
    const out = mkdtempSync(join(tmpdir(), 'zooid-image-'));
    temps.push(out);
    const r = spawnSync('sh', [join(ROOT, 'deploy/image-files.sh'), out], { cwd: ROOT, env: { ...process.env, ZOOID_IMAGE_NO_NODE_MODULES: '1' }, encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    expect(readdirSync(join(out, 'libs/cli'))).not.toContain('src');
    // node_modules as npm lays it out: workspace links (relative) into the copy, other packages from this checkout.
    const link = (from: string, to: string) => symlinkSync(lstatSync(from).isSymbolicLink() ? readlinkSync(from) : from, to);
    mkdirSync(join(out, 'node_modules'));
    for (const name of readdirSync(join(ROOT, 'node_modules'))) {
      const from = join(ROOT, 'node_modules', name);
      if (!name.startsWith('@')) {
        link(from, join(out, 'node_modules', name));
        continue;
      }
      mkdirSync(join(out, 'node_modules', name));
      for (const sub of readdirSync(from)) link(join(from, sub), join(out, 'node_modules', name, sub));
    }

    nats = await startNatsServer();
    const [clientPort, adminPort, health1, health2] = await Promise.all([freePort(), freePort(), freePort(), freePort()]);
    const base = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ZOOID_'))) as Env;
    const env = { ...base, ...dockerfile().env, ZOOID_NATS: nats.url };
    const bin = join(out, 'bin/zooid.js');
    const dataDir = mkdtempSync(join(tmpdir(), 'zooid-image-data-'));
    temps.push(dataDir);
    procs.push(spawn(process.execPath, [bin, 'member', '--data-dir', dataDir], { env: { ...env, ZOOID_HEALTH_PORT: String(health1) }, stdio: 'ignore' }));
    procs.push(
      spawn(process.execPath, [bin, 'gateway', '--client-port', String(clientPort), '--admin-port', String(adminPort)], {
        env: { ...env, ZOOID_HEALTH_PORT: String(health2) },
        stdio: 'ignore',
      }),
    );
    await waitFor('the gateway serving', async () => (await fourLetter(clientPort, 'srvr')).includes('Mode:'), 30_000, 200);
    expect(await fourLetter(health1, 'ruok')).toBe('imok');
    expect(await fourLetter(health2, 'ruok')).toBe('imok');
    const page = await fetch(`http://127.0.0.1:${adminPort}/`);
    expect(page.status).toBe(200);
    const html = await page.text();
    const assets = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]!);
    expect(assets.length).toBeGreaterThan(0);
    for (const a of assets) expect((await fetch(`http://127.0.0.1:${adminPort}${a}`)).status, a).toBe(200);
  }, 60_000);
});

describe('deploy/k8s', () => {
  const matches = (sel: Env, labels: Env | undefined) => Object.entries(sel).every(([k, v]) => labels?.[k] === v);

  it('has voters, observers, gateways, NATS, services and disruption budgets that select each other', () => {
    const voters = byKind('StatefulSet').find((s) => s.metadata.name.includes('voter'))!;
    expect(voters).toBeDefined();
    const headless = byKind('Service').find((s) => s.metadata.name === voters.spec.serviceName)!;
    expect(headless.spec.clusterIP).toBe('None');
    for (const w of workloads) {
      expect(matches(w.spec.selector.matchLabels, w.spec.template.metadata.labels), `${w.metadata.name} selects its pods`).toBe(true);
      for (const c of w.spec.template.spec.containers) {
        expect(c.resources?.requests, `${w.metadata.name} requests`).toBeDefined();
        expect(c.resources?.limits, `${w.metadata.name} limits`).toBeDefined();
      }
    }
    for (const svc of byKind('Service')) {
      expect(workloads.some((w) => matches(svc.spec.selector, w.spec.template.metadata.labels)), `service ${svc.metadata.name} selects pods`).toBe(true);
    }
    const client = byKind('Service').find((s) => s.spec.ports.some((p: { port: number }) => p.port === 2181))!;
    expect(client).toBeDefined();
    const pdbs = byKind('PodDisruptionBudget');
    for (const name of ['voter', 'observer', 'gateway', 'nats']) {
      const w = workloads.find((x) => x.metadata.name.includes(name))!;
      expect(w, name).toBeDefined();
      expect(pdbs.some((p) => matches(p.spec.selector.matchLabels, w.spec.template.metadata.labels)), `${name} has a PodDisruptionBudget`).toBe(true);
    }
    // NATS: a three-server StatefulSet whose headless service names the routes' peers.
    const nats = workloads.find((w) => w.spec.template.spec.containers.some((c: { image: string }) => c.image.startsWith('nats:')))!;
    expect(nats.kind).toBe('StatefulSet');
    expect(nats.spec.replicas).toBe(3);
    const natsService = byKind('Service').find((s) => s.metadata.name === nats.spec.serviceName)!;
    expect(natsService.spec.clusterIP).toBe('None');
    expect(natsService.spec.ports.map((p: { port: number }) => p.port).sort()).toEqual([4222, 6222]);
  });

  it('probes every Zooid container with ruok on the port it answers on, with flags the commands know', () => {
    expect(k8sZooid.map((z) => z.role).sort()).toEqual(['follower', 'gateway', 'observer']);
    for (const { workload, c, script, role } of k8sZooid) {
      const env = Object.fromEntries((c.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
      for (const probe of [c.readinessProbe, c.livenessProbe]) {
        expect(probe?.exec?.command, `${workload} probe`).toBeDefined();
        const text = probe!.exec!.command.join(' ');
        expect(text).toMatch(/'(ruok|srvr)'/);
        // The port a probe reads is one the process is told to listen on.
        for (const m of text.matchAll(/process\.env\.(ZOOID_\w+)/g)) expect(env[m[1]!], `${workload}: ${m[1]}`).toBeDefined();
      }
      const known = flagsOf(role);
      expect(known.size, `${workload} role ${role}`).toBeGreaterThan(0);
      for (const m of script.matchAll(/\s--([a-z0-9-]+)/g)) expect(known, `${workload}: --${m[1]}`).toContain(m[1]);
      for (const v of Object.keys(env).filter((k) => k.startsWith('ZOOID_') && !LOG_VARS.has(k))) expect(known, `${workload}: ${v}`).toContain(envFlag(v));
    }
  });

  /** Each StatefulSet's containers, run as pod `<name>-<ordinal>` with stand-ins on PATH that print the command they would exec. */
  function podCommands(w: K8sObject): { ordinal: number; container: K8sContainer; argv: string[]; env: Env }[] {
    const bin = mkdtempSync(join(tmpdir(), 'zooid-k8s-'));
    try {
      for (const standIn of ['node', 'nats-server']) {
        writeFileSync(join(bin, standIn), `#!/bin/sh\nprintf "%s\\n" "${standIn}" "$@"\n`);
        chmodSync(join(bin, standIn), 0o755);
      }
      const out = [];
      for (let ordinal = 0; ordinal < (w.spec.replicas as number); ordinal++) {
        for (const c of w.spec.template.spec.containers as K8sContainer[]) {
          const env = Object.fromEntries((c.env ?? []).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
          const [cmd, ...args] = [...c.command!, ...(c.args ?? [])];
          const r = spawnSync(cmd!, args, { env: { PATH: `${bin}:/usr/bin:/bin`, ...env, HOSTNAME: `${w.metadata.name}-${ordinal}` }, encoding: 'utf8' });
          expect(r.status, r.stderr).toBe(0);
          out.push({ ordinal, container: c, argv: r.stdout.trim().split('\n'), env });
        }
      }
      return out;
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  }
  const flag = (argv: string[], name: string) => argv[argv.indexOf(name) + 1];
  const statefulSet = (part: string) => byKind('StatefulSet').find((s) => s.metadata.name.includes(part))!;

  it("derives each pod's id, its own nkey and its server's configuration from its ordinal", () => {
    const voters = statefulSet('voter');
    const replicas = voters.spec.replicas as number;
    for (const { ordinal, argv } of podCommands(voters)) {
      expect(argv.slice(0, 3)).toEqual(['node', '/app/bin/zooid.js', 'follower']);
      expect(flag(argv, '--id')).toBe(String(ordinal + 1));
      expect(flag(argv, '--ensemble')).toBe(Array.from({ length: replicas }, (_, i) => i + 1).join(','));
      expect(flag(argv, '--nats-nkey')).toBe(`/etc/zooid/bus/member-${ordinal + 1}.nk`);
    }
    for (const [part, role, id] of [['observer', 'observer', (n: number) => `o${n}`], ['gateway', 'gateway', (n: number) => `gw${n}`]] as const) {
      for (const { ordinal, argv } of podCommands(statefulSet(part))) {
        expect(argv.slice(0, 3)).toEqual(['node', '/app/bin/zooid.js', role]);
        expect(flag(argv, '--id')).toBe(id(ordinal + 1));
        expect(flag(argv, '--nats-nkey')).toBe(`/etc/zooid/bus/${role}-${id(ordinal + 1)}.nk`);
      }
    }
    for (const { ordinal, argv } of podCommands(statefulSet('nats'))) expect(argv).toEqual(['nats-server', '-c', `/etc/zooid/bus/nats-${ordinal + 1}.conf`]);
  });

  it('starts the first ensemble with --ensemble, and a pod beyond it as a joiner that has the leader add it', () => {
    const { c } = k8sZooid.find((z) => z.role === 'follower')!;
    const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value ?? '']));
    expect(env.ZOOID_RECONFIG_ENABLED).toBe('true');
    // The pod's script with a `node` that prints what it would run.
    const stub = mkdtempSync(join(tmpdir(), 'zooid-k8s-'));
    try {
      writeFileSync(join(stub, 'node'), '#!/bin/sh\necho "$@"\n', { mode: 0o755 });
      const run = (pod: string) => spawnSync(c.command![0]!, [...c.command!.slice(1), ...c.args!], { env: { PATH: `${stub}:/usr/bin:/bin`, HOSTNAME: pod, VOTERS: env.VOTERS! }, encoding: 'utf8' }).stdout.trim();
      expect(run('zooid-voter-0')).toBe('/app/bin/zooid.js follower --id 1 --ensemble 1,2,3 --data-dir /data --nats-nkey /etc/zooid/bus/member-1.nk');
      expect(run('zooid-voter-4')).toBe('/app/bin/zooid.js follower --id 5 --join --add-self --data-dir /data --nats-nkey /etc/zooid/bus/member-5.nk');
    } finally {
      rmSync(stub, { recursive: true, force: true });
    }
  });

  it('bus-secrets.sh makes the Secrets with every file each pod reads, and the servers every pod is given', () => {
    const dir = mkdtempSync(join(tmpdir(), 'zooid-k8s-secrets-'));
    try {
      const bin = join(dir, 'bin');
      mkdirSync(bin);
      // A stand-in kubectl that records each secret it is asked to create.
      writeFileSync(join(bin, 'kubectl'), '#!/bin/sh\nif [ "$1" = apply ]; then cat >/dev/null; else echo "$@" >> "$KUBECTL_LOG"; fi\n');
      chmodSync(join(bin, 'kubectl'), 0o755);
      const log = join(dir, 'kubectl.log');
      const busDir = join(dir, 'bus');
      const r = spawnSync('sh', [join(K8S, 'bus-secrets.sh'), busDir], {
        env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, KUBECTL_LOG: log, ZOOID: `${process.execPath} ${ZOOID_BIN}` },
        encoding: 'utf8',
      });
      expect(r.status, r.stderr).toBe(0);
      const secrets = new Map<string, Set<string>>();
      for (const line of readFileSync(log, 'utf8').trim().split('\n')) {
        const [, , , name, ...rest] = line.split(' ');
        secrets.set(name!, new Set(rest.filter((a) => a.startsWith('--from-file=')).map((a) => a.slice('--from-file='.length).split('/').pop()!)));
      }
      // The CA key stays out of the cluster.
      for (const files of secrets.values()) expect(files.has('ca-key.pem')).toBe(false);

      for (const w of byKind('StatefulSet')) {
        const volumes = w.spec.template.spec.volumes as { name: string; secret?: { secretName: string } }[];
        for (const { container, argv, env } of podCommands(w)) {
          const mount = (container as { volumeMounts?: { name: string; mountPath: string }[] }).volumeMounts!.find((m) => volumes.find((v) => v.name === m.name)?.secret)!;
          const files = secrets.get(volumes.find((v) => v.name === mount.name)!.secret!.secretName)!;
          expect(files, `${w.metadata.name}: its secret is made`).toBeDefined();
          const inSecret = (path: string) => {
            expect(path.startsWith(`${mount.mountPath}/`), `${w.metadata.name}: ${path} under ${mount.mountPath}`).toBe(true);
            expect(files.has(path.slice(mount.mountPath.length + 1)), `${w.metadata.name}: ${path} in its secret`).toBe(true);
          };
          if (argv[0] === 'nats-server') {
            const confPath = flag(argv, '-c')!;
            inSecret(confPath);
            const conf = JSON.parse(readFileSync(join(busDir, confPath.split('/').pop()!), 'utf8'));
            for (const f of [conf.tls.cert_file, conf.tls.key_file, conf.cluster.tls.ca_file, conf.cluster.tls.cert_file]) inSecret(f);
            continue;
          }
          inSecret(flag(argv, '--nats-nkey')!);
          inSecret(env.ZOOID_NATS_TLS_CA!);
          // Every server it is given is one that was provisioned, under that name.
          const advertised = readdirSync(busDir).filter((f) => f.endsWith('.conf')).map((f) => JSON.parse(readFileSync(join(busDir, f), 'utf8')).client_advertise);
          expect(env.ZOOID_NATS!.split(',').map((u) => u.replace('tls://', '')).sort()).toEqual(advertised.sort());
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
