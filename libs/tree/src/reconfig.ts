/**
 * The reconfig request's semantics, as ZooKeeper's PrepRequestProcessor
 * judges OpCode.reconfig on the leader, with the same checks in the same
 * order (so the same request gets the same error code): enabled, no change
 * pending, expected version, the new membership, at least one (two with
 * standaloneEnabled) voters, a synced quorum of the new voters, WRITE on
 * /zookeeper/config. Pure: the leader's view of the ensemble comes in as data.
 */
import { Err, Perms, type ACL, type Id, type ReconfigRequest } from '@zooid/protocol';
import { checkACL } from './acl.js';
import type { TreeConfig } from './config.js';
import { ConfigError, formatConfig, isQuorum, parseConfig, parseServer, staticEnsemble, voters, type Ensemble, type Member } from './ensemble.js';
import { CONFIG } from './paths.js';
import type { DataTree } from './tree.js';
import type { ReconfigTxn } from './txn.js';

export interface ReconfigContext {
  /** reconfigEnabled (zoo.cfg); ZooKeeper defaults it off. */
  enabled: boolean;
  /** standaloneEnabled (zoo.cfg, default true): the new configuration then needs two voters. */
  standaloneEnabled: boolean;
  /** zookeeper.skipACL: no WRITE check on /zookeeper/config. */
  skipACL: boolean;
  /** The committed configuration. */
  committed: Ensemble;
  /** The newest configuration proposed (equal to `committed` when no reconfig is pending). */
  lastSeen: Ensemble;
  /** The leader and the followers synced with it: who could ack the change now. */
  synced: Iterable<number>;
  /** The zxid the reconfig txn will get: the new configuration's version. */
  zxid: number;
  /** /zookeeper/config's ACL and the session's ids, for the WRITE check. */
  configAcl: readonly ACL[];
  ids: readonly Id[];
  treeConfig: TreeConfig;
}

export type ReconfigOutcome = { ok: true; ensemble: Ensemble; txn: ReconfigTxn } | { ok: false; err: number };

/** ZooKeeper's StringUtils.split: trimmed pieces, empty ones dropped. */
function list(s: string): string[] {
  return s.split(',').map((p) => p.trim()).filter((p) => p !== '');
}

function fail(err: number): ReconfigOutcome {
  return { ok: false, err };
}

/** Two members may not share a quorum or election address (QuorumServer.checkAddressDuplicate). */
function sharesAddress(a: Member, b: Member): boolean {
  const as = [`${a.host}:${a.quorumPort}`, `${a.host}:${a.electionPort}`];
  return as.includes(`${b.host}:${b.quorumPort}`) || as.includes(`${b.host}:${b.electionPort}`);
}

function incremental(req: ReconfigRequest, base: Ensemble): Map<number, Member> | number {
  const next = new Map(base.members.map((m) => [m.id, m] as const));
  for (const leaving of list(req.leavingServers ?? '')) {
    // Long.parseLong throwing outside the ConfigException handler: ZooKeeper answers MARSHALLINGERROR.
    if (!/^-?\d+$/.test(leaving)) return Err.MARSHALLINGERROR;
    next.delete(Number(leaving));
  }
  for (const joiner of list(req.joiningServers ?? '')) {
    const parts = joiner.split('=').map((p) => p.trim()).filter((p) => p !== '');
    if (parts.length !== 2) return Err.BADARGUMENTS;
    const idText = parts[0]!.slice(parts[0]!.lastIndexOf('.') + 1);
    if (!/^\d+$/.test(idText)) return Err.MARSHALLINGERROR;
    const id = Number(idText);
    let member: Member;
    try {
      member = parseServer(id, parts[1]!);
    } catch (e) {
      if (e instanceof ConfigError) return Err.BADARGUMENTS;
      throw e;
    }
    // A joiner must say where clients reach it.
    if (member.client === undefined) return Err.BADARGUMENTS;
    for (const other of next.values()) if (other.id !== id && sharesAddress(member, other)) return Err.BADARGUMENTS;
    // Re-adding an existing id replaces it: how a voter is demoted or an observer promoted.
    next.set(id, member);
  }
  return next;
}

