/**
 * `zooid shell` against a real standalone Zooid: every command through
 * `-c` with its output and exit code, lines piped on stdin, and an
 * interactive session in a real pseudo-terminal (util-linux `script`):
 * typing, TAB completion of a path and a command, history recall, a watch
 * event arriving at the prompt, a deleteall progress bar, quit. Waits are
 * on what the screen shows, with deadlines.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ZooKeeperClient } from '@zooid/client';
import { ZOOID_BIN } from '@zooid/cli';
import { startZooKeeper, type TestServer } from '../libs/client/test/servers.js';
import { startStandalone, waitFor, type Standalone } from './harness.js';

let zoo: Standalone;
let zk: ZooKeeperClient;
const historyDir = mkdtempSync(join(tmpdir(), 'zooid-shell-test-'));
// TZ=UTC: zkCli and the shell print dates in the local zone, and the comparison below wants one zone.
const env = { ...process.env, ZOOID_SHELL_HISTORY: join(historyDir, 'history'), NO_COLOR: '1', TZ: 'UTC' };

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `zooid shell <connect> ...args`, feeding `input` on stdin, and collects its output. */
function runShell(args: string[], input = ''): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [ZOOID_BIN, 'shell', ...args], { stdio: ['pipe', 'pipe', 'pipe'], env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** `zooid shell <standalone> -c "<lines>"`. */
const sh = (...lines: string[]) => runShell([zoo.connectString, '-c', lines.join('\n')]);

const STAT_LINES = [
  /^cZxid = 0x[0-9a-f]+$/,
  /^ctime = (Mon|Tue|Wed|Thu|Fri|Sat|Sun) (Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) \d\d \d\d:\d\d:\d\d \S+ \d{4}$/,
  /^mZxid = 0x[0-9a-f]+$/,
  /^mtime = \w{3} \w{3} \d\d \d\d:\d\d:\d\d \S+ \d{4}$/,
  /^pZxid = 0x[0-9a-f]+$/,
  /^cversion = \d+$/,
  /^dataVersion = \d+$/,
  /^aclVersion = \d+$/,
  /^ephemeralOwner = 0x[0-9a-f]+$/,
  /^dataLength = \d+$/,
  /^numChildren = \d+$/,
];

function expectStat(lines: string[], fields: Record<string, string> = {}): void {
  expect(lines.length).toBe(11);
  lines.forEach((l, i) => expect(l).toMatch(STAT_LINES[i]!));
  for (const [k, v] of Object.entries(fields)) expect(lines).toContain(`${k} = ${v}`);
}

beforeAll(async () => {
  zoo = await startStandalone({ gateways: 1 });
  zk = await ZooKeeperClient.connect(zoo.connectString);
});

afterAll(async () => {
  await zk?.close();
  await zoo?.stop();
  rmSync(historyDir, { recursive: true, force: true });
});

describe('zooid shell -c', () => {
  it('create, get, set, stat, ls (-s, -R), delete: zkCli output, exit 0', async () => {
    const r = await sh('create /s1 hello', 'create /s1/a', 'create /s1/b ""', 'get /s1', 'get /s1/a', 'get /s1/b', 'ls /s1', 'ls -R /s1', 'set /s1 "two words"', 'get -s /s1');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.slice(0, 11)).toEqual(['Created /s1', 'Created /s1/a', 'Created /s1/b', 'hello', 'null', '', '[a, b]', '/s1', '/s1/a', '/s1/b', 'two words']);
    expectStat(lines.slice(11), { dataVersion: '1', numChildren: '2', dataLength: '9', cversion: '2', ephemeralOwner: '0x0' });

    const ls = await sh('ls /');
    expect(ls.stdout).toMatch(/^\[(.*, )?s1, (.*, )?zookeeper\]\n$/);
    const lss = await sh('ls -s /s1');
    const l2 = lss.stdout.trimEnd().split('\n');
    expect(l2[0]).toBe('[a, b]');
    expectStat(l2.slice(1), { numChildren: '2' });

    const st = await sh('stat /s1/a');
    expectStat(st.stdout.trimEnd().split('\n'), { dataLength: '0', numChildren: '0', dataVersion: '0' });
    const stat = (await zk.exists('/s1/a'))!;
    expect(st.stdout).toContain(`cZxid = 0x${stat.czxid.toString(16)}\n`);

    expect(await sh('delete /s1/a', 'set -v 1 /s1 v2', 'delete -v 0 /s1/b', 'ls /s1')).toEqual({ code: 0, stdout: '[]\n', stderr: '' });
    expect((await zk.getData('/s1')).data?.toString()).toBe('v2');
  });

  it('reports ZooKeeper errors like zkCli on stderr with exit 1, stopping at the failure', async () => {
    await zk.create('/e1', 'x');
    await zk.create('/e1/kid');
    const cases: [string, string][] = [
      ['get /e1/missing', 'Node does not exist: /e1/missing'],
      ['stat /e1/missing', 'Node does not exist: /e1/missing'],
      ['create /e1', 'Node already exists: /e1'],
      ['create /nope/child', 'Node does not exist: /nope/child'],
      ['set -v 9 /e1 y', 'version No is not valid : /e1'],
      ['delete /e1', 'Node not empty: /e1'],
      ['ls e1', 'Path must start with / character'],
      ['get /e1/', 'Path must not end with / character'],
      ['ls', 'ls [-s] [-w] [-R] path'],
      ['set /e1', 'set [-s] [-v version] path data'],
      ['frobnicate /e1', 'Command not found: frobnicate (type help for the list)'],
      ['removewatches /e1', 'KeeperErrorCode = No such watcher for /e1'],
      ['create -c -s /e1/c', '-c cannot be combined with -s or -e. Containers cannot be ephemeral or sequential.'],
      ['create -e -t 100 /e1/t', 'TTLs cannot be used with Ephemeral znodes'],
      ['create -t soon /e1/t', '-t argument must be a long value'],
      ['setAcl /e1 world:anyone', 'world:anyone does not have the form scheme:id:perm'],
    ];
    // Four shells at a time: each is a process with its own session.
    for (let i = 0; i < cases.length; i += 4) {
      const batch = cases.slice(i, i + 4);
      const results = await Promise.all(batch.map(([cmd]) => sh(cmd, 'create /e1/never-reached')));
      batch.forEach(([cmd, message], j) => {
        const r = results[j]!;
        expect({ cmd, code: r.code, stderr: r.stderr, stdout: r.stdout }).toEqual({ cmd, code: 1, stderr: `${message}\n`, stdout: '' });
      });
    }
    expect(await zk.exists('/e1/never-reached')).toBeNull();
  });

  it('create modes: ephemeral (gone with the shell), sequential, container, TTL, ACL argument', async () => {
    const r = await sh('create /m1', 'create -e /m1/eph', 'create -s /m1/seq- x', 'create -e -s /m1/eseq-', 'create -c /m1/cont', 'create -t 60000 /m1/ttl', 'create -s -t 60000 /m1/sttl-', 'create /m1/ro data world:anyone:r', 'getEphemerals /m1');
    expect(r.stderr).toBe('');
    expect(r.stdout.trimEnd().split('\n')).toEqual([
      'Created /m1',
      'Created /m1/eph',
      'Created /m1/seq-0000000001',
      'Created /m1/eseq-0000000002',
      'Created /m1/cont',
      'Created /m1/ttl',
      'Created /m1/sttl-0000000005',
      'Created /m1/ro',
      '[/m1/eph, /m1/eseq-0000000002]',
    ]);
    // The shell's session closed when it exited: its ephemerals are gone.
    expect((await zk.getChildren('/m1')).sort()).toEqual(['cont', 'ro', 'seq-0000000001', 'sttl-0000000005', 'ttl']);
    const ro = await sh('set /m1/ro other');
    expect(ro).toMatchObject({ code: 1, stderr: 'Insufficient permission : /m1/ro\n' });
  });

  it('getAcl / setAcl (world, digest, auth, -R, -s) and addauth', async () => {
    await zk.create('/acl1', 'secret');
    await zk.create('/acl1/kid');
    const digest = 'alice:' + createHash('sha1').update('alice:pw').digest('base64');
    expect((await sh('getAcl /acl1')).stdout).toBe("'world,'anyone\n: cdrwa\n");
    const set = await sh(`setAcl -R /acl1 digest:${digest}:cdrwa`);
    expect(set).toEqual({ code: 0, stdout: '', stderr: '' });
    expect((await sh('get /acl1')).stderr).toBe('Insufficient permission : /acl1\n');
    expect((await sh('get /acl1/kid')).stderr).toBe('Insufficient permission : /acl1/kid\n');
    const withAuth = await sh('addauth digest alice:pw', 'get /acl1', 'getAcl -s /acl1', 'setAcl -s /acl1 auth::rwa,world:anyone:r', 'getAcl /acl1', 'whoami');
    expect(withAuth.stderr).toBe('');
    const lines = withAuth.stdout.trimEnd().split('\n');
    expect(lines.slice(0, 3)).toEqual(['secret', `'digest,'${digest}`, ': cdrwa']);
    expectStat(lines.slice(3, 14), { aclVersion: '1' });
    expectStat(lines.slice(14, 25), { aclVersion: '2' });
    expect(lines.slice(25)).toEqual([`'digest,'${digest}`, ': rwa', "'world,'anyone", ': r', 'Auth scheme: User', 'ip: 127.0.0.1', 'digest: alice']);
    expect((await sh('get /acl1')).stdout).toBe('secret\n');
  });

  it('sync, getAllChildrenNumber, printwatches, history, help', async () => {
    await zk.create('/n1');
    await zk.create('/n1/a');
    await zk.create('/n1/a/b');
    const r = await sh('sync /n1', 'getAllChildrenNumber /n1', 'printwatches', 'printwatches off', 'printwatches', 'history');
    expect(r.stdout).toBe(
      [
        'Sync is OK',
        '2',
        'printwatches is on',
        'printwatches is off',
        '0 - sync /n1',
        '1 - getAllChildrenNumber /n1',
        '2 - printwatches',
        '3 - printwatches off',
        '4 - printwatches',
        '5 - history',
        '',
      ].join('\n'),
    );
    const help = await sh('help');
    expect(help.code).toBe(0);
    for (const cmd of ['ls [-s] [-w] [-R] path', 'create [-s] [-e] [-c] [-t ttl] path [data] [acl]', 'addWatch [-m mode] path', 'removewatches path [-c|-d|-a] [-l]', 'printwatches on|off', 'multi op [; op]...']) {
      expect(help.stdout).toContain(cmd);
    }
    expect(help.stdout).toContain('multi create /a x ; set /b y ; delete /c');
  });

  it('watches: get -w, ls -w, stat -w, addWatch, removewatches, printwatches off', async () => {
    await zk.create('/w1', 'a');
    const event = (type: string, path: string) => `\nWATCHER::\n\nWatchedEvent state:SyncConnected type:${type} path:${path}\n`;
    const one = await sh('get -w /w1', 'set /w1 b', 'set /w1 c', 'ls -w /w1', 'create /w1/k', 'stat -w /w1/k', 'delete /w1/k');
    expect(one.stderr).toBe('');
    expect(one.stdout).toBe(`a\n${event('NodeDataChanged', '/w1')}[]\n${event('NodeChildrenChanged', '/w1')}Created /w1/k\n${statBlock(one.stdout)}${event('NodeDeleted', '/w1/k')}`);

    const persistent = await sh('addWatch -m PERSISTENT /w1', 'set /w1 d', 'set /w1 e', 'removewatches /w1', 'set /w1 f');
    expect(persistent.stdout).toBe(event('NodeDataChanged', '/w1') + event('NodeDataChanged', '/w1') + event('PersistentWatchRemoved', '/w1'));
    const recursive = await sh('addWatch /w1', 'create /w1/deep', 'set /w1/deep x', 'removewatches /w1 -a', 'delete /w1/deep');
    expect(recursive.stdout).toBe(event('NodeCreated', '/w1/deep') + 'Created /w1/deep\n' + event('NodeDataChanged', '/w1/deep') + event('PersistentWatchRemoved', '/w1'));
    const quiet = await sh('printwatches off', 'get -w /w1', 'set /w1 g', 'removewatches /w1 -d');
    expect(quiet).toEqual({ code: 1, stdout: 'f\n', stderr: 'KeeperErrorCode = No such watcher for /w1\n' });
    expect((await sh('addWatch -m SOMETIMES /w1')).stderr).toBe('Unsupported mode: SOMETIMES\n');
  });

  it('multi: one transaction; every op reported, or the culprit and nothing applied', async () => {
    await zk.create('/mu', 'v0');
    await zk.create('/mu/old');
    const ok = await sh('multi create /mu/a "x y" ; set /mu v1 ; check /mu 1 ; delete /mu/old ; create -s /mu/s- ; set -v 1 /mu v2');
    expect(ok).toEqual({
      code: 0,
      stdout: ['Created /mu/a', 'Set /mu (dataVersion = 1)', 'Checked /mu', 'Deleted /mu/old', 'Created /mu/s-0000000002', 'Set /mu (dataVersion = 2)', ''].join('\n'),
      stderr: '',
    });
    expect((await zk.getData('/mu/a')).data?.toString()).toBe('x y');
    const bad = await sh('multi create /mu/b ; set -v 7 /mu never ; delete /mu/a', 'ls /mu');
    expect(bad).toEqual({ code: 1, stdout: '', stderr: 'version No is not valid : /mu\nmulti failed at op 2 (set /mu); no op was applied\n' });
    expect((await zk.getChildren('/mu')).sort()).toEqual(['a', 's-0000000002']);
    expect((await sh('multi create /mu/c ; frob /mu')).stderr).toBe('multi: unknown op frob; use create, set, delete or check\n');
    expect((await sh('multi')).stderr).toContain('multi op [; op]...');
  });

  it('deleteall: small subtrees quietly, big ones with progress lines when stderr is not a terminal', async () => {
    await zk.create('/d1');
    await zk.create('/d1/a');
    await zk.create('/d1/a/b');
    expect(await sh('deleteall /d1', 'ls /d1')).toEqual({ code: 1, stdout: '', stderr: 'Node does not exist: /d1\n' });
    await zk.create('/big');
    const creates: Promise<unknown>[] = [];
    for (let i = 0; i < 30; i++) {
      creates.push(zk.create(`/big/d${i}`));
      for (let j = 0; j < 20; j++) creates.push(zk.create(`/big/d${i}/n${j}`, 'x'));
    }
    await Promise.all(creates);
    const r = await sh('deleteall /big');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines[0]).toBe('deleteall /big: 0/631 deleted');
    expect(lines.at(-1)).toBe('deleteall /big: deleted 631 nodes');
    const steps = lines.slice(1, -1);
    expect(steps.length).toBeGreaterThanOrEqual(5);
    for (const s of steps) expect(s).toMatch(/^deleteall \/big: \d+\/631 deleted$/);
    expect(await zk.exists('/big')).toBeNull();
  });

  it('close, connect, redo', async () => {
    await zk.create('/r1', 'r');
    const r = await sh('get /r1', 'redo 0', 'close', `connect ${zoo.connectString}`, 'get /r1', 'history');
    expect(r).toEqual({
      code: 0,
      stdout: ['r', 'r', 'r', '0 - get /r1', '1 - get /r1', '2 - close', `3 - connect ${zoo.connectString}`, '4 - get /r1', '5 - history', ''].join('\n'),
      stderr: '',
    });
    const closed = await sh('close', 'get /r1');
    expect(closed.code).toBe(1);
    expect(closed.stderr).toMatch(/ConnectionLoss/);
    expect((await sh('redo 7')).stderr).toBe('Command index out of range\n');
  });

  it('reads commands from a pipe; exit code 1 if any failed', async () => {
    const ok = await runShell([zoo.connectString], 'create /p1 x\nget /p1\n\nls /p1\n');
    expect(ok).toEqual({ code: 0, stdout: 'Created /p1\nx\n[]\n', stderr: '' });
    const bad = await runShell([zoo.connectString], 'get /p1/none\nget /p1\n');
    expect(bad).toEqual({ code: 1, stdout: 'x\n', stderr: 'Node does not exist: /p1/none\n' });
    const zkcliStyle = await runShell(['-server', zoo.connectString, '-c', 'get /p1']);
    expect(zkcliStyle.stdout).toBe('x\n');
  });

  it('fails fast with exit 1 when no server answers, exit 2 on bad flags', async () => {
    const r = await runShell(['127.0.0.1:1', '--connect-timeout', '1000', '-c', 'ls /']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('could not connect to 127.0.0.1:1');
    const flags = await runShell(['--no-such-flag']);
    expect(flags.code).toBe(2);
  });
});

