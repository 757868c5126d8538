/**
 * `zooid shell [connect-string]` — an interactive ZooKeeper shell in the
 * manner of zkCli.sh, on @zooid/client. Interactive on a terminal (readline
 * history, TAB completion of commands and of paths asked from the server,
 * watch events printed as they come); `-c "cmd"` runs commands (one per
 * line) and exits non-zero on the first failure; with stdin not a terminal
 * it runs the lines it reads.
 */
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname } from 'node:path';
import { clearLine, createInterface, cursorTo, type Interface } from 'node:readline';
import { parseArgs } from 'node:util';
import { ZooKeeperClient, formatEvent, type ClientOptions, type WatchedEvent } from '@zooid/client';
import type { FlagSpec } from './args.js';
import { UsageError } from './args.js';
import { startProgress, type Progress } from '@zooid/runtime/progress';
import { COMMANDS, COMMAND_NAMES, type ShellContext } from './shell-commands.js';
import { ShellError, errorMessage, tokenize } from './shell-format.js';

export const shellSpec: FlagSpec = {
  command: { type: 'string', describe: 'run these commands (one per line; also -c) and exit, non-zero on the first failure' },
  server: { type: 'string', describe: 'connect string, as zkCli.sh takes it (also -server); the positional argument wins' },
  'session-timeout': { type: 'string', default: '30000', describe: 'requested session timeout in ms' },
  'connect-timeout': { type: 'string', default: '15000', describe: 'give up when no server answers within this many ms' },
  tls: { type: 'boolean', describe: 'connect to a TLS client port (secureClientPort)' },
  'tls-ca': { type: 'string', describe: 'PEM CA the server certificate must chain to (default: the system CAs)' },
  'tls-cert': { type: 'string', describe: 'PEM client certificate, for servers that ask for one' },
  'tls-key': { type: 'string', describe: 'PEM key of --tls-cert' },
};

export const SHELL_SUMMARY = 'An interactive ZooKeeper shell like zkCli.sh: zooid shell [host:port,...] [-c "cmd"] (default 127.0.0.1:2181).';

const HISTORY_LIMIT = 1000;
/** Bound on the server query behind a TAB, so a slow server never hangs the prompt. */
const COMPLETION_TIMEOUT_MS = 2000;

interface ShellOptions {
  connectString: string;
  sessionTimeout: number;
  connectTimeout: number;
  tls: ClientOptions['tls'];
  interactive: boolean;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

class Shell implements ShellContext {
  printWatches = true;
  readonly history: string[] = [];
  quitting = false;
  /** While a command runs, events print straight out instead of above the prompt. */
  busy = false;
  rl: Interface | undefined;
  private zk: ZooKeeperClient | undefined;

  constructor(private readonly opts: ShellOptions) {}

  get connectString(): string {
    return this.opts.connectString;
  }

  client(): ZooKeeperClient {
    if (!this.zk) throw new ShellError('Not connected: use connect host:port');
    return this.zk;
  }

  out(text: string): void {
    this.opts.stdout.write(text + '\n');
  }

  err(text: string): void {
    this.opts.stderr.write(text + '\n');
  }

  async connect(connectString?: string): Promise<void> {
    if (connectString) this.opts.connectString = connectString;
    const old = this.zk;
    this.zk = undefined;
    await old?.close();
    const zk = new ZooKeeperClient(this.opts.connectString, { sessionTimeout: this.opts.sessionTimeout, tls: this.opts.tls, watcher: (e) => this.onEvent(e) });
    this.zk = zk;
    await zk.connect(this.opts.connectTimeout);
  }

  async close(): Promise<void> {
    await this.zk?.close();
  }

  quit(): void {
    this.quitting = true;
  }

  state(): string {
    switch (this.zk?.state) {
      case 'connected':
        return 'CONNECTED';
      case 'connecting':
      case 'idle':
        return 'CONNECTING';
      case 'authFailed':
        return 'AUTH_FAILED';
      default:
        return 'CLOSED';
    }
  }

