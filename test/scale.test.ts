/**
 * `zooid scale` as an operator runs it: a real `zooid up` with three voters
 * and --reconfig-enabled, grown to five and shrunk back to three under
 * writes that must all survive, with /zookeeper/config read by kazoo (as
 * zkCli's `config` would); writes commit with two of the three original
 * voters stopped. Between the two, `up` is restarted with its first flags
 * and must come back as scaled, and twice with scaled.json one step behind
 * the configuration, as a kill -9 of `up` mid-step leaves it. Then an id
 * comes back from its old data directory and, made to lead, is removed by
 * the next shrink, handing over; an `up` on a bus given with
 * --nats, reconfig enabled by its zoo.cfg, scales too; and the refusals.
 * Waits are conditions with deadlines; every process is stopped by its pid.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig, voters } from '@zooid/tree';
import { freePort, startNatsServer, type ClusterView } from '@zooid/cli';
import { killProc, startProc, waitFor, type Proc } from './harness.js';
import { childrenAfterSync, connectClient, kazoo, within, WriteLoad } from './cluster/clients.js';
import { pidAlive as alive, statusJson, zooid } from './support/cli.js';

async function view(dataDir: string): Promise<ClusterView> {
  return (await statusJson(dataDir)).view;
}

/** Every pid `zooid status` shows: members, observers, gateways and the bus's servers. */
function pidsOf(v: ClusterView): number[] {
  return [...v.members.map((m) => m.pid), ...v.gateways.map((g) => g.pid), ...v.bus.map((b) => b.pid ?? 0)].filter((p) => p > 0);
}

/** A running `zooid up` and every child pid it was seen with, so none outlives the test. */
class Up {
  readonly seen = new Set<number>();
  private constructor(readonly proc: Proc, readonly dataDir: string, readonly clientPort: number) {}

  static async start(dataDir: string, clientPort: number, extra: string[]): Promise<Up> {
    const args = ['up', '--followers', '3', '--observers', '0', '--gateways', '1', '--client-port', String(clientPort), '--admin-port', '0', '--data-dir', dataDir, '--tick-time', '200', ...extra];
    const up = new Up(startProc('up', args), dataDir, clientPort);
    await waitFor('up to print its connect string', () => up.proc.output().includes('connect string'), 40_000);
    return up;
  }

  /** Waits until status shows `n` voting members, one of them leading, in one configuration; returns that view. */
  async voting(n: number, deadlineMs = 30_000): Promise<ClusterView> {
    return waitFor(
      `${n} voting members with a leader`,
      async () => {
        const v = await view(this.dataDir);
        for (const p of pidsOf(v)) this.seen.add(p);
        const voting = v.members.filter((m) => m.voting === 'yes');
        const configs = new Set(voting.map((m) => m.config));
        return voting.length === n && configs.size === 1 && voting.some((m) => m.role === 'leading') ? v : undefined;
      },
      deadlineMs,
      200,
    );
  }

  /** SIGTERM to `up`, SIGKILL if it lingers; then no child it was seen with may be left. */
  async stop(): Promise<void> {
    this.proc.child.kill('SIGTERM');
    await within(this.proc.exited, 30_000, 'up to exit on SIGTERM').catch(() => killProc(this.proc, 'SIGKILL'));
    const left = await waitFor('every child of up to exit', () => ([...this.seen].some(alive) ? undefined : true), 15_000).catch(() => false);
    if (left === false) {
      const stray = [...this.seen].filter(alive);
      for (const pid of stray) process.kill(pid, 'SIGKILL');
      throw new Error(`children outlived up: ${stray.join(', ')}`);
    }
  }
}

async function configVoters(clientPort: number): Promise<{ ids: number[]; participants: boolean }> {
  const { config } = await kazoo<{ config: string }>(['config', `127.0.0.1:${clientPort}`]);
  const e = parseConfig(config);
  return { ids: voters(e), participants: e.members.every((m) => m.type === 'participant') };
}

/**
 * Runs `fn` under two writers and checks that every write acknowledged
 * meanwhile is there afterwards: a scale step (a bus reload, a reconfig, a
 * member stopped) must lose nothing. Writes may fail meanwhile; none may
 * be acknowledged and then missing.
 */