/** The 11 stat lines as they appear in `text` (their values are checked elsewhere). */
function statBlock(text: string): string {
  const m = /cZxid = [\s\S]*?numChildren = \d+\n/.exec(text);
  return m ? m[0] : '(no stat)';
}

// ---- interactive, in a real pseudo-terminal ----------------------------

/**
 * Enough of a terminal to read what the screen shows: printable text,
 * CR/LF, backspace, and the cursor and erase sequences readline emits.
 */
class Screen {
  private lines: string[][] = [[]];
  private row = 0;
  private col = 0;
  private pending = '';
  raw = '';

  feed(chunk: string): void {
    this.raw += chunk;
    const s = this.pending + chunk;
    this.pending = '';
    for (let i = 0; i < s.length; i++) {
      const ch = s[i]!;
      if (ch === '\x1b') {
        const rest = s.slice(i);
        const csi = /^\x1b\[([0-9;?]*)([@-~])/.exec(rest);
        if (csi) {
          this.csi(csi[1]!, csi[2]!);
          i += csi[0].length - 1;
        } else if (/^\x1b(\[[0-9;?]*)?$/.test(rest)) {
          this.pending = rest; // a sequence cut by the chunk boundary
          return;
        } else {
          i++; // a two-byte escape we do not need
        }
      } else if (ch === '\r') this.col = 0;
      else if (ch === '\n') this.moveRow(1);
      else if (ch === '\b') this.col = Math.max(0, this.col - 1);
      else if (ch >= ' ') {
        const line = this.line();
        while (line.length < this.col) line.push(' ');
        line[this.col++] = ch;
      }
    }
  }

  private line(): string[] {
    return (this.lines[this.row] ??= []);
  }

  private moveRow(n: number): void {
    this.row = Math.max(0, this.row + n);
    for (let r = 0; r <= this.row; r++) this.lines[r] ??= [];
  }

  private csi(params: string, cmd: string): void {
    const n = Number(params.split(';')[0] || '0');
    switch (cmd) {
      case 'G':
        this.col = Math.max(0, (n || 1) - 1);
        break;
      case 'C':
        this.col += n || 1;
        break;
      case 'D':
        this.col = Math.max(0, this.col - (n || 1));
        break;
      case 'A':
        this.moveRow(-(n || 1));
        break;
      case 'B':
        this.moveRow(n || 1);
        break;
      case 'K':
        if (n === 2) this.lines[this.row] = [];
        else this.line().length = Math.min(this.line().length, this.col);
        break;
      case 'J':
        this.line().length = Math.min(this.line().length, this.col);
        this.lines.length = this.row + 1;
        break;
    }
  }

  text(): string {
    return this.lines.map((l) => l.join('').trimEnd()).join('\n');
  }

  /** The line the cursor is on. */
  current(): string {
    return (this.lines[this.row] ?? []).join('').trimEnd();
  }
}

interface Pty {
  child: ChildProcess;
  screen: Screen;
  type(keys: string): void;
  waitScreen(re: RegExp, what?: string, ms?: number): Promise<void>;
  exited: Promise<number | null>;
}

/** `zooid shell` under util-linux `script`, which gives it a real pseudo-terminal. */
function startPty(connectString: string): Pty {
  const cmd = `stty cols 160 rows 50; exec ${process.execPath} ${ZOOID_BIN} shell ${connectString}`;
  const child = spawn('script', ['-qfec', cmd, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...env, TERM: 'xterm' } });
  const screen = new Screen();
  child.stdout!.on('data', (d: Buffer) => screen.feed(d.toString()));
  child.stderr!.on('data', (d: Buffer) => screen.feed(d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return {
    child,
    screen,
    type: (keys) => void child.stdin!.write(keys),
    waitScreen: (re, what = String(re), ms = 10_000) =>
      waitFor(`screen to show ${what}`, () => re.test(screen.text()), ms, 20).then(
        () => undefined,
        (err: Error) => {
          throw new Error(`${err.message}\n--- screen ---\n${screen.text()}`);
        },
      ),
    exited,
  };
}

describe('zooid shell in a terminal', () => {
  it('prompt, commands, TAB completion, history, a watch event at the prompt, deleteall progress, quit', async () => {
    await zk.create('/tty', 'hello');
    await zk.create('/tty/tab-target-node', 'completed');
    await zk.create('/tty/other');
    const port = zoo.ports[0]!;
    const prompt = (n: number) => `[zk: 127.0.0.1:${port}(CONNECTED) ${n}]`;
    const pty = startPty(`127.0.0.1:${port}`);
    try {
      await pty.waitScreen(/WatchedEvent state:SyncConnected type:None path:null/, 'the session event');
      await pty.waitScreen(new RegExp(`^${escape(prompt(0))}$`, 'm'), 'the first prompt');

      pty.type('ls /tty\r');
      await pty.waitScreen(/^\[other, tab-target-node\]$/m, 'ls output');
      await pty.waitScreen(new RegExp(`^${escape(prompt(1))}`, 'm'), 'prompt 1');

      // TAB completes a path from the server's children of its parent.
      pty.type('get /tty/tab');
      pty.type('\t');
      await waitFor('completion', () => pty.screen.current() === `${prompt(1)} get /tty/tab-target-node`, 10_000, 20).catch(() => {
        throw new Error(`no completion; screen:\n${pty.screen.text()}`);
      });
      pty.type('\r');
      await pty.waitScreen(/^completed$/m, 'the completed get');

      // TAB completes a command name.
      pty.type('sy');
      pty.type('\t');
      await waitFor('command completion', () => pty.screen.current() === `${prompt(2)} sync`, 10_000, 20);
      pty.type(' /tty\r');
      await pty.waitScreen(/^Sync is OK$/m, 'sync');

      // A watch event while the prompt waits: printed above it, zkCli style, the prompt drawn again.
      pty.type('get -w /tty\r');
      await pty.waitScreen(new RegExp(`^${escape(prompt(4))}$`, 'm'), 'prompt 4');
      pty.type('ls /t'); // half-typed when the event comes
      await zk.setData('/tty', 'changed');
      await pty.waitScreen(/WATCHER::\n\nWatchedEvent state:SyncConnected type:NodeDataChanged path:\/tty\n/, 'the watch event');
      await waitFor('the prompt and the half-typed line redrawn', () => pty.screen.current() === `${prompt(4)} ls /t`, 10_000, 20);
      pty.type('ty\r');
      await pty.waitScreen(new RegExp(`^${escape(prompt(5))}$`, 'm'), 'prompt 5');

      // Up arrow recalls the previous line (readline history).
      pty.type('\x1b[A');
      await waitFor('history recall', () => pty.screen.current() === `${prompt(5)} ls /tty`, 10_000, 20);
      pty.type('\x15'); // Ctrl-U: clear the recalled line
      pty.type('history\r');
      await pty.waitScreen(/^0 - ls \/tty\n1 - get \/tty\/tab-target-node\n2 - sync \/tty\n3 - get -w \/tty\n4 - ls \/tty\n5 - history$/m, 'history');

      // Errors go to the screen too, and the shell goes on.
      pty.type('get /tty/none\r');
      await pty.waitScreen(/^Node does not exist: \/tty\/none$/m, 'the error');

      // deleteall of a big subtree draws a progress bar on the terminal.
      const creates: Promise<unknown>[] = [];
      for (let i = 0; i < 520; i++) creates.push(zk.create(`/tty/other/n${i}`));
      await Promise.all(creates);
      pty.type('deleteall /tty\r');
      await pty.waitScreen(/^deleteall \/tty: deleted 523 nodes$/m, 'the deleteall summary', 30_000);
      expect(pty.screen.raw).toMatch(/deleteall \/tty \[#*\.*\] +\d+% \d+\/523 deleted/);
      expect(await zk.exists('/tty')).toBeNull();

      pty.type('quit\r');
      expect(await pty.exited).toBe(0);
    } finally {
      if (pty.child.exitCode === null) pty.child.kill('SIGKILL');
    }
  });
});

// ---- next to the real zkCli.sh -------------------------------------------

const ZKCLI = '/usr/share/zookeeper/bin/zkCli.sh';

/** What a session prints for `lines` piped on stdin, stdout and stderr in one stream, minus zkCli's banner and logging. */
function transcript(argv: string[], lines: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', '"$@" 2>&1', 'sh', ...argv], { stdio: ['pipe', 'pipe', 'ignore'], env: { ...env, CLIENT_JVMFLAGS: '-Dzookeeper.jmx.log4j.disable=true' } });
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', () =>
      resolve(
        out
          .split('\n')
          .filter((l) => !/^(Connecting to |Welcome to ZooKeeper|JLine support|WATCHER::$|WatchedEvent state:(SyncConnected|Closed) type:None|log4j:|SLF4J:|\s*$)/.test(l))
          .filter((l) => !/^\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d|^\[main|^\[.*\] (INFO|WARN)/.test(l))
          .join('\n'),
      ),
    );
    child.stdin!.end(lines.join('\n') + '\nquit\n');
  });
}

describe.skipIf(!existsSync(ZKCLI))('zooid shell next to zkCli.sh, both against Apache ZooKeeper 3.8', () => {
  let real: TestServer;
  let rzk: ZooKeeperClient;
  beforeAll(async () => {
    real = await startZooKeeper();
    rzk = await ZooKeeperClient.connect(real.connectString);
  });
  afterAll(async () => {
    await rzk?.close();
    await real?.stop();
  });

  it('prints what zkCli prints, for reads, errors and usage', async () => {
    await rzk.create('/cmp', 'hello');
    await rzk.create('/cmp/chain', 'c');
    await rzk.create('/cmp/chain/x');
    await rzk.create('/cmp/null', null);
    await rzk.create('/cmp/acl', 'a', { acl: [{ perms: 31, id: { scheme: 'digest', id: 'alice:' + createHash('sha1').update('alice:pw').digest('base64') } }, { perms: 1, id: { scheme: 'ip', id: '10.0.0.1' } }] });
    await rzk.setData('/cmp/null', null);
    const script = [
      'get /cmp',
      'get -s /cmp',
      'get /cmp/null',
      'stat /cmp/chain',
      'ls /cmp/chain',
      'ls -s /cmp/chain',
      'ls -R /cmp/chain',
      'getAcl /cmp/acl',
      'getAcl -s /cmp',
      'get /cmp/acl',
      'get /cmp/none',
      'stat /cmp/none',
      'ls /cmp/none',
      'getAllChildrenNumber /cmp',
      'getEphemerals /cmp',
      'sync /cmp',
      'whoami',
      'printwatches',
      'ls',
      'get',
      'set /cmp',
      'removewatches /cmp',
      'create /cmp',
      'create /none/x',
      'delete /cmp',
      'set -v 7 /cmp x',
      'create -c -s /cmp/c',
      'create -t soon /cmp/t',
      'create -e -t 100 /cmp/t',
      'ls cmp',
      'addauth digest alice:pw',
      'get /cmp/acl',
      'history',
    ];
    const ours = await transcript([process.execPath, ZOOID_BIN, 'shell', real.connectString], script);
    const theirs = await transcript([ZKCLI, '-server', real.connectString], script);
    expect(ours).toBe(theirs);
  });

  it('writes like zkCli: create modes, set, delete, setAcl give the same answers', async () => {
    const script = (root: string) => [
      `create ${root} x`,
      `create -s ${root}/s- y`,
      `create -s ${root}/s- y`,
      `create -c ${root}/c`,
      `create -t 60000 ${root}/t`,
      `create ${root}/k`,
      `set -v 9 ${root} z`,
      `set ${root} z`,
      `delete -v 3 ${root}/k`,
      `delete ${root}/k`,
      `delete ${root}/k`,
      `setAcl ${root}/c world:anyone:r`,
      `getAcl ${root}/c`,
      `create ${root}/c/x`,
      `create ${root}/r data world:anyone:cdr`,
      `getAcl ${root}/r`,
      `deleteall ${root}/nothing`,
      `ls ${root}`,
    ];
    const ours = await transcript([process.execPath, ZOOID_BIN, 'shell', real.connectString], script('/ours'));
    const theirs = await transcript([ZKCLI, '-server', real.connectString], script('/theirs'));
    expect(ours.replaceAll('/ours', '/ROOT')).toBe(theirs.replaceAll('/theirs', '/ROOT'));
  });
});

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
