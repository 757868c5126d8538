/**
 * Compatibility: Debian's zkCli.sh (ZooKeeper 3.8.0's Java client and CLI)
 * and four-letter words through Debian's netcat-openbsd `nc`, against a real
 * standalone Zooid. Commands are batched into few JVM starts; the expected
 * lines are what the same batches print against Apache ZooKeeper 3.8.0
 * (zxids, times and session ids aside).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from './harness.js';
import { compatTarget, type CompatTarget } from './clients/target.js';
import { parseStat, runZkCli, type ZkCliRun } from './clients/zkcli.js';
import { CreateMode, NzkClient } from './clients/nzk.js';

let zoo: CompatTarget;
let server: string;
let port: number;

beforeAll(async () => {
  zoo = await compatTarget();
  port = zoo.port;
  server = `${zoo.host}:${port}`;
});

afterAll(async () => {
  await zoo?.stop();
});

const digestId = (user: string, password: string) => `${user}:${createHash('sha1').update(`${user}:${password}`).digest('base64')}`;

/** `ls` of a path that does not exist: a marker line between command groups. */
const mark = (n: number) => `ls /mark-${n}`;

/** The command output between mark(n - 1) (or the start) and mark(n). */
function section(run: ZkCliRun, n: number): string[] {
  const end = run.lines.indexOf(`Node does not exist: /mark-${n}`);
  if (end < 0) throw new Error(`marker ${n} missing from zkCli output:\n${run.raw}`);
  const startAt = n === 1 ? 0 : run.lines.indexOf(`Node does not exist: /mark-${n - 1}`) + 1;
  return run.lines.slice(startAt, end);
}

/** Runs `echo word | nc 127.0.0.1 port` through a shell, as an operator would. */
function nc(word: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('/bin/sh', ['-c', `echo ${word} | nc ${zoo.host} ${port}`], { timeout: 15_000, killSignal: 'SIGKILL' }, (err, stdout, stderr) =>
      err ? reject(new Error(`nc ${word}: ${err.message} ${stderr}`)) : resolve(stdout),
    );
  });
}

const STAT_LINES = 11;

