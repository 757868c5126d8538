/**
 * The commands of `zooid shell`, with zkCli.sh's names, options and output.
 * Each takes the words of its line; a failure throws (a ShellError, or the
 * client's ZooKeeperError), which the shell prints on stderr the way zkCli
 * does.
 */
import {
  OPEN_ACL_UNSAFE,
  ZooKeeperError,
  op,
  parseAcl,
  type ACL,
  type AddWatchModeName,
  type CreateMode,
  type MultiResultItem,
  type Op,
  type WatcherTypeName,
  type ZooKeeperClient,
} from '@zooid/client';
import type { Progress } from '@zooid/runtime/progress';
import { ShellError, errorMessage, formatAcl, formatStat, javaList, parseOptions, splitOutsideQuotes, tokenize } from './shell-format.js';

export interface ShellContext {
  /** The session; throws a ShellError when there is none. */
  client(): ZooKeeperClient;
  out(text: string): void;
  err(text: string): void;
  printWatches: boolean;
  /** Commands entered so far, numbered from 0. */
  readonly history: string[];
  /** A bar on the shell's terminal, a few lines on stderr otherwise. */
  progress(label: string, total: number, unit: string): Progress;
  connect(connectString?: string): Promise<void>;
  close(): Promise<void>;
  quit(): void;
  /** Runs a line as if typed (for redo). */
  run(line: string): Promise<boolean>;
}

export interface Command {
  usage: string;
  run(ctx: ShellContext, words: string[], line: string): Promise<void>;
}

/** Subtrees at least this large get a progress report from deleteall. */
export const PROGRESS_THRESHOLD = 500;
/** Requests in flight at once while walking or deleting a subtree. */
const WINDOW = 1000;

function usage(cmd: string): never {
  throw new ShellError(`${cmd} ${COMMANDS[cmd]!.usage}`);
}

function intArg(value: string | true | undefined, what: string): number | undefined {
  if (value === undefined || value === true) return undefined;
  if (!/^-?\d+$/.test(value)) throw new ShellError(`${what} must be an integer, got ${value}`);
  return Number(value);
}

function aclArg(s: string): ACL[] {
  try {
    return parseAcl(s);
  } catch (err) {
    throw new ShellError((err as Error).message);
  }
}

/** Every path of the subtree at `root`, breadth first, children sorted; pipelined a level at a time. */
export async function listSubtree(zk: ZooKeeperClient, root: string): Promise<string[]> {
  const all = [root];
  let level = [root];
  while (level.length > 0) {
    const next: string[] = [];
    for (let i = 0; i < level.length; i += WINDOW) {
      const chunk = level.slice(i, i + WINDOW);
      const kids = await Promise.all(
        chunk.map((p) =>
          zk.getChildren(p).catch((err: unknown) => {
            // A node deleted while we walk simply has no children any more.
            if (err instanceof ZooKeeperError && err.code === 'NoNode' && p !== root) return [] as string[];
            throw err;
          }),
        ),
      );
      chunk.forEach((p, j) => {
        for (const k of kids[j]!.sort()) next.push(p === '/' ? `/${k}` : `${p}/${k}`);
      });
    }
    all.push(...next);
    level = next;
  }
  return all;
}

/**
 * Deletes `paths` in the order given, up to `window` at a time. The server
 * answers a session's requests in order, so a parent sent after its
 * children is deleted after them without waiting. Nodes already gone are
 * fine; the first other failure stops the run and is thrown.
 */
