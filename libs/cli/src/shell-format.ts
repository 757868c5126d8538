/**
 * zkCli.sh's ways of reading and printing things: the command line split
 * into words, Stat lines, ACLs in jute's CSV notation, dates like Java's
 * Date.toString(), and the messages zkCli prints for ZooKeeper errors.
 */
import { ZooKeeperError, formatPerms, type ACL, type Stat } from '@zooid/client';

/** A failure a command reports on stderr; the shell goes on, `-c` exits non-zero. */
export class ShellError extends Error {
  override readonly name = 'ShellError';
}

/**
 * Splits a command line into words: whitespace separates, and single or
 * double quotes keep a word together (`create /a ""` passes empty data,
 * `set /a "two words"` one word).
 */
export function tokenize(line: string): string[] {
  const words: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (let m = re.exec(line); m !== null; m = re.exec(line)) words.push(m[1] ?? m[2] ?? m[3]!);
  return words;
}

/** Splits on `sep` outside quotes (the multi syntax's `;`). */
export function splitOutsideQuotes(line: string, sep: string): string[] {
  const parts: string[] = [];
  let cur = '';
  let quote: string | null = null;
  for (const ch of line) {
    if (quote) {
      if (ch === quote) quote = null;
      cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      cur += ch;
    } else if (ch === sep) {
      parts.push(cur);
      cur = '';
    } else {
      cur += ch;
    }
  }
  parts.push(cur);
  return parts;
}

export interface Parsed {
  flags: Map<string, string | true>;
  args: string[];
}

/**
 * Options in the manner of zkCli's parser: `-x` for a known boolean flag,
 * `-x value` for a known valued one, anywhere on the line; every other word
 * is an argument.
 */
export function parseOptions(words: string[], booleans: string, valued = ''): Parsed {
  const flags = new Map<string, string | true>();
  const args: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const m = /^-([A-Za-z])$/.exec(w);
    if (m && booleans.includes(m[1]!)) flags.set(m[1]!, true);
    else if (m && valued.includes(m[1]!)) {
      const v = words[++i];
      if (v === undefined) throw new ShellError(`Missing argument for option: ${m[1]}`);
      flags.set(m[1]!, v);
    } else args.push(w);
  }
  return { flags, args };
}

/** Java's Long.toHexString with 0x: two's complement for negative values. */
export function hex(v: number | bigint): string {
  return '0x' + BigInt.asUintN(64, BigInt(v)).toString(16);
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const pad = (n: number) => String(n).padStart(2, '0');

/** Java's Date.toString(): `Wed Nov 25 11:29:12 UTC 2026`, in the local time zone. */
export function javaDate(ms: number): string {
  const d = new Date(ms);
  const zone = d.getTimezoneOffset() === 0 ? 'UTC' : (new Intl.DateTimeFormat('en-US', { timeZoneName: 'short' }).formatToParts(d).find((p) => p.type === 'timeZoneName')?.value ?? '');
  return `${DAYS[d.getDay()]} ${MONTHS[d.getMonth()]} ${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${zone} ${d.getFullYear()}`;
}

/** The lines zkCli's StatPrinter prints. */
export function formatStat(s: Stat): string {
  return [
    `cZxid = ${hex(s.czxid)}`,
    `ctime = ${javaDate(s.ctime)}`,
    `mZxid = ${hex(s.mzxid)}`,
    `mtime = ${javaDate(s.mtime)}`,
    `pZxid = ${hex(s.pzxid)}`,
    `cversion = ${s.cversion}`,
    `dataVersion = ${s.version}`,
    `aclVersion = ${s.aversion}`,
    `ephemeralOwner = ${hex(s.ephemeralOwner)}`,
    `dataLength = ${s.dataLength}`,
    `numChildren = ${s.numChildren}`,
  ].join('\n');
}

/** A string as jute's CsvOutputArchive writes it: a leading quote, a few characters %-escaped. */
function csvString(s: string): string {
  return "'" + s.replace(/[\0\n\r,}%]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0'));
}

/** getAcl's lines: the Id as jute prints it (`'world,'anyone`), then `: cdrwa`. */
export function formatAcl(acl: ACL[]): string {
  return acl.map((a) => `${csvString(a.id.scheme)},${csvString(a.id.id)}\n: ${formatPerms(a.perms)}`).join('\n');
}

/** `[a, b, c]` like Java's List.toString(). */
export function javaList(items: string[]): string {
  return `[${items.join(', ')}]`;
}

/**
 * The message zkCli prints for a failed call (its CliWrapperException),
 * e.g. `Node does not exist: /x`; other errors read as Java's
 * KeeperException (`KeeperErrorCode = ConnectionLoss for /x`).
 */
export function errorMessage(err: unknown, path?: string): string {
  if (!(err instanceof ZooKeeperError)) return err instanceof Error ? err.message : String(err);
  const p = err.path ?? path ?? 'null';
  switch (err.code) {
    case 'NoNode':
      return `Node does not exist: ${p}`;
    case 'NoChildrenForEphemerals':
      return `Ephemerals cannot have children: ${p}`;
    case 'NodeExists':
      return `Node already exists: ${p}`;
    case 'NotEmpty':
      return `Node not empty: ${p}`;
    case 'NotReadOnly':
      return `Not a read-only call: ${p}`;
    case 'InvalidACL':
      return `Acl is not valid : ${p}`;
    case 'NoAuth':
      return `Insufficient permission : ${p}`;
    case 'BadArguments':
      // The client's own path check says what is wrong, like Java's IllegalArgumentException.
      return err.message.startsWith('KeeperErrorCode') ? `Arguments are not valid : ${p}` : err.message;
    case 'BadVersion':
      return `version No is not valid : ${p}`;
    default:
      return err.message;
  }
}