  prompt(): string {
    return `[zk: ${this.opts.connectString}(${this.state()}) ${this.history.length}] `;
  }

  /** zkCli's watcher: `WATCHER::` then the event, each after an empty line. */
  private onEvent(e: WatchedEvent): void {
    if (!this.printWatches) return;
    // Session events matter to a person at the prompt, not to a script's output.
    if (e.type === 'None' && !this.opts.interactive) return;
    this.printAbove(`\nWATCHER::\n\n${formatEvent(e)}`);
  }

  /** Prints a line without mangling what is being typed at the prompt. */
  private printAbove(text: string): void {
    const rl = this.rl;
    if (!rl || this.busy) {
      this.out(text);
      return;
    }
    clearLine(this.opts.stdout, 0);
    cursorTo(this.opts.stdout, 0);
    this.out(text);
    rl.prompt(true);
  }

  progress(label: string, total: number, unit: string): Progress {
    return startProgress({ label, total, unit, stream: this.opts.stderr });
  }

  /** Runs one line; false when it failed (the error is already printed). */
  async run(line: string): Promise<boolean> {
    const words = tokenize(line);
    if (words.length === 0) return true;
    const [name, ...args] = words as [string, ...string[]];
    this.history.push(line.trim());
    const cmd = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
    if (!cmd) {
      this.err(`Command not found: ${name} (type help for the list)`);
      return false;
    }
    try {
      await cmd.run(this, args, line);
      return true;
    } catch (err) {
      const msg = err instanceof ShellError ? err.message : errorMessage(err);
      if (msg) this.err(msg);
      return false;
    }
  }

