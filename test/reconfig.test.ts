/**
 * Dynamic reconfiguration with real processes: three voters started with
 * --reconfig-enabled, more members started with --join (4 and 5 with no
 * --ensemble: they learn the configuration from the members), and Curator's,
 * kazoo's, zkCli's and `zooid shell`'s reconfig (as the super user) driving
 * the changes through a gateway. The configuration is read back with
 * kazoo's get of /zookeeper/config, as zkCli's `config` does.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatConfig, parseConfig, staticEnsemble, voters } from '@zooid/tree';
import { waitFor, waitServing } from './harness.js';
import { Cluster, lines } from './cluster/harness.js';
import { WriteLoad, childrenAfterSync, connectClient, kazoo, within } from './cluster/clients.js';
import { runZkCli } from './clients/zkcli.js';
import { runCurator } from './clients/curator.js';
import { execFile } from 'node:child_process';
import { ZOOID_BIN } from '@zooid/cli';

const PASSWORD = 'hunter2';
const SUPER_DIGEST = 'super:' + createHash('sha1').update(`super:${PASSWORD}`).digest('base64');
const spec = (id: number) => `server.${id}=zooid-${id}:2888:3888:participant;2181`;

let cluster: Cluster;
/** The two voters stopped in the two-of-five test, removed by the shrink. */
let removed: string[] = [];
/** The leader the hand-over test removed; it keeps running as a non-voter. */
let formerLeader = '';

/** `zooid shell <connect> -c "<lines>"`: one session runs them in order. */
function shell(...lines: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [ZOOID_BIN, 'shell', cluster.connectString, '-c', lines.join('\n')], { timeout: 60_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) =>
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr }),
    );
  });
}

beforeAll(async () => {
  // 4 and 5 learn the configuration from the members; 6 is started with --ensemble 1,2,3 (see the last test).
  cluster = await Cluster.start({ voters: 3, joiners: 3, joinersLearn: 2, observers: 0, gateways: 1, tickTime: 200, memberArgs: ['--reconfig-enabled', '--super-digest', SUPER_DIGEST] });
}, 60_000);

afterAll(async () => {
  await cluster?.stop();
});

type Outcome = { ok: true; config: string } | { ok: false; error: string };
/** One write through a fresh session: the ensemble commits in its current shape. */
async function writeOnce(path: string, what: string): Promise<void> {
  const c = await connectClient(cluster.connectString);
  try {
    await within(c.create(path, Buffer.from('x')), 15_000, what);
  } finally {
    await c.close();
  }
}

/** Waits until `zooid status` shows the member on configuration `version` without a vote; the last status is in the error. */
async function announcesNonVoter(id: string, version: string, deadlineMs: number): Promise<void> {
  let seen: unknown;
  await waitFor(
    `member ${id} to announce configuration ${version}, not voting`,
    async () => {
      const rows = (await cluster.status()).view.members;
      seen = rows;
      return rows.find((m) => m.id === id && m.config === version && m.voting === 'no');
    },
    deadlineMs,
  ).catch((err: Error) => {
    throw new Error(`${err.message}; last status ${JSON.stringify(seen)}`);
  });
}

const reconfig = (joining: string, leaving: string, from = -1) => kazoo<Outcome>(['reconfig', cluster.connectString, PASSWORD, joining || '-', leaving || '-', String(from)]);
const config = () => kazoo<{ config: string; mzxid: number }>(['config', cluster.connectString]);

