import { parseArgs } from 'node:util';

export interface FlagSpec {
  [name: string]: { type: 'string' | 'boolean'; default?: string | boolean; describe: string };
}

/**
 * Parses `--flag value` arguments; every flag can also come from the
 * environment as ZOOID_FLAG_NAME (e.g. --client-port ↔ ZOOID_CLIENT_PORT).
 * Flags win over the environment, the environment over defaults.
 */
export function parseFlags(argv: string[], spec: FlagSpec): Record<string, string | boolean | undefined> {
  const options = Object.fromEntries(Object.entries(spec).map(([k, v]) => [k, { type: v.type }]));
  const { values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false });
  const out: Record<string, string | boolean | undefined> = {};
  for (const [name, s] of Object.entries(spec)) {
    const env = process.env['ZOOID_' + name.toUpperCase().replace(/-/g, '_')];
    const fromEnv = env === undefined ? undefined : s.type === 'boolean' ? env === 'true' || env === '1' : env;
    out[name] = (values[name] as string | boolean | undefined) ?? fromEnv ?? s.default;
  }
  return out;
}

export function intFlag(flags: Record<string, unknown>, name: string): number {
  const v = flags[name];
  const n = typeof v === 'string' ? Number(v) : NaN;
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} must be a non-negative integer, got ${String(v)}`);
  return n;
}

export class UsageError extends Error {}

/** Re-emits the named flags that have a value, to hand them on to a child command. */
export function passFlags(flags: Record<string, unknown>, names: string[]): string[] {
  return names.flatMap((n) => (flags[n] === undefined ? [] : [`--${n}`, String(flags[n])]));
}

export function usage(command: string, summary: string, spec: FlagSpec): string {
  const lines = [`usage: zooid ${command} [flags]`, '', summary, ''];
  for (const [name, s] of Object.entries(spec)) {
    const def = s.default === undefined ? '' : ` (default ${String(s.default)})`;
    lines.push(`  --${name}${s.type === 'string' ? ' VALUE' : ''}`.padEnd(28) + s.describe + def);
  }
  return lines.join('\n');
}