function nonIncremental(newMembers: string, standaloneEnabled: boolean): Map<number, Member> | number {
  try {
    // Commas or newlines separate the entries.
    const e = parseConfig(newMembers.replaceAll(',', '\n'), true);
    if (voters(e).length === 0) {
      // parseDynamicConfig: a ConfigException without standalone mode; with it,
      // observers and no voter throw IllegalArgumentException, which ZooKeeper answers MARSHALLINGERROR.
      if (!standaloneEnabled) return Err.BADARGUMENTS;
      if (e.members.length > 0) return Err.MARSHALLINGERROR;
    }
    return new Map(e.members.map((m) => [m.id, m] as const));
  } catch (e) {
    if (e instanceof ConfigError) return Err.BADARGUMENTS;
    throw e;
  }
}

export function prepareReconfig(req: ReconfigRequest, ctx: ReconfigContext): ReconfigOutcome {
  if (!ctx.enabled) return fail(Err.RECONFIGDISABLED);
  if (ctx.lastSeen.version !== ctx.committed.version) return fail(Err.RECONFIGINPROGRESS);
  if (req.curConfigId !== -1 && req.curConfigId !== ctx.lastSeen.version) return fail(Err.BADVERSION);
  const members = req.newMembers !== null ? nonIncremental(req.newMembers, ctx.standaloneEnabled) : incremental(req, ctx.lastSeen);
  if (typeof members === 'number') return fail(members);
  const ensemble: Ensemble = { members: [...members.values()].sort((a, b) => a.id - b.id), version: ctx.zxid };
  if (voters(ensemble).length < (ctx.standaloneEnabled ? 2 : 1)) return fail(Err.BADARGUMENTS);
  if (!isQuorum(ensemble, ctx.synced)) return fail(Err.NEWCONFIGNOQUORUM);
  if (!ctx.skipACL && !checkACL(ctx.configAcl, Perms.WRITE, ctx.ids, ctx.treeConfig)) return fail(Err.NOAUTH);
  return { ok: true, ensemble, txn: { type: 'reconfig', data: Buffer.from(formatConfig(ensemble), 'utf8') } };
}

/**
 * The configuration a tree holds at /zookeeper/config (replicated, logged
 * and in snapshots); undefined while no reconfig has been applied to it.
 * Whether it is committed is the member's to know: a tree rebuilt from the
 * log may end in a change that never committed.
 */
export function configOf(tree: DataTree): Ensemble | undefined {
  const data = tree.getNode(CONFIG)?.data;
  return data && data.length > 0 ? parseConfig(data.toString('utf8')) : undefined;
}

/**
 * The configuration a reconfig committed to /zookeeper/config, in a tree
 * whose every transaction is committed. None while the tree holds nothing
 * there or the static configuration (version 0, see `staticConfigTxn`): that
 * one is only shown, and the member's `--ensemble` says what it is.
 */
function reconfigured(tree: DataTree): Ensemble | undefined {
  const e = configOf(tree);
  return e?.version === 0 ? undefined : e;
}

/**
 * The configuration of a tree whose every transaction is committed (a
 * leader's in broadcast): /zookeeper/config once a reconfig has committed,
 * else the static ensemble the member was started with.
 */
export function committedEnsemble(tree: DataTree, staticIds: readonly string[]): Ensemble {
  return reconfigured(tree) ?? staticEnsemble(staticIds);
}

/**
 * What a leader proposes first in its epoch so that /zookeeper/config shows
 * the static configuration, as ZooKeeper 3.5+ in quorum mode shows it from
 * the start: through the log, so every replica holds the same bytes.
 * `version` is ZooKeeper's: with reconfigEnabled the zxid the epoch starts
 * at (its NEWLEADER zxid, ZOOKEEPER-1783: an established configuration
 * outranks any member's initial one), else 0. Nothing once a reconfig has
 * committed a configuration or when the tree already shows this one; nothing
 * for a single voter (ZooKeeper runs one server standalone, with
 * /zookeeper/config empty) or ids that are not numbers (no `server.N` line
 * can name them).
 */
export function staticConfigTxn(tree: DataTree, staticIds: readonly string[], version: number): ReconfigTxn | undefined {
  if (staticIds.length < 2 || !staticIds.every((id) => /^\d+$/.test(id)) || reconfigured(tree)) return undefined;
  const data = Buffer.from(formatConfig({ ...staticEnsemble(staticIds), version }), 'utf8');
  return tree.getNode(CONFIG)?.data?.equals(data) ? undefined : { type: 'reconfig', data };
}
