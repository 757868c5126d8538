/**
 * The ensemble configuration as data, in ZooKeeper 3.5+'s dynamic-config
 * text: the bytes of /zookeeper/config are QuorumMaj.toString(), one
 * `server.N=host:quorumPort:electionPort:type[;clientHost:clientPort]` line
 * per member in id order and a last `version=<hex zxid>` line with no newline.
 * Members parse and print that text so the committed log is the one source of
 * the configuration, and getConfig shows what ZooKeeper's clients expect.
 */

export type LearnerType = 'participant' | 'observer';

export interface Member {
  id: number;
  host: string;
  quorumPort: number;
  electionPort: number;
  type: LearnerType;
  /** Absent when the server spec had no `;client` part. */
  client?: { host: string; port: number };
}

export interface Ensemble {
  /** By id, ascending. */
  members: readonly Member[];
  /** The zxid of the reconfig txn that made this configuration; 0 for the initial one. */
  version: number;
}

/** A malformed server spec or config text: ZooKeeper's ConfigException, answered BADARGUMENTS. */
export class ConfigError extends Error {}

/** `[v6]` or a plain host, then `:port`; returns the remaining `:`-separated parts. */
function splitHostPorts(s: string): string[] {
  if (s.startsWith('[')) {
    const end = s.indexOf(']');
    if (end < 0 || (end + 1 < s.length && s[end + 1] !== ':')) throw new ConfigError(`bad IPv6 address in ${s}`);
    const rest = s.slice(end + 2);
    return [s.slice(0, end + 1), ...(rest === '' ? [] : rest.split(':'))];
  }
  return s.split(':');
}

function port(s: string | undefined, what: string): number {
  if (s === undefined || !/^\d{1,5}$/.test(s.trim())) throw new ConfigError(`bad ${what} port ${s ?? '(missing)'}`);
  const n = Number(s.trim());
  if (n > 65535) throw new ConfigError(`${what} port ${n} out of range`);
  return n;
}

/** ZooKeeper's QuorumServer(sid, addressStr); multi-address (`a|b`) specs are not supported. */
export function parseServer(id: number, spec: string): Member {
  const [serverPart, clientPart, ...extra] = spec.trim().split(';');
  if (extra.length > 0 || serverPart === undefined) throw new ConfigError(`${spec} has more than one ';'`);
  if (serverPart.includes('|')) throw new ConfigError('multiple addresses per server are not supported');
  const parts = splitHostPorts(serverPart.trim());
  if (parts.length !== 3 && parts.length !== 4) throw new ConfigError(`${spec} does not have the form host:port:port or host:port:port:type`);
  const host = parts[0]!;
  if (host === '') throw new ConfigError(`${spec} has no host`);
  const member: Member = { id, host, quorumPort: port(parts[1], 'quorum'), electionPort: port(parts[2], 'election'), type: 'participant' };
  if (parts.length === 4) {
    const t = parts[3]!.trim().toLowerCase();
    if (t !== 'participant' && t !== 'observer') throw new ConfigError(`unrecognised peer type ${parts[3]}`);
    member.type = t;
  }
  if (clientPart !== undefined) {
    const cp = splitHostPorts(clientPart.trim());
    // A bare port binds every interface, which Java prints as 0.0.0.0.
    if (cp.length === 1) member.client = { host: '0.0.0.0', port: port(cp[0], 'client') };
    else if (cp.length === 2 && cp[0] !== '') member.client = { host: cp[0]!, port: port(cp[1], 'client') };
    else throw new ConfigError(`bad client address ${clientPart}`);
  }
  return member;
}

/** QuorumServer.toString(): the value of a `server.N=` line. */
export function formatServer(m: Member): string {
  const s = `${m.host}:${m.quorumPort}:${m.electionPort}:${m.type}`;
  return m.client === undefined ? s : `${s};${m.client.host}:${m.client.port}`;
}

function ensemble(members: Iterable<Member>, version: number): Ensemble {
  return { members: [...members].sort((a, b) => a.id - b.id), version };
}

/**
 * java.util.Properties lines as ZooKeeper reads dynamic config: `#`/`!`
 * comments, the key ending at the first `=`, `:` or blank; the last of a
 * repeated key wins.
 */
function properties(text: string): Map<string, string> {
  const props = new Map<string, string>();
  for (const raw of text.split(/\r\n|\r|\n/)) {
    const line = raw.trimStart();
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    const m = /^([^=:\s]*)\s*[=:]?\s*(.*)$/.exec(line)!;
    props.set(m[1]!, m[2]!.trimEnd());
  }
  return props;
}