async function underWrites<T>(clientPort: number, root: string, fn: () => Promise<T>): Promise<T> {
  const hosts = `127.0.0.1:${clientPort}`;
  const load = await WriteLoad.start(hosts, root, 2);
  let result: T;
  try {
    await load.moreAcks(10);
    result = await fn();
    await load.moreAcks(20);
  } finally {
    await load.stop();
  }
  const seen = new Set(await childrenAfterSync(hosts, root));
  expect(load.acked.filter((w) => !seen.has(w.path.slice(root.length + 1)))).toEqual([]);
  return result;
}

async function writeOnce(clientPort: number, path: string): Promise<void> {
  const c = await connectClient(`127.0.0.1:${clientPort}`);
  try {
    await within(c.create(path, Buffer.from('x')), 15_000, `create ${path}`);
  } finally {
    await c.close();
  }
}

describe('zooid scale on an up with --reconfig-enabled', () => {
  let dataDir = '';
  let clientPort = 0;
  let up: Up | undefined;

  beforeAll(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'zooid-scale-'));
    clientPort = await freePort();
    up = await Up.start(dataDir, clientPort, ['--reconfig-enabled']);
    await up.voting(3);
  }, 90_000);

  afterAll(async () => {
    await up?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }, 60_000);

  /** Restarts up with scaled.json saying `followers`, as a kill -9 of up between a step's commit and its record leaves it. */
  async function restartWithRecord(followers: number): Promise<void> {
    await up!.stop();
    writeFileSync(join(dataDir, 'scaled.json'), JSON.stringify({ followers, observers: 0 }) + '\n');
    up = await Up.start(dataDir, clientPort, ['--reconfig-enabled']);
  }

  it('grows 3 → 5 under writes with nothing lost: /zookeeper/config lists five participants', async () => {
    expect(up!.proc.output()).toContain(`scale           zooid scale --data-dir ${dataDir} --followers N`);
    const r = await underWrites(clientPort, '/grow', () => zooid(['scale', '--data-dir', dataDir, '--followers', '5']));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('member 4: voting');
    expect(r.stdout).toContain('member 5: voting');
    expect(r.stdout).toContain('done: voters 3 → 5, observers 0 → 0');
    // The password reconfig is driven with is the cluster's super user: only up's user may read it.
    expect(statSync(join(dataDir, 'super-password')).mode & 0o777).toBe(0o600);
    expect(await configVoters(clientPort)).toEqual({ ids: [1, 2, 3, 4, 5], participants: true });
    // No client address in any line, the static ones nor scale's: a Curator client would move to it.
    const { config } = await kazoo<{ config: string }>(['config', `127.0.0.1:${clientPort}`]);
    expect(parseConfig(config).members.filter((m) => m.client !== undefined)).toEqual([]);
    await up!.voting(5);
  }, 240_000);

  it('commits writes with two of the first three voters stopped: the quorum needs both new ones (SIGSTOP, so up does not restart them)', async () => {
    const v = await up!.voting(5);
    // Three of five must ack; with two of 1..3 stopped, those three include 4 and 5, so the write shows they vote.
    const paused = v.members.filter((m) => ['1', '2', '3'].includes(m.id) && m.role === 'following').slice(0, 2).map((m) => m.pid);
    expect(paused).toHaveLength(2);
    for (const pid of paused) process.kill(pid, 'SIGSTOP');
    try {
      await writeOnce(clientPort, '/two-of-five-stopped');
    } finally {
      for (const pid of paused) process.kill(pid, 'SIGCONT');
    }
    await up!.voting(5);
  }, 90_000);

  it('comes back with five voters when up restarts on the directory with its first flags', async () => {
    await up!.stop();
    up = await Up.start(dataDir, clientPort, ['--reconfig-enabled']);
    await up.voting(5, 60_000);
    await writeOnce(clientPort, '/after-restart');
  }, 120_000);

  it('completes a grow whose record was lost: an up killed between the reconfig and scaled.json comes back one voter short', async () => {
    // The configuration has 5 (`reconfig -add server.5` committed), the record 4.
    await restartWithRecord(4);
    const short = await up!.voting(4, 60_000);
    expect(short.members.map((m) => m.id)).toEqual(['1', '2', '3', '4']);
    expect(await configVoters(clientPort)).toEqual({ ids: [1, 2, 3, 4, 5], participants: true });
    const r = await zooid(['scale', '--data-dir', dataDir, '--followers', '5']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('done: voters 4 → 5, observers 0 → 0');
    await up!.voting(5);
    await writeOnce(clientPort, '/after-recovery');
  }, 240_000);

  it('shrinks 5 → 3 under writes with nothing lost: three participants, members 4 and 5 stopped', async () => {
    const before = await up!.voting(5);
    const retired = before.members.filter((m) => m.id === '4' || m.id === '5').map((m) => m.pid);
    expect(retired).toHaveLength(2);
    const r = await underWrites(clientPort, '/shrink', () => zooid(['scale', '--data-dir', dataDir, '--followers', '3']));
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('done: voters 5 → 3, observers 0 → 0');
    expect(await configVoters(clientPort)).toEqual({ ids: [1, 2, 3], participants: true });
    await waitFor('members 4 and 5 to exit', () => !retired.some(alive), 15_000);
    const after = await up!.voting(3);
    expect(after.members.map((m) => m.id)).toEqual(['1', '2', '3']);
  }, 240_000);

  it('a shrink whose record was lost, asked again for as many: the removed member is refused at start, then re-added as a joiner', async () => {
    // The configuration has 3 (`reconfig -remove 4` committed), the record 4.
    await restartWithRecord(4);
    await up!.voting(3, 60_000);
    await waitFor('member 4 to be refused at start', () => up!.proc.output().includes('member id 4 is not a voter of the configuration 1,2,3'), 30_000);
    const r = await zooid(['scale', '--data-dir', dataDir, '--followers', '4']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('member 4: voting');
    expect(await configVoters(clientPort)).toEqual({ ids: [1, 2, 3, 4], participants: true });
    await up!.voting(4);
  }, 180_000);

  it('a grow whose record was lost, asked for fewer: the voter that never ran again is removed from the configuration', async () => {
    // The configuration has 4, the record 3: member 4 counts towards the quorum but is not started.
    await restartWithRecord(3);
    await up!.voting(3, 60_000);
    expect(await configVoters(clientPort)).toEqual({ ids: [1, 2, 3, 4], participants: true });
    const r = await zooid(['scale', '--data-dir', dataDir, '--followers', '3']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('member 4: reconfig -remove 4');
    expect(await configVoters(clientPort)).toEqual({ ids: [1, 2, 3], participants: true });
    await up!.voting(3);
  }, 180_000);

  it('grows to 4 again: member 4 starts from the data directory it left, syncs and votes; then back to 3 while member 4 leads, which hands over', async () => {
    const grown = await zooid(['scale', '--data-dir', dataDir, '--followers', '4']);
    expect(grown.code, grown.stderr).toBe(0);
    expect(grown.stdout).toContain('member 4: voting');
    expect(await configVoters(clientPort)).toEqual({ ids: [1, 2, 3, 4], participants: true });
    // Member 4 must hold what was written while it was away, not only vote.
    await waitFor('member 4 at the leader\'s zxid', async () => {
      const v = await up!.voting(4);
      const leader = v.members.find((m) => m.role === 'leading');
      return v.members.find((m) => m.id === '4')?.zxid === leader?.zxid;
    }, 30_000, 200);
    // The shrink then removes the leader: kill -9 whoever leads until member 4 does (at equal histories
    // the highest id wins the election; up restarts the killed one).
    await waitFor('member 4 to lead', async () => {
      const v = await up!.voting(4);
      const leader = v.members.find((m) => m.role === 'leading')!;
      if (leader.id === '4') return true;
      process.kill(leader.pid, 'SIGKILL');
      await waitFor(`the killed leader ${leader.pid} to exit`, () => !alive(leader.pid), 10_000);
      return undefined;
    }, 90_000, 200);
    const shrunk = await underWrites(clientPort, '/shrink-leader', () => zooid(['scale', '--data-dir', dataDir, '--followers', '3']));
    expect(shrunk.code, shrunk.stderr).toBe(0);
    expect(shrunk.stdout).toContain('member 4: reconfig -remove 4');
    expect(await configVoters(clientPort)).toEqual({ ids: [1, 2, 3], participants: true });
    const after = await up!.voting(3);
    expect(after.members.find((m) => m.role === 'leading')?.id).not.toBe('4');
  }, 240_000);

  it('refuses to go below two voters, and changes nothing', async () => {
    const one = await zooid(['scale', '--data-dir', dataDir, '--followers', '1']);
    expect(one.code).toBe(1);
    expect(one.stderr).toContain('voters scale between 2 and more');
    const none = await zooid(['scale', '--data-dir', dataDir, '--followers', '0']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('--followers must be at least 1');
    expect(await configVoters(clientPort)).toEqual({ ids: [1, 2, 3], participants: true });
    await up!.voting(3);
  }, 60_000);

  it('starts and stops an observer, voters untouched', async () => {
    const grown = await zooid(['scale', '--data-dir', dataDir, '--followers', '3', '--observers', '1']);
    expect(grown.code, grown.stderr).toBe(0);
    expect(grown.stdout).toContain('done: voters 3 → 3, observers 0 → 1');
    const o1 = await waitFor(
      'observer o1 observing',
      async () => (await view(dataDir)).members.find((m) => m.id === 'o1' && m.role === 'observing'),
      30_000,
      200,
    );
    up!.seen.add(o1.pid);
    const shrunk = await zooid(['scale', '--data-dir', dataDir, '--followers', '3', '--observers', '0']);
    expect(shrunk.code, shrunk.stderr).toBe(0);
    expect(shrunk.stdout).toContain('observer o1: stopped');
    await waitFor('observer o1 to exit', () => !alive(o1.pid), 15_000);
    expect(await configVoters(clientPort)).toEqual({ ids: [1, 2, 3], participants: true });
  }, 120_000);

});

describe('zooid scale on an up given --nats and a zoo.cfg', () => {
  it('grows 3 → 4 and back with reconfigEnabled from the zoo.cfg, nothing to provision and the first of two gateways frozen', async () => {
    const nats = await startNatsServer();
    const dataDir = mkdtempSync(join(tmpdir(), 'zooid-scale-nats-'));
    const clientPort = await freePort();
    const zooCfg = join(dataDir, 'zoo.cfg');
    writeFileSync(zooCfg, 'reconfigEnabled=true\n');
    const up = await Up.start(dataDir, clientPort, ['--config', zooCfg, '--nats', nats.url, '--gateways', '2']);
    try {
      const v = await up.voting(3);
      // The first gateway frozen (SIGSTOP: up does not restart it): the reconfig goes through the second.
      const gw1 = v.gateways.find((g) => g.id === 'gw1')!.pid;
      process.kill(gw1, 'SIGSTOP');
      let grown;
      try {
        grown = await zooid(['scale', '--data-dir', dataDir, '--followers', '4']);
      } finally {
        process.kill(gw1, 'SIGCONT');
      }
      expect(grown.code, grown.stderr).toBe(0);
      expect(await configVoters(clientPort)).toEqual({ ids: [1, 2, 3, 4], participants: true });
      await up.voting(4);
      const shrunk = await zooid(['scale', '--data-dir', dataDir, '--followers', '3']);
      expect(shrunk.code, shrunk.stderr).toBe(0);
      expect(await configVoters(clientPort)).toEqual({ ids: [1, 2, 3], participants: true });
      await up.voting(3);
    } finally {
      await up.stop();
      await nats.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 180_000);
});

describe('zooid scale refusals', () => {
  it('says how to enable reconfig when up runs without --reconfig-enabled, and changes nothing', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'zooid-scale-off-'));
    const up = await Up.start(dataDir, await freePort(), []);
    try {
      await up.voting(3);
      expect(up.proc.output()).not.toContain('zooid scale');
      const r = await zooid(['scale', '--data-dir', dataDir, '--followers', '5']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('without --reconfig-enabled');
      expect(r.stderr).toContain(`zooid up --data-dir ${dataDir} --reconfig-enabled`);
      const v = await up.voting(3);
      expect(v.members.map((m) => m.id)).toEqual(['1', '2', '3']);
    } finally {
      await up.stop();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }, 90_000);

  it('gives up at --timeout-ms with exit 1 when up takes the request but does not answer', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'zooid-scale-mute-'));
    // Stands in for an up mid-step (a real one cannot be made to hang on cue): it reads the request and never answers.
    const mute = createServer((conn) => conn.resume());
    await new Promise<void>((resolve) => mute.listen(join(dataDir, 'up.sock'), resolve));
    try {
      const r = await zooid(['scale', '--data-dir', dataDir, '--followers', '5', '--timeout-ms', '2000']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('no outcome within 2000 ms; the supervisor carries on with the step it was on');
    } finally {
      await new Promise((resolve) => mute.close(resolve));
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('says that no up runs on a directory without one', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'zooid-scale-none-'));
    try {
      const r = await zooid(['scale', '--data-dir', dataDir, '--followers', '5']);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`no \`zooid up\` is running on ${dataDir}`);
    } finally {
      rmSync(dataDir, { recursive: true, force: true });
    }
  });
});