describe('reconfig', () => {
  it("shows a fresh ensemble's participants at /zookeeper/config; Curator's getConfig and reconfig change it, and its client works on across the change", async () => {
    const { leader } = await cluster.settled();
    const shown = await config();
    const e = parseConfig(shown.config);
    // The static ensemble, with no client address, made by the first transaction of the epoch whose first zxid is its version.
    expect(shown.config).toBe(formatConfig({ ...staticEnsemble(['1', '2', '3']), version: e.version }));
    expect(e.version).toBeGreaterThan(0);
    expect(shown.mzxid).toBe(e.version + 1);
    const voter = ['1', '2', '3'].find((id) => id !== leader.id)!;
    const gw = cluster.gateways[0]!;
    // Given a client address, Curator's EnsembleTracker sends its client there: a Zooid user gives a gateway's.
    const back = `server.${voter}=zooid-${voter}:2888:3888:participant;127.0.0.1:${gw.port}`;
    const restartGateway = async () => {
      await gw.kill();
      gw.start();
      await waitServing(gw.port, 20_000);
    };
    type Run = { start: string; removed: string; staleRefused: boolean; added: string; tracked: string; after: string };
    const r = await runCurator<Run>(cluster.connectString, 'reconfig', { args: [PASSWORD, voter, back], onPause: restartGateway });
    expect(r.start).toBe(shown.config);
    expect(voters(parseConfig(r.removed))).toEqual([1, 2, 3].filter((id) => id !== Number(voter)));
    expect(r.staleRefused).toBe(true);
    expect(voters(parseConfig(r.added))).toEqual([1, 2, 3]);
    expect(r.added.split('\n')).toContain(back);
    // The tracker took the one client address the configuration has (the others have none), and the client reconnected there.
    expect(r.tracked).toBe(`127.0.0.1:${gw.port}`);
    expect(r.after).toBe('ok');
    expect((await config()).config).toBe(r.added);
  }, 90_000);

  it('refuses a change whose new voters are not synced (NEWCONFIGNOQUORUM) or that comes without authority (NOAUTH), and nothing of it is applied', async () => {
    const before = (await config()).config;
    // 4 and 5 are not running: {1, 4, 5} has one synced voter of three.
    const r = await reconfig(`${spec(4)},${spec(5)}`, '2,3');
    expect(r).toEqual({ ok: false, error: 'NewConfigNoQuorumError' });
    expect((await config()).config).toBe(before);
    // Without the super user, /zookeeper/config's ACL (world: READ) refuses any change.
    const anonymous = await kazoo<Outcome>(['reconfig', cluster.connectString, '-', '-', '3', '-1']);
    expect(anonymous).toEqual({ ok: false, error: 'NoAuthError' });
    expect((await config()).config).toBe(before);
    // And the ensemble still commits with its three voters.
    await writeOnce('/after-refusal', 'a write after the refusal');
  });

  it("kazoo's own reconfig tests: an observer added and removed as super, a future fromConfig is BADVERSION, a malformed server BADARGUMENTS", async () => {
    const joining = 'server.100=0.0.0.0:2890:3890:observer;0.0.0.0:2190';
    const added = await reconfig(joining, '');
    expect(added.ok && added.config.split('\n')).toContain(joining);
    const removed = await reconfig('', '100');
    expect(removed.ok && removed.config).not.toContain('server.100=');
    const current = parseConfig((removed as { config: string }).config).version;
    expect(await reconfig(joining, '', current + 1)).toEqual({ ok: false, error: 'BadVersionError' });
    expect(await reconfig('some thing', '')).toEqual({ ok: false, error: 'BadArgumentsError' });
  });

  it('grows 3 → 5 under writes with nothing lost; /zookeeper/config and zooid status list five voters', async () => {
    for (const id of ['4', '5']) cluster.node(id).start();
    // The joiners follow (not voting) in the leader's epoch before the change.
    await cluster.settled(30_000);
    const v = '0x' + parseConfig((await config()).config).version.toString(16);
    const want = JSON.stringify([['1', v, 'yes'], ['2', v, 'yes'], ['3', v, 'yes'], ['4', v, 'no'], ['5', v, 'no']]);
    // Members announce once a second: 4 and 5 may not have told of their sync yet.
    await waitFor(
      'zooid status to show 4 and 5 following without a vote in the current configuration',
      async () => JSON.stringify((await cluster.status()).view.members.map((m) => [m.id, m.config, m.voting])) === want || undefined,
      20_000,
    );
    // Neither was told the voters: each learned them from what 1, 2 and 3 announce.
    for (const id of ['4', '5']) {
      expect(lines(cluster.node(id), 'learned the configuration from the ensemble')[0]).toMatchObject({ voters: ['1', '2', '3'] });
    }
    const load = await WriteLoad.start(cluster.connectString, '/grow', 2);
    try {
      await load.moreAcks(10);
      const r = await reconfig(`${spec(4)},${spec(5)}`, '');
      expect(r.ok, JSON.stringify(r)).toBe(true);
      const e = parseConfig((r as { config: string }).config);
      expect(voters(e)).toEqual([1, 2, 3, 4, 5]);
      await load.moreAcks(20);
    } finally {
      await load.stop();
    }
    const seen = new Set(await childrenAfterSync(cluster.connectString, '/grow'));
    const lost = load.acked.filter((w) => !seen.has(w.path.slice('/grow/'.length)));
    expect(lost).toEqual([]);
    const read = parseConfig((await config()).config);
    expect(voters(read)).toEqual([1, 2, 3, 4, 5]);
    expect(read.members.every((m) => m.type === 'participant')).toBe(true);
    // `zooid status` shows every member voting in that configuration (members announce once a second).
    const version = '0x' + read.version.toString(16);
    await waitFor(
      'zooid status to show five voters of the new configuration',
      async () => {
        const { view } = await cluster.status();
        const rows = view.members.filter((m) => m.config === version && m.voting === 'yes');
        return rows.length === 5 ? rows : undefined;
      },
      20_000,
    );
  });

  it('a member that joined without --ensemble restarts from its data directory alone, waits while the ensemble is unreachable, then votes again', async () => {
    const version = parseConfig((await config()).config).version;
    const back = cluster.node('5');
    await back.kill();
    cluster.spy.forget('member', '5');
    const others = cluster.members.filter((m) => m.running);
    for (const m of others) m.freeze();
    try {
      back.start();
      // Its tree holds the configuration, which counts it: nothing to learn, it looks for the others as a voter.
      await waitFor(
        'member 5 to announce itself looking, voting in the configuration its tree holds',
        () => {
          const p = cluster.spy.latest('member', '5');
          return p?.pid === back.pid && p.role === 'looking' && p.config?.version === version && p.config.voting;
        },
        20_000,
      );
      expect(lines(back, 'looking').length).toBeGreaterThan(0);
      expect(back.alive).toBe(true);
    } finally {
      for (const m of others) m.thaw();
    }
    await cluster.settled(30_000);
    expect(lines(back, 'no configuration in the data directory and no --ensemble: learning it from the ensemble')).toEqual([]);
    await waitFor(
      'zooid status to show member 5 voting again',
      async () => (await cluster.status()).view.members.find((m) => m.id === '5' && m.config === '0x' + version.toString(16) && m.voting === 'yes'),
      20_000,
    );
    await writeOnce('/after-joiner-restart', 'a write after the joiner restarted');
  }, 90_000);

  it('asks for the version it read: a stale fromConfig is BADVERSION', async () => {
    const r = await reconfig('', '5', 1);
    expect(r).toEqual({ ok: false, error: 'BadVersionError' });
    expect(voters(parseConfig((await config()).config))).toEqual([1, 2, 3, 4, 5]);
  });

  it('commits writes with two of the five voters stopped, then shrinks back to three without them', async () => {
    const { leader } = await cluster.settled();
    const stopped = cluster.members.filter((m) => m !== leader && ['1', '2', '3'].includes(m.id)).slice(0, 2);
    expect(stopped).toHaveLength(2);
    removed = stopped.map((m) => m.id);
    for (const m of stopped) await m.kill();
    await writeOnce('/two-of-five-down', 'a write with two of five voters stopped');
    const before = parseConfig((await config()).config);
    const r = await reconfig('', stopped.map((m) => m.id).join(','), before.version);
    expect(r.ok, JSON.stringify(r)).toBe(true);
    const left = ['1', '2', '3', '4', '5'].filter((id) => !stopped.some((m) => m.id === id)).map(Number);
    expect(voters(parseConfig((r as { config: string }).config))).toEqual(left);
    // Three voters now: all of them running, and writes commit.
    await writeOnce('/after-shrink', 'a write after shrinking to three');
  });

  it('after the shrink, the three voters elect among themselves when the leader dies, and it rejoins from its own log', async () => {
    const { leader, epoch } = await cluster.settled();
    const committed = voters(parseConfig((await config()).config)).map(String);
    expect(committed).toContain(leader.id);
    await leader.kill();
    // Only the configuration in the log makes these two a quorum: --ensemble still says 1,2,3.
    const next = await cluster.settled(30_000, { leaderNot: leader.id });
    expect(committed).toContain(next.leader.id);
    expect(next.epoch).toBeGreaterThan(epoch);
    await writeOnce('/after-failover', 'a write after the leader died');
    leader.start();
    await cluster.settled(30_000);
    const zxid = await cluster.converged();
    expect(zxid).toBeGreaterThan(0);
  });

  it('a member removed while it was down restarts, catches up as a non-voter, and zkCli re-adds it', async () => {
    const back = cluster.node(removed[0]!);
    // Its log still says it votes (it died before the shrink): the ensemble's configuration wins once it syncs.
    back.start();
    await cluster.settled(30_000);
    const current = parseConfig((await config()).config);
    const version = '0x' + current.version.toString(16);
    await announcesNonVoter(back.id, version, 20_000);
    const run = await runZkCli(cluster.connectString, [`addauth digest super:${PASSWORD}`, `reconfig -v ${current.version.toString(16)} -add ${spec(Number(back.id))}`, 'config']);
    const committedAt = run.lines.indexOf('Committed new configuration:');
    expect(committedAt, run.raw).toBeGreaterThanOrEqual(0);
    const want = [...voters(current), Number(back.id)].sort((a, b) => a - b);
    const after = parseConfig((await config()).config);
    expect(voters(after)).toEqual(want);
    // zkCli's `config` prints the same lines /zookeeper/config holds: the re-added member's as given, a bare port as 0.0.0.0.
    for (const line of formatConfig(after).split('\n')) expect(run.lines).toContain(line);
    expect(run.lines).toContain(`server.${back.id}=zooid-${back.id}:2888:3888:participant;0.0.0.0:2181`);
    await writeOnce('/after-readd', 'a write after re-adding a voter');
  });

  it('removing the leader hands over: it commits the change, steps down, the others elect, and it follows without a vote', async () => {
    const { leader, epoch } = await cluster.settled();
    formerLeader = leader.id;
    const before = parseConfig((await config()).config);
    const r = await reconfig('', leader.id, before.version);
    expect(r.ok, JSON.stringify(r)).toBe(true);
    const left = voters(before).filter((id) => id !== Number(leader.id));
    expect(voters(parseConfig((r as { config: string }).config))).toEqual(left);
    const next = await cluster.settled(30_000, { leaderNot: leader.id });
    expect(left).toContain(Number(next.leader.id));
    expect(next.epoch).toBeGreaterThan(epoch);
    // The old leader's process stayed up and follows the new one, as a non-voter.
    expect(leader.alive).toBe(true);
    expect(next.presence.get(leader.id)?.role).toBe('following');
    await writeOnce('/after-leader-removed', 'a write after the leader was removed');
    const version = '0x' + parseConfig((await config()).config).version.toString(16);
    // It rejoins through an election it cannot win and a sync: on a loaded machine that has taken over 20 s.
    await announcesNonVoter(leader.id, version, 40_000);
  }, 120_000);

  it('zooid shell: config shows the configuration, a stale -v is refused, and reconfig -add makes the former leader a voter again', async () => {
    const current = parseConfig((await config()).config);
    const text = (await config()).config;
    const v = current.version.toString(16);
    const stale = await shell(`addauth digest super:${PASSWORD}`, 'config', `reconfig -v 1 -add ${spec(Number(formerLeader))}`);
    expect(stale.stdout + stale.stderr).toContain(text);
    expect(stale.stdout + stale.stderr).toMatch(/version No is not valid|BadVersion/);
    expect(voters(parseConfig((await config()).config))).toEqual(voters(current));
    const r = await shell(`addauth digest super:${PASSWORD}`, `reconfig -v ${v} -add ${spec(Number(formerLeader))}`, 'config');
    expect(r.stdout, r.stderr).toContain('Committed new configuration:');
    const want = [...voters(current), Number(formerLeader)].sort((a, b) => a - b);
    const after = parseConfig((await config()).config);
    expect(voters(after)).toEqual(want);
    expect(r.stdout).toContain(`server.${formerLeader}=zooid-${formerLeader}:2888:3888:participant;0.0.0.0:2181`);
  });

  it('a joiner whose --ensemble names voters mostly gone learns the configuration from the votes, and with --add-self the leader adds it', async () => {
    const { leader } = await cluster.settled();
    const current = parseConfig((await config()).config);
    // Joiner 6 was made with --ensemble 1,2,3: leave at most one of them running, so its own list makes no quorum.
    const originals = ['1', '2', '3'].filter((id) => cluster.node(id).alive);
    const stop = originals.filter((id) => id !== leader.id).slice(0, originals.length - 1);
    for (const id of stop) await cluster.node(id).kill();
    const running = voters(current).filter((id) => cluster.node(String(id)).alive);
    expect(running.length * 2).toBeGreaterThan(voters(current).length);
    const joiner = cluster.node('6');
    joiner.env = { ZOOID_ADD_SELF: '1' };
    joiner.start();
    let seen: unknown;
    const added = await waitFor(
      'joiner 6 to be added as a voter by the leader',
      async () => {
        const c = parseConfig((await config()).config);
        seen = c;
        return voters(c).includes(6) && c.version > current.version ? c : undefined;
      },
      40_000,
    ).catch((err: Error) => {
      throw new Error(`${err.message}; last configuration ${JSON.stringify(seen)}\n${cluster.tails(3000)}`);
    });
    expect(voters(added)).toEqual([...voters(current), 6].sort((a, b) => a - b));
    await waitFor(
      'zooid status to show 6 voting in that configuration',
      async () => (await cluster.status()).view.members.find((m) => m.id === '6' && m.config === '0x' + added.version.toString(16) && m.voting === 'yes'),
      20_000,
    );
    for (const id of stop) cluster.node(id).start();
    await writeOnce('/after-joiner-added', 'a write with the joiner voting');
  }, 90_000);
});