async function deleteInOrder(zk: ZooKeeperClient, paths: string[], window: number, onDone: (n: number) => void): Promise<void> {
  let done = 0;
  let failure: unknown;
  const inFlight = new Set<Promise<void>>();
  for (const p of paths) {
    if (failure) break;
    const call: Promise<void> = zk
      .delete(p)
      .catch((err: unknown) => {
        if (!(err instanceof ZooKeeperError && err.code === 'NoNode')) failure ??= err;
      })
      .then(() => {
        inFlight.delete(call);
        onDone(++done);
      });
    inFlight.add(call);
    if (inFlight.size >= window) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  if (failure) throw failure;
}

const modeOf = (e: boolean, s: boolean, c: boolean, t: boolean): CreateMode => {
  if (e && s) return 'EPHEMERAL_SEQUENTIAL';
  if (e) return 'EPHEMERAL';
  if (s) return t ? 'PERSISTENT_SEQUENTIAL_WITH_TTL' : 'PERSISTENT_SEQUENTIAL';
  if (c) return 'CONTAINER';
  return t ? 'PERSISTENT_WITH_TTL' : 'PERSISTENT';
};

/** create's words → an Op (shared by `create` and `multi`). */
function createOp(words: string[], cmd = 'create'): Extract<Op, { type: 'create' }> {
  const { flags, args } = parseOptions(words, 'sec', 't');
  if (args.length < 1 || args.length > 3) usage(cmd);
  const [e, s, c, t] = ['e', 's', 'c', 't'].map((f) => flags.has(f)) as [boolean, boolean, boolean, boolean];
  if (c && (e || s)) throw new ShellError('-c cannot be combined with -s or -e. Containers cannot be ephemeral or sequential.');
  let ttl: number | undefined;
  if (t) {
    const v = flags.get('t');
    if (typeof v !== 'string' || !/^-?\d+$/.test(v)) throw new ShellError('-t argument must be a long value');
    ttl = Number(v);
    if (e) throw new ShellError('TTLs cannot be used with Ephemeral znodes');
    if (c) throw new ShellError('TTLs cannot be used with Container znodes');
    if (ttl <= 0) throw new ShellError(`ttl must be positive: ${ttl}`);
  }
  const [path, data, acl] = args as [string, string | undefined, string | undefined];
  return op.create(path, data ?? null, { mode: modeOf(e, s, c, t), acl: acl ? aclArg(acl) : OPEN_ACL_UNSAFE, ttl }) as Extract<Op, { type: 'create' }>;
}

function opPath(o: Op): string {
  return o.path;
}

/** One op of the multi syntax: create / set / delete / check with their zkCli options. */
export function parseMultiOp(words: string[]): Op {
  const [name, ...rest] = words;
  switch (name) {
    case 'create':
      return createOp(rest, 'multi');
    case 'set':
    case 'setData': {
      const { flags, args } = parseOptions(rest, '', 'v');
      if (args.length !== 2) throw new ShellError(`multi: set [-v version] path data`);
      return op.setData(args[0]!, args[1]!, intArg(flags.get('v'), 'version') ?? -1);
    }
    case 'delete': {
      const { flags, args } = parseOptions(rest, '', 'v');
      if (args.length !== 1) throw new ShellError(`multi: delete [-v version] path`);
      return op.delete(args[0]!, intArg(flags.get('v'), 'version') ?? -1);
    }
    case 'check': {
      const { flags, args } = parseOptions(rest, '', 'v');
      const version = intArg(flags.get('v') ?? args[1], 'version');
      if (args.length < 1 || version === undefined) throw new ShellError(`multi: check [-v version] path | check path version`);
      return op.check(args[0]!, version);
    }
    default:
      throw new ShellError(`multi: unknown op ${name ?? '(none)'}; use create, set, delete or check`);
  }
}

function describeOp(o: Op): string {
  return `${o.type === 'setData' ? 'set' : o.type} ${o.path}`;
}

function describeResult(o: Op, r: MultiResultItem): string {
  switch (r.type) {
    case 'create':
      return `Created ${r.path}`;
    case 'setData':
      return `Set ${o.path} (dataVersion = ${r.stat.version})`;
    case 'delete':
      return `Deleted ${o.path}`;
    case 'check':
      return `Checked ${o.path}`;
    default:
      return `${describeOp(o)}: ${r.type}`;
  }
}

const WATCHER_TYPES: Record<string, WatcherTypeName> = { c: 'Children', d: 'Data', a: 'Any' };

export const COMMANDS: Record<string, Command> = {
  addWatch: {
    usage: '[-m mode] path # optional mode is one of [PERSISTENT, PERSISTENT_RECURSIVE] - default is PERSISTENT_RECURSIVE',
    async run(ctx, words) {
      const { flags, args } = parseOptions(words, '', 'm');
      if (args.length !== 1) usage('addWatch');
      const mode = (flags.get('m') ?? 'PERSISTENT_RECURSIVE') as string;
      if (mode !== 'PERSISTENT' && mode !== 'PERSISTENT_RECURSIVE') throw new ShellError(`Unsupported mode: ${mode}`);
      await ctx.client().addWatch(args[0]!, true, mode as AddWatchModeName);
    },
  },
  addauth: {
    usage: 'scheme auth',
    async run(ctx, words) {
      if (words.length < 1 || words.length > 2) usage('addauth');
      await ctx.client().addAuth(words[0]!, words[1] ?? '');
    },
  },
  close: {
    usage: '',
    async run(ctx) {
      await ctx.close();
    },
  },
  config: {
    usage: '[-w] [-s]',
    async run(ctx, words) {
      const { flags, args } = parseOptions(words, 'ws');
      if (args.length !== 0) usage('config');
      const { data, stat } = await ctx.client().getConfig(flags.has('w'));
      ctx.out(data === null ? '' : data.toString('utf8'));
      if (flags.has('s')) ctx.out(formatStat(stat));
    },
  },
  connect: {
    usage: 'host:port[,host:port...]',
    async run(ctx, words) {
      if (words.length > 1) usage('connect');
      await ctx.connect(words[0]);
    },
  },
  create: {
    usage: '[-s] [-e] [-c] [-t ttl] path [data] [acl]',
    async run(ctx, words) {
      const o = createOp(words);
      ctx.out(`Created ${await ctx.client().create(o.path, o.data, { mode: o.mode, acl: o.acl, ttl: o.ttl })}`);
    },
  },
  delete: {
    usage: '[-v version] path',
    async run(ctx, words) {
      const { flags, args } = parseOptions(words, '', 'v');
      if (args.length !== 1) usage('delete');
      await ctx.client().delete(args[0]!, intArg(flags.get('v'), 'version') ?? -1);
    },
  },
  deleteall: {
    usage: 'path [-b batch size]',
    async run(ctx, words) {
      const { flags, args } = parseOptions(words, '', 'b');
      if (args.length !== 1) usage('deleteall');
      const root = args[0]!;
      const batch = intArg(flags.get('b'), 'batch size') ?? WINDOW;
      if (batch <= 0) throw new ShellError('batch size must be positive');
      const zk = ctx.client();
      const paths = (await listSubtree(zk, root)).reverse();
      if (root === '/') paths.pop(); // the root itself stays
      const deletable = paths.filter((p) => p !== '/zookeeper' && !p.startsWith('/zookeeper/'));
      const big = deletable.length >= PROGRESS_THRESHOLD;
      const progress = big ? ctx.progress(`deleteall ${root}`, deletable.length, 'deleted') : undefined;
      try {
        await deleteInOrder(zk, deletable, batch, (n) => progress?.update(n));
      } catch (err) {
        progress?.end();
        throw err;
      }
      progress?.end(`deleteall ${root}: deleted ${deletable.length} nodes`);
    },
  },
  get: {
    usage: '[-s] [-w] path',
    async run(ctx, words) {
      const { flags, args } = parseOptions(words, 'sw');
      if (args.length !== 1) usage('get');
      const { data, stat } = await ctx.client().getData(args[0]!, flags.has('w'));
      ctx.out(data === null ? 'null' : data.toString('utf8'));
      if (flags.has('s')) ctx.out(formatStat(stat));
    },
  },
  getAcl: {
    usage: '[-s] path',
    async run(ctx, words) {
      const { flags, args } = parseOptions(words, 's');
      if (args.length !== 1) usage('getAcl');
      const { acl, stat } = await ctx.client().getACL(args[0]!);
      ctx.out(formatAcl(acl));
      if (flags.has('s')) ctx.out(formatStat(stat));
    },
  },
  getAllChildrenNumber: {
    usage: 'path',
    async run(ctx, words) {
      if (words.length !== 1) usage('getAllChildrenNumber');
      ctx.out(String(await ctx.client().getAllChildrenNumber(words[0]!)));
    },
  },
  getEphemerals: {
    usage: 'path',
    async run(ctx, words) {
      if (words.length > 1) usage('getEphemerals');
      ctx.out(javaList(await ctx.client().getEphemerals(words[0] ?? '/')));
    },
  },
  help: {
    usage: '',
    async run(ctx) {
      ctx.out(helpText());
    },
  },
  history: {
    usage: '',
    async run(ctx) {
      const h = ctx.history;
      for (let i = Math.max(0, h.length - 11); i < h.length; i++) ctx.out(`${i} - ${h[i]}`);
    },
  },
  ls: {
    usage: '[-s] [-w] [-R] path',
    async run(ctx, words) {
      const { flags, args } = parseOptions(words, 'swR');
      if (args.length !== 1) usage('ls');
      const zk = ctx.client();
      const path = args[0]!;
      if (flags.has('R')) {
        for (const p of await listSubtree(zk, path)) ctx.out(p);
        return;
      }
      const { children, stat } = await zk.getChildren2(path, flags.has('w'));
      ctx.out(javaList(children.sort()));
      if (flags.has('s')) ctx.out(formatStat(stat));
    },
  },
  multi: {
    usage: 'op [; op]... # all or nothing; op is one of create [-s] [-e] [-c] [-t ttl] path [data] [acl] | set [-v version] path data | delete [-v version] path | check path version',
    async run(ctx, _words, line) {
      const body = line.replace(/^\s*multi\b/, '');
      const ops = splitOutsideQuotes(body, ';')
        .map((part) => tokenize(part))
        .filter((w) => w.length > 0)
        .map(parseMultiOp);
      if (ops.length === 0) usage('multi');
      try {
        const results = await ctx.client().multi(ops);
        results.forEach((r, i) => ctx.out(describeResult(ops[i]!, r)));
      } catch (err) {
        if (!(err instanceof ZooKeeperError) || !err.results) throw err;
        const at = err.results.findIndex((r) => r.type === 'error' && r.rc !== 0);
        const culprit = ops[at]!;
        throw new ShellError(`${errorMessage(err, opPath(culprit))}\nmulti failed at op ${at + 1} (${describeOp(culprit)}); no op was applied`);
      }
    },
  },
  printwatches: {
    usage: 'on|off',
    async run(ctx, words) {
      if (words.length === 0) {
        ctx.out(`printwatches is ${ctx.printWatches ? 'on' : 'off'}`);
        return;
      }
      if (words.length !== 1 || (words[0] !== 'on' && words[0] !== 'off')) usage('printwatches');
      ctx.printWatches = words[0] === 'on';
    },
  },
  quit: {
    usage: '',
    async run(ctx) {
      ctx.quit();
    },
  },
  redo: {
    usage: 'cmdno',
    async run(ctx, words) {
      const n = intArg(words[0], 'cmdno');
      // The redo line itself is already the last history entry.
      const line = n === undefined ? undefined : ctx.history[n];
      if (line === undefined || n === ctx.history.length - 1) throw new ShellError('Command index out of range');
      // Like zkCli, the history keeps the command run, not the redo.
      ctx.history.pop();
      if (!(await ctx.run(line))) throw new ShellError('');
    },
  },
  reconfig: {
    usage: '[-s] [-v version] [-members spec,...] | [-add spec,...] [-remove id,...]',
    async run(ctx, words) {
      // zkCli's options are words, not letters: -add, -remove, -members.
      const change: { joining?: string; leaving?: string; newMembers?: string; fromConfig?: number } = {};
      let stat = false;
      for (let i = 0; i < words.length; i++) {
        const w = words[i]!;
        const value = () => {
          const v = words[++i];
          if (v === undefined) throw new ShellError(`Missing argument for option: ${w.slice(1)}`);
          return v;
        };
        if (w === '-s') stat = true;
        else if (w === '-v') {
          const v = value();
          // zkCli reads the version as hex, as /zookeeper/config prints it.
          if (!/^(0x)?[0-9a-fA-F]+$/.test(v)) throw new ShellError(`-v must be a hexadecimal version: ${v}`);
          change.fromConfig = parseInt(v.replace(/^0x/, ''), 16);
        } else if (w === '-add') change.joining = value();
        else if (w === '-remove') change.leaving = value();
        else if (w === '-members') change.newMembers = value();
        else usage('reconfig');
      }
      if (change.newMembers !== undefined && (change.joining !== undefined || change.leaving !== undefined)) usage('reconfig');
      if (change.newMembers === undefined && change.joining === undefined && change.leaving === undefined) usage('reconfig');
      const r = await ctx.client().reconfig(change);
      ctx.out('Committed new configuration:\n' + (r.data === null ? '' : r.data.toString('utf8')));
      if (stat) ctx.out(formatStat(r.stat));
    },
  },
  removewatches: {
    usage: 'path [-c|-d|-a] [-l]',
    async run(ctx, words) {
      const { flags, args } = parseOptions(words, 'cdal');
      if (args.length !== 1) usage('removewatches');
      const kinds = ['c', 'd', 'a'].filter((k) => flags.has(k));
      if (kinds.length > 1) usage('removewatches');
      await ctx.client().removeAllWatches(args[0]!, WATCHER_TYPES[kinds[0] ?? 'a']!, flags.has('l'));
    },
  },
  set: {
    usage: '[-s] [-v version] path data',
    async run(ctx, words) {
      const { flags, args } = parseOptions(words, 's', 'v');
      if (args.length !== 2) usage('set');
      const stat = await ctx.client().setData(args[0]!, args[1]!, intArg(flags.get('v'), 'version') ?? -1);
      if (flags.has('s')) ctx.out(formatStat(stat));
    },
  },
  setAcl: {
    usage: '[-s] [-v version] [-R] path acl',
    async run(ctx, words) {
      const { flags, args } = parseOptions(words, 'sR', 'v');
      if (args.length !== 2) usage('setAcl');
      const [path, aclText] = args as [string, string];
      const acl = aclArg(aclText);
      const zk = ctx.client();
      const version = intArg(flags.get('v'), 'version') ?? -1;
      if (flags.has('R')) {
        const paths = await listSubtree(zk, path);
        for (let i = 0; i < paths.length; i += WINDOW) await Promise.all(paths.slice(i, i + WINDOW).map((p) => zk.setACL(p, acl, p === path ? version : -1)));
        if (flags.has('s')) ctx.out(formatStat((await zk.getACL(path)).stat));
        return;
      }
      const stat = await zk.setACL(path, acl, version);
      if (flags.has('s')) ctx.out(formatStat(stat));
    },
  },
  stat: {
    usage: '[-w] path',
    async run(ctx, words) {
      const { flags, args } = parseOptions(words, 'w');
      if (args.length !== 1) usage('stat');
      const stat = await ctx.client().exists(args[0]!, flags.has('w'));
      if (!stat) throw new ZooKeeperError('NoNode', args[0]!);
      ctx.out(formatStat(stat));
    },
  },
  sync: {
    usage: 'path',
    async run(ctx, words) {
      if (words.length !== 1) usage('sync');
      await ctx.client().sync(words[0]!);
      ctx.out('Sync is OK');
    },
  },
  whoami: {
    usage: '',
    async run(ctx) {
      const ids = await ctx.client().whoAmI();
      ctx.out(['Auth scheme: User', ...ids.map((i) => `${i.authProvider}: ${i.user}`)].join('\n'));
    },
  },
};

/** Alias the Java shell accepts too. */
COMMANDS['exit'] = COMMANDS['quit']!;

export const COMMAND_NAMES = Object.keys(COMMANDS).sort();

export function helpText(): string {
  const lines = ['zooid shell [connect-string] [-c "cmd"] — commands:'];
  for (const name of COMMAND_NAMES) if (name !== 'exit') lines.push(`\t${name} ${COMMANDS[name]!.usage}`);
  lines.push(
    '',
    'multi runs its ops as one transaction: all apply or none does. Separate ops with ";", e.g.',
    '\tmulti create /a x ; set /b y ; delete /c',
    '\tmulti check /cfg 3 ; set -v 3 /cfg new ; create -e /cfg/lock',
    'Quote data with spaces: set /a "two words". TAB completes command names and paths.',
  );
  return lines.join('\n');
}
