import { parseArgs } from 'node:util';
import { ConfigError, loadConfig, type LoadedConfig } from './config.js';

export interface FlagSpec {
  [name: string]: {
    type: 'string' | 'boolean';
    default?: string | boolean;
    describe: string;
    /** false: a --config file never sets this flag (its zoo.cfg key means something else here). */
    config?: false;
  };
}

/** The environment variable of a flag: --client-port ↔ ZOOID_CLIENT_PORT. */
export const envName = (flag: string) => 'ZOOID_' + flag.toUpperCase().replace(/-/g, '_');

/**
 * Parses `--flag value` arguments; every flag can also come from the
 * environment as ZOOID_FLAG_NAME (e.g. --client-port ↔ ZOOID_CLIENT_PORT)
 * and, when the spec has `config`, from a zoo.cfg named by --config or
 * ZOOID_CONFIG. Flags win over the environment, the environment over the
 * file, the file over defaults. The file's warnings go to stderr (not from
 * a supervised child: its supervisor read the same file and said them).
 */
export function parseFlags(argv: string[], spec: FlagSpec): Record<string, string | boolean | undefined> {
  const options = Object.fromEntries(Object.entries(spec).map(([k, v]) => [k, { type: v.type }]));
  const { values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  const fromEnv = (name: string) => {
    const env = process.env[envName(name)];
    return env === undefined ? undefined : spec[name]!.type === 'boolean' ? env === 'true' || env === '1' : env;
  };
  let file: LoadedConfig | undefined;
  const path = 'config' in spec ? ((values.config as string | undefined) ?? fromEnv('config')) : undefined;
  if (typeof path === 'string' && path !== '') {
    try {
      file = loadConfig(path);
    } catch (err) {
      if (err instanceof ConfigError) throw new UsageError(err.message);
      throw err;
    }
    if (process.env.ZOOID_SUPERVISED !== '1') for (const w of file.warnings) process.stderr.write(`zooid: warning: ${w}\n`);
  }
  const out: Record<string, string | boolean | undefined> = {};
  for (const [name, s] of Object.entries(spec)) {
    const fromFile = s.config === false ? undefined : file?.flags[name];
    out[name] = (values[name] as string | boolean | undefined) ?? fromEnv(name) ?? fromFile ?? s.default;
  }
  return out;
}

export function intFlag(flags: Record<string, unknown>, name: string): number {
  const v = flags[name];
  const n = typeof v === 'string' ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} (or ${envName(name)}) must be a non-negative integer, got ${String(v)}`);
  return n;
}

export class UsageError extends Error {}

/**
 * Re-emits the named flags that have a value, to hand them on to a child
 * command; as --name=value, so that a value starting with '-' stays a value
 * and the child's own check names the flag.
 */
export function passFlags(flags: Record<string, unknown>, names: string[]): string[] {
  return names.flatMap((n) => (flags[n] === undefined ? [] : [`--${n}=${String(flags[n])}`]));
}

export function usage(command: string, summary: string, spec: FlagSpec): string {
  const lines = [`usage: zooid ${command} [flags]`, '', summary, ''];
  const left = (name: string) => `  --${name}${spec[name]!.type === 'string' ? ' VALUE' : ''}`;
  const width = Math.max(28, ...Object.keys(spec).map((n) => left(n).length + 2));
  for (const [name, s] of Object.entries(spec)) {
    const def = s.default === undefined ? '' : ` (default ${String(s.default)})`;
    lines.push(left(name).padEnd(width) + s.describe + def);
  }
  return lines.join('\n');
}