function serverId(key: string): number {
  const s = key.slice(key.lastIndexOf('.') + 1);
  if (!/^\d+$/.test(s) || !Number.isSafeInteger(Number(s))) throw new ConfigError(`bad server id in ${key}`);
  return Number(s);
}

/**
 * QuorumMaj(Properties): `server.N` entries and a hex `version`. Other keys
 * are ignored, unless `strict` (a reconfig's new members, which ZooKeeper
 * parses with configBackwardCompatibilityMode off) refuses them. Hierarchical
 * quorums (`group.`, `weight.`) are not supported.
 */
export function parseConfig(text: string, strict = false): Ensemble {
  const members = new Map<number, Member>();
  let version = 0;
  for (const [key, value] of properties(text)) {
    if (key.startsWith('server.')) {
      const id = serverId(key);
      members.set(id, parseServer(id, value));
    } else if (key === 'version') {
      if (!/^[0-9a-fA-F]{1,13}$/.test(value)) throw new ConfigError(`bad version ${value}`);
      version = parseInt(value, 16);
    } else if (key.startsWith('group') || key.startsWith('weight')) {
      throw new ConfigError('hierarchical quorums are not supported');
    } else if (strict) {
      throw new ConfigError(`unrecognised parameter ${key}`);
    }
  }
  return ensemble(members.values(), version);
}

/** QuorumMaj.toString(): the data of /zookeeper/config. */
export function formatConfig(e: Ensemble): string {
  let s = '';
  for (const m of e.members) s += `${serverLine(m)}\n`;
  return `${s}version=${e.version.toString(16)}`;
}

/** One `server.N=…` line of the configuration text, as reconfig's -members takes it. */
export function serverLine(m: Member): string {
  return `server.${m.id}=${formatServer(m)}`;
}

export function voters(e: Ensemble): number[] {
  return e.members.filter((m) => m.type === 'participant').map((m) => m.id);
}

export function observers(e: Ensemble): number[] {
  return e.members.filter((m) => m.type === 'observer').map((m) => m.id);
}

/**
 * QuorumMaj.containsQuorum: more than half of the voters. Acks from
 * observers or from ids outside the configuration do not count.
 */
export function isQuorum(e: Ensemble, acks: Iterable<number>): boolean {
  const vs = new Set(voters(e));
  let n = 0;
  for (const id of new Set(acks)) if (vs.has(id)) n++;
  return n > Math.floor(vs.size / 2);
}

/**
 * A reconfig in flight commits only with a quorum of every configuration
 * involved (the committed one and the proposed one), as ZooKeeper's
 * SyncedLearnerTracker.hasAllQuorums requires: so no decision can be taken by
 * a quorum of one side that the other side's quorum never saw.
 */
export function isQuorumOfAll(configs: readonly Ensemble[], acks: Iterable<number>): boolean {
  const ids = [...acks];
  return configs.every((c) => isQuorum(c, ids));
}

/**
 * Whose quorums a proposal at `zxid` needs, as ZooKeeper's leader attaches
 * them to each Proposal: the committed configuration always, and the proposed
 * one for the reconfig itself and every proposal after it until it commits —
 * so nothing ordered after the change commits without the new voters.
 */
export function ackingConfigs(committed: Ensemble, proposed: Ensemble | undefined, zxid: number): Ensemble[] {
  return proposed !== undefined && proposed.version !== committed.version && zxid >= proposed.version ? [committed, proposed] : [committed];
}

/**
 * The configuration a static `--ensemble 1,2,3` stands for, before any
 * reconfig committed: every id a participant, at version 0. Zooid's members
 * talk over NATS, so the addresses are only for display and for
 * ZooKeeper's address checks: a distinct host per member and ZooKeeper's
 * usual ports. No client address: clients connect to gateways, not
 * members, and a client that follows /zookeeper/config (Curator's
 * EnsembleTracker) would move to any address given here; a line without
 * one it leaves alone, as ZooKeeper prints a server whose client port came
 * from `clientPort` in zoo.cfg.
 */
export function staticEnsemble(ids: readonly string[]): Ensemble {
  return ensemble(
    ids.map((s) => {
      if (!/^\d+$/.test(s)) throw new ConfigError(`member id ${s} is not a number`);
      return memberServer(Number(s));
    }),
    0,
  );
}

/** The participant line Zooid writes for its own member `id` (see staticEnsemble): no client address. */
export function memberServer(id: number): Member {
  return { id, host: `zooid-${id}`, quorumPort: 2888, electionPort: 3888, type: 'participant' };
}

/** The voters' ids as the Zab cores name members. */
export function voterIds(e: Ensemble): string[] {
  return voters(e).map(String);
}