  /** TAB: command names for the first word, else the children of the typed path's parent. */
  completer = (line: string, callback: (err: null, result: [string[], string]) => void): void => {
    const token = /(\S*)$/.exec(line)![1]!;
    const before = line.slice(0, line.length - token.length);
    if (before.trim() === '') {
      callback(null, [COMMAND_NAMES.filter((n) => n !== 'exit' && n.startsWith(token)), token]);
      return;
    }
    if (!token.startsWith('/') || this.zk?.state !== 'connected') {
      callback(null, [[], token]);
      return;
    }
    const cut = token.lastIndexOf('/');
    const parent = cut === 0 ? '/' : token.slice(0, cut);
    const prefix = token.slice(cut + 1);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<string[]>((resolve) => (timer = setTimeout(() => resolve([]), COMPLETION_TIMEOUT_MS)));
    Promise.race([this.zk.getChildren(parent), timeout])
      .catch(() => [] as string[])
      .then((children) => {
        clearTimeout(timer);
        const hits = children
          .filter((c) => c.startsWith(prefix))
          .sort()
          .map((c) => (parent === '/' ? `/${c}` : `${parent}/${c}`));
        callback(null, [hits, token]);
      });
  };
}

function historyFile(): string | undefined {
  const env = process.env['ZOOID_SHELL_HISTORY'];
  if (env !== undefined) return env === '' ? undefined : env;
  return `${homedir()}/.zooid_shell_history`;
}

function loadHistory(file: string | undefined): string[] {
  if (!file) return [];
  try {
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(-HISTORY_LIMIT).reverse();
  } catch {
    return [];
  }
}

function saveHistoryLine(file: string | undefined, line: string): void {
  if (!file) return;
  try {
    mkdirSync(dirname(file), { recursive: true });
    appendFileSync(file, line + '\n');
  } catch {
    // History is a convenience; a read-only home must not break the shell.
  }
}

async function interactive(sh: Shell, stdin: NodeJS.ReadStream, stdout: NodeJS.WriteStream): Promise<void> {
  const file = historyFile();
  const rl = createInterface({ input: stdin, output: stdout, terminal: true, completer: sh.completer, history: loadHistory(file), historySize: HISTORY_LIMIT });
  sh.rl = rl;
  rl.on('SIGINT', () => {
    // Like a shell: Ctrl-C drops the line being typed; quit or Ctrl-D leave.
    rl.write(null, { ctrl: true, name: 'e' });
    rl.write(null, { ctrl: true, name: 'u' });
    stdout.write('^C\n');
    rl.setPrompt(sh.prompt());
    rl.prompt();
  });
  rl.setPrompt(sh.prompt());
  rl.prompt();
  for await (const line of rl) {
    if (line.trim()) saveHistoryLine(file, line.trim());
    sh.busy = true;
    await sh.run(line);
    sh.busy = false;
    if (sh.quitting) break;
    rl.setPrompt(sh.prompt());
    rl.prompt();
  }
  sh.rl = undefined;
  rl.close();
}

/** Lines from a pipe or file: every line runs; the exit code says whether any failed. */
async function piped(sh: Shell, stdin: NodeJS.ReadStream): Promise<boolean> {
  const rl = createInterface({ input: stdin, terminal: false });
  let ok = true;
  for await (const line of rl) {
    if (!(await sh.run(line))) ok = false;
    if (sh.quitting) break;
  }
  rl.close();
  return ok;
}

/** --tls and its files; any of the files implies --tls. */
function tlsOf(v: { tls?: boolean; 'tls-ca'?: string; 'tls-cert'?: string; 'tls-key'?: string }): ClientOptions['tls'] {
  if (!v.tls && !v['tls-ca'] && !v['tls-cert']) return undefined;
  if (Boolean(v['tls-cert']) !== Boolean(v['tls-key'])) throw new UsageError('--tls-cert and --tls-key go together');
  const read = (f: string | undefined) => (f ? readFileSync(f) : undefined);
  return { ca: read(v['tls-ca']), cert: read(v['tls-cert']), key: read(v['tls-key']) };
}

export async function shell(argv: string[]): Promise<void> {
  // zkCli spells it -server; node's parser wants --server.
  const args = argv.map((a) => (a === '-server' ? '--server' : a));
  const { values, positionals } = parseArgs({
    args,
    options: {
      command: { type: 'string', short: 'c' },
      server: { type: 'string' },
      'session-timeout': { type: 'string' },
      'connect-timeout': { type: 'string' },
      tls: { type: 'boolean' },
      'tls-ca': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length > 1) throw new UsageError(`one connect string expected, got ${positionals.join(' ')}`);
  const num = (name: 'session-timeout' | 'connect-timeout') => {
    const v = Number(values[name] ?? shellSpec[name]!.default);
    if (!Number.isInteger(v) || v <= 0) throw new UsageError(`--${name} must be a positive integer`);
    return v;
  };
  const stdin = process.stdin;
  const stdout = process.stdout;
  const stderr = process.stderr;
  const command = values.command;
  const isInteractive = command === undefined && Boolean(stdin.isTTY);
  const sh = new Shell({
    connectString: positionals[0] ?? values.server ?? '127.0.0.1:2181',
    sessionTimeout: num('session-timeout'),
    connectTimeout: num('connect-timeout'),
    tls: tlsOf(values),
    interactive: isInteractive,
    stdout,
    stderr,
  });
  if (isInteractive) stdout.write(`Connecting to ${sh.connectString}\n`);
  try {
    await sh.connect();
  } catch (err) {
    stderr.write(`${errorMessage(err)}\n`);
    await sh.close();
    process.exitCode = 1;
    return;
  }
  let ok = true;
  try {
    if (command !== undefined) {
      for (const line of command.split('\n')) {
        if (!(await sh.run(line))) {
          ok = false;
          break;
        }
        if (sh.quitting) break;
      }
    } else if (isInteractive) {
      await interactive(sh, stdin, stdout);
    } else {
      ok = await piped(sh, stdin);
    }
  } finally {
    await sh.close();
  }
  if (!ok) process.exitCode = 1;
}