describe('zkCli.sh against Zooid', () => {
  it('create (-e, -s), ls (-s, -R), get (-s), set, stat, delete, deleteall, errors', async () => {
    const run = await runZkCli(server, [
      'create /cli "hello"',
      'create -e /cli/eph "e"',
      'create -s /cli/seq- "s"',
      'create -s -e /cli/eseq- ""',
      'ls /cli',
      mark(1),
      'ls -s /cli',
      mark(2),
      'get /cli',
      'get -s /cli',
      'set /cli "world"',
      'get -s /cli',
      'stat /cli',
      'stat /cli/eph',
      mark(3),
      'create /cli/sub',
      'create /cli/sub/deep "d"',
      'ls -R /cli',
      'delete /cli/sub',
      'deleteall /cli/sub',
      'ls /cli',
      'stat /cli/sub',
      mark(4),
      'create /cli/v "v"',
      'set -v 0 /cli/v "v1"',
      'set -v 0 /cli/v "v2"',
      'delete -v 7 /cli/v',
      'get /cli/v',
      'delete -v 1 /cli/v',
      'get /cli/v',
      mark(5),
      'create /cli',
      'delete /cli',
      'get /nonexistent',
      'create /nope/x',
      'create /cli/eph/child',
      'ls -R /nothere',
      'deleteall /nothere',
      mark(6),
    ]);

    expect(section(run, 1)).toEqual([
      'Created /cli',
      'Created /cli/eph',
      'Created /cli/seq-0000000001',
      'Created /cli/eseq-0000000002',
      '[eph, eseq-0000000002, seq-0000000001]',
    ]);

    const ls = section(run, 2);
    expect(ls[0]).toBe('[eph, eseq-0000000002, seq-0000000001]');
    const lsStat = parseStat(ls, 1);
    expect(lsStat).toMatchObject({ cversion: 3, dataVersion: 0, aclVersion: 0, ephemeralOwner: 0n, dataLength: 5, numChildren: 3 });
    expect(lsStat.mZxid).toBe(lsStat.cZxid);
    expect(lsStat.pZxid).toBe(lsStat.cZxid + 3n);
    expect(ls).toHaveLength(1 + STAT_LINES);

    const gets = section(run, 3);
    expect(gets[0]).toBe('hello');
    expect(gets[1]).toBe('hello');
    expect(parseStat(gets, 2)).toEqual(lsStat);
    expect(gets[2 + STAT_LINES]).toBe('world');
    const afterSet = parseStat(gets, 3 + STAT_LINES);
    expect(afterSet).toMatchObject({ dataVersion: 1, dataLength: 5, cZxid: lsStat.cZxid, numChildren: 3 });
    expect(afterSet.mZxid).toBeGreaterThan(lsStat.pZxid);
    expect(parseStat(gets, 3 + 2 * STAT_LINES)).toEqual(afterSet);
    const eph = parseStat(gets, 3 + 3 * STAT_LINES);
    expect(eph.ephemeralOwner).not.toBe(0n);
    expect(eph.dataLength).toBe(1);
    expect(gets).toHaveLength(3 + 4 * STAT_LINES);
    // ctime is printed as a date, like ZooKeeper's Java Date.toString().
    expect(afterSet.ctime).toMatch(/^\w{3} \w{3} \d{2} \d{2}:\d{2}:\d{2} \w+ \d{4}$/);

    expect(section(run, 4)).toEqual([
      'Created /cli/sub',
      'Created /cli/sub/deep',
      '/cli',
      '/cli/eph',
      '/cli/eseq-0000000002',
      '/cli/seq-0000000001',
      '/cli/sub',
      '/cli/sub/deep',
      'Node not empty: /cli/sub',
      '[eph, eseq-0000000002, seq-0000000001]',
      'Node does not exist: /cli/sub',
    ]);

    expect(section(run, 5)).toEqual([
      'Created /cli/v',
      'version No is not valid : /cli/v',
      'version No is not valid : /cli/v',
      'v1',
      'Node does not exist: /cli/v',
    ]);

    expect(section(run, 6)).toEqual([
      'Node already exists: /cli',
      'Node not empty: /cli',
      'Node does not exist: /nonexistent',
      'Node does not exist: /nope/x',
      'Ephemerals cannot have children: /cli/eph/child',
      'Node does not exist: /nothere',
      'Node does not exist: /nothere',
    ]);
    expect(run.events).toEqual(['WatchedEvent state:SyncConnected type:None path:null', 'WatchedEvent state:Closed type:None path:null']);

    // zkCli's session closed on quit: its ephemerals are gone.
    const after = await runZkCli(server, ['ls /cli']);
    expect(after.lines).toEqual(['[seq-0000000001]']);
  }, 120_000);

  it('getAcl/setAcl with world and digest ACLs and addauth', async () => {
    const bob = digestId('bob', 'pw');
    const run = await runZkCli(server, [
      'create /acl "data"',
      'getAcl /acl',
      mark(1),
      'addauth digest alice:secret',
      'setAcl /acl auth:alice:secret:cdrwa',
      'getAcl /acl',
      mark(2),
      `setAcl /acl digest:${bob}:cdrwa,world:anyone:r`,
      'getAcl /acl',
      'get /acl',
      'set /acl "nope"',
      'create /acl/child',
      'getAcl -s /acl',
      mark(3),
      'addauth digest bob:pw',
      'getAcl /acl',
      'set /acl "by bob"',
      'setAcl -v 5 /acl world:anyone:cdrwa',
      'setAcl -s /acl world:anyone:cdrwa',
      'getAcl /acl',
      mark(4),
      'create /acl/ip "" ip:127.0.0.1:cdrwa',
      'getAcl /acl/ip',
      'create /acl/other "" ip:10.9.8.7:cdrwa',
      'get /acl/other',
      'create /acl/bad "" foo:bar:cdrwa',
      'stat /acl/bad',
      mark(5),
    ]);
    expect(section(run, 1)).toEqual(['Created /acl', "'world,'anyone", ': cdrwa']);
    expect(section(run, 2)).toEqual(["'digest,'" + digestId('alice', 'secret'), ': cdrwa']);
    const s3 = section(run, 3);
    // alice has no ADMIN on the node any more: digests are shown masked.
    expect(s3.slice(0, 9)).toEqual([
      "'digest,'bob:x",
      ': cdrwa',
      "'world,'anyone",
      ': r',
      'data',
      'Insufficient permission : /acl',
      'Insufficient permission : /acl/child',
      "'digest,'bob:x",
      ': cdrwa',
    ]);
    expect(s3.slice(9, 11)).toEqual(["'world,'anyone", ': r']);
    expect(parseStat(s3, 11)).toMatchObject({ aclVersion: 2, dataVersion: 0, numChildren: 0 });
    expect(s3).toHaveLength(11 + STAT_LINES);

    const s4 = section(run, 4);
    expect(s4.slice(0, 5)).toEqual(["'digest,'" + bob, ': cdrwa', "'world,'anyone", ': r', 'version No is not valid : /acl']);
    expect(parseStat(s4, 5)).toMatchObject({ aclVersion: 3, dataVersion: 1 });
    expect(s4.slice(5 + STAT_LINES)).toEqual(["'world,'anyone", ': cdrwa']);

    expect(section(run, 5)).toEqual([
      'Created /acl/ip',
      "'ip,'127.0.0.1",
      ': cdrwa',
      'Created /acl/other',
      'Insufficient permission : /acl/other',
      'KeeperErrorCode = InvalidACL for /acl/bad',
      'Acl is not valid : /acl/bad',
      'Node does not exist: /acl/bad',
    ]);
  }, 120_000);

  it('watches (get -w, ls -w, stat -w, addWatch, removewatches), sync, whoami, getEphemerals, getAllChildrenNumber, create -c', async () => {
    const run = await runZkCli(server, [
      'create /w "x"',
      'create -c /w/container',
      'create /w/container/child',
      'create -e /w/e1',
      'create -e /w/e2',
      'getEphemerals /w',
      'getAllChildrenNumber /w',
      'whoami',
      'addauth digest alice:secret',
      'whoami',
      'sync /w',
      mark(1),
      'get -w /w',
      'set /w "y"',
      'ls -w /w',
      'create /w/new',
      'stat -w /w/later',
      'create /w/later',
      'addWatch /w/p',
      'create /w/p',
      'set /w/p "1"',
      'addWatch -m PERSISTENT_RECURSIVE /w/r',
      'create /w/r',
      'create /w/r/deep',
      'removewatches /w/r',
      'create /w/r/deeper',
      'delete /w/container/child',
      mark(2),
    ]);
    const s1 = section(run, 1);
    expect(s1.slice(0, 5)).toEqual(['Created /w', 'Created /w/container', 'Created /w/container/child', 'Created /w/e1', 'Created /w/e2']);
    expect(s1[5]).toMatch(/^\[\/w\/e[12], \/w\/e[12]\]$/);
    expect(s1[6]).toBe('4');
    expect(s1.slice(7, 10)).toEqual(['Auth scheme: User', 'ip: 127.0.0.1', 'Auth scheme: User']);
    expect(s1.slice(10, 12).sort()).toEqual(['digest: alice', 'ip: 127.0.0.1']);
    expect(s1.slice(12)).toEqual(['Sync is OK']);

    expect(section(run, 2)).toEqual([
      'x',
      '[container, e1, e2]',
      'Created /w/new',
      'Node does not exist: /w/later',
      'Created /w/later',
      'Created /w/p',
      'Created /w/r',
      'Created /w/r/deep',
      'Created /w/r/deeper',
    ]);
    expect(run.events).toEqual([
      'WatchedEvent state:SyncConnected type:None path:null',
      'WatchedEvent state:SyncConnected type:NodeDataChanged path:/w',
      'WatchedEvent state:SyncConnected type:NodeChildrenChanged path:/w',
      'WatchedEvent state:SyncConnected type:NodeCreated path:/w/later',
      'WatchedEvent state:SyncConnected type:NodeCreated path:/w/p',
      'WatchedEvent state:SyncConnected type:NodeDataChanged path:/w/p',
      'WatchedEvent state:SyncConnected type:NodeCreated path:/w/r',
      'WatchedEvent state:SyncConnected type:NodeCreated path:/w/r/deep',
      'WatchedEvent state:SyncConnected type:PersistentWatchRemoved path:/w/r',
      'WatchedEvent state:Closed type:None path:null',
    ]);

    // The container lost its last child: the server removes it on its own.
    // (ZooKeeper looks every znode.container.checkIntervalMs, 60 s by default;
    // Zooid's leader every half tick.)
    const check = new NzkClient(zoo.connectString);
    await check.connect();
    try {
      await waitFor('container removal', async () => (await check.exists('/w/container')) === null, zoo.zooid ? 15_000 : 130_000, 100);
      expect((await check.getChildren('/w')).children.sort()).toEqual(['later', 'new', 'p', 'r']);
    } finally {
      await check.close();
    }
  }, 180_000);

  it('setquota/listquota/delquota: the server keeps the quota stats', async () => {
    const run = await runZkCli(server, [
      'create /quota "ab"',
      'create /quota/a "123"',
      'setquota -n 5 /quota',
      'listquota /quota',
      mark(1),
      'create /quota/b "xy"',
      'set /quota/a "1"',
      'delete /quota/b',
      'create /quota/a/x',
      'create /quota-not "outside"',
      'listquota /quota',
      'setquota -n 2 /quota/a',
      mark(2),
      'delquota -n /quota',
      'listquota /quota',
      'delquota /quota',
      'listquota /quota',
      mark(3),
    ]);
    expect(section(run, 1)).toEqual([
      'Created /quota',
      'Created /quota/a',
      'absolute path is /zookeeper/quota/quota/zookeeper_limits',
      'Output quota for /quota count=5,bytes=-1=;byteHardLimit=-1;countHardLimit=-1',
      'Output stat for /quota count=2,bytes=5',
    ]);
    expect(section(run, 2)).toEqual([
      'Created /quota/b',
      'Created /quota/a/x',
      'Created /quota-not',
      'absolute path is /zookeeper/quota/quota/zookeeper_limits',
      'Output quota for /quota count=5,bytes=-1=;byteHardLimit=-1;countHardLimit=-1',
      'Output stat for /quota count=3,bytes=3',
      '/quota/a has a parent /quota which has a quota',
    ]);
    expect(section(run, 3)).toEqual([
      'absolute path is /zookeeper/quota/quota/zookeeper_limits',
      'Output quota for /quota count=-1,bytes=-1=;byteHardLimit=-1;countHardLimit=-1',
      'Output stat for /quota count=3,bytes=3',
      'absolute path is /zookeeper/quota/quota/zookeeper_limits',
      'quota for /quota does not exist.',
    ]);
  }, 120_000);

  it('nc: ruok answers imok, isro rw; srst, crst and reqs (the seeds list them)', async () => {
    expect(await nc('ruok')).toBe('imok');
    expect(await nc('isro')).toBe('rw');
    expect(await nc('srst')).toBe('Server stats reset.\n');
    expect(Number((await nc('srvr')).match(/\nReceived: (\d+)\n/)?.[1])).toBeLessThan(3);
    expect(await nc('crst')).toBe('Connection stats reset.\n');
    expect(await nc('reqs')).toBe('');
  });

  it('four-letter words show ZooKeeper-shaped output for live sessions, ephemerals and watches', async () => {
    const holder = new NzkClient(zoo.connectString);
    await holder.connect();
    try {
      await holder.create('/flw');
      await holder.create('/flw/eph', null, undefined, CreateMode.EPHEMERAL);
      await holder.getData('/flw', () => undefined);
      await holder.getChildren('/flw', () => undefined);
      await holder.exists('/flw/missing', () => undefined);
      const sid = '0x' + holder.sessionId.readBigUInt64BE(0).toString(16);

      const srvr = await nc('srvr');
      expect(srvr).toMatch(/^Zookeeper version: 3\.8\.\d+-\S*, built on .+\n/);
      expect(srvr).toMatch(/\nLatency min\/avg\/max: \d+\/[\d.]+\/\d+\n/);
      expect(srvr).toMatch(/\nReceived: \d+\n/);
      expect(srvr).toMatch(/\nSent: \d+\n/);
      expect(srvr).toMatch(/\nConnections: [1-9]\d*\n/);
      expect(srvr).toMatch(/\nOutstanding: \d+\n/);
      expect(srvr).toMatch(/\nZxid: 0x[0-9a-f]+\n/);
      expect(srvr).toContain('\nMode: standalone\n');
      const nodeCount = Number(srvr.match(/\nNode count: (\d+)\n/)?.[1]);
      expect(nodeCount).toBeGreaterThan(5);

      const stat = await nc('stat');
      expect(stat).toMatch(/^Zookeeper version: 3\.8\./);
      expect(stat).toContain('\nClients:\n');
      expect(stat).toMatch(/\nClients:\n( \/127\.0\.0\.1:\d+\[[01]\]\(queued=\d+,recved=\d+,sent=\d+\)\n)* \/127\.0\.0\.1:\d+\[1\]\(queued=\d+,recved=\d+,sent=\d+\)\n/);
      expect(stat).toContain('\nMode: standalone\n');
      expect(stat).toContain(`\nNode count: ${nodeCount}\n`);

      const mntr = Object.fromEntries(
        (await nc('mntr'))
          .trim()
          .split('\n')
          .map((l) => l.split('\t') as [string, string]),
      );
      expect(mntr.zk_version).toMatch(/^3\.8\./);
      expect(mntr.zk_server_state).toBe('standalone');
      expect(Number(mntr.zk_znode_count)).toBe(nodeCount);
      expect(Number(mntr.zk_ephemerals_count)).toBeGreaterThanOrEqual(1);
      expect(Number(mntr.zk_watch_count)).toBeGreaterThanOrEqual(3);
      expect(Number(mntr.zk_num_alive_connections)).toBeGreaterThanOrEqual(1);
      expect(Number(mntr.zk_global_sessions)).toBeGreaterThanOrEqual(1);
      for (const k of ['zk_avg_latency', 'zk_max_latency', 'zk_min_latency', 'zk_packets_received', 'zk_packets_sent', 'zk_outstanding_requests', 'zk_approximate_data_size', 'zk_open_file_descriptor_count']) {
        expect(mntr[k], k).toMatch(/^\d+(\.\d+)?$/);
      }

      const cons = await nc('cons');
      const line = cons.split('\n').find((l) => l.includes(`sid=${sid},`));
      expect(line, cons).toMatch(/^ \/127\.0\.0\.1:\d+\[1\]\(queued=\d+,recved=\d+,sent=\d+,sid=0x[0-9a-f]+,.*\)$/);
      const fields = Object.fromEntries(line!.slice(line!.indexOf('(') + 1, -1).split(',').map((f) => f.split('=') as [string, string]));
      expect(fields.to).toBe('10000');
      expect(fields.lzxid).toMatch(/^0x[0-9a-f]+$/);
      expect(Number(fields.est)).toBeGreaterThan(Date.now() - 120_000);
      for (const k of ['llat', 'minlat', 'avglat', 'maxlat']) expect(fields[k], k).toMatch(/^\d+(\.\d+)?$/);

      const dump = await nc('dump');
      expect(dump).toMatch(/^SessionTracker dump:\n/);
      expect(dump).toContain('ephemeral nodes dump:\n');
      expect(dump).toMatch(/Sessions with Ephemerals \([1-9]\d*\):\n/);
      expect(dump).toContain(`${sid}:\n\t/flw/eph\n`);

      expect(await nc('wchs')).toMatch(/^[1-9]\d* connections watching [1-9]\d* paths\nTotal watches:[1-9]\d*\n$/);
      const wchc = await nc('wchc');
      expect(wchc).toMatch(new RegExp(`${sid}\\n(\\t/\\S+\\n)*\\t/flw\\n`));
      expect(wchc).toContain('\t/flw/missing\n');
      const wchp = await nc('wchp');
      expect(wchp).toMatch(new RegExp(`/flw\\n\\t${sid}\\n`));
      expect(wchp).toMatch(new RegExp(`/flw/missing\\n\\t${sid}\\n`));

      const conf = await nc('conf');
      expect(conf).toContain(`clientPort=${port}\n`);
      expect(conf).toMatch(/\ndataDir=\S+\n/);
      expect(conf).toContain('\ntickTime=500\n');
      expect(conf).toContain('\nminSessionTimeout=1000\n');
      expect(conf).toContain('\nmaxSessionTimeout=10000\n');

      const envi = await nc('envi');
      expect(envi).toMatch(/^Environment:\n/);
      expect(envi).toMatch(/\nzookeeper\.version=3\.8\.\d+/);
      expect(envi).toMatch(/\nhost\.name=\S+\n/);
      expect(envi).toMatch(/\nos\.name=\S+\n/);

      expect(await nc('dirs')).toMatch(/^datadir_size: \d+\nlogdir_size: [1-9]\d*\n$/);

      // kazoo, zkCli and others parse these: the counts must move with the tree.
      await holder.remove('/flw/eph');
      await waitFor('ephemeral count to drop', async () => !(await nc('dump')).includes('/flw/eph'), 10_000);
      const mntr2 = await nc('mntr');
      expect(Number(mntr2.match(/zk_znode_count\t(\d+)/)?.[1])).toBe(nodeCount - 1);
    } finally {
      await holder.close();
    }
  }, 60_000);
});
