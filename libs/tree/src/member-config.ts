import { decodeTxn } from './txn.js';
import { formatConfig, parseConfig, voterIds, type Ensemble } from './ensemble.js';
import { CONFIG } from './paths.js';
import { configOf } from './reconfig.js';
import type { DataTree } from './tree.js';

function newer(a: Ensemble | undefined, b: Ensemble | undefined): Ensemble | undefined {
  return a === undefined || (b !== undefined && b.version > a.version) ? b : a;
}

/**
 * What a member knows of its configuration, kept apart from its log: the
 * last configuration it knows a quorum committed (ZooKeeper keeps it in its
 * dynamic config file). The log, and a tree rebuilt from it, may end in a
 * change that never committed, which counts as pending, not as who votes.
 * Pure: the host stores the text durably (`persist` returns once it is) —
 * the member service in a file, the simulator on its simulated disk.
 */
export class MemberConfig {
  private current?: Ensemble;
  /** The mzxid of /zookeeper/config when noteCommitted last read it. */
  private lookedAt = -1;

  /**
   * `stored`: the text last persisted, if any. `tree`: the member's tree as
   * a snapshot left it — a snapshot holds only committed transactions, so
   * its configuration is committed too (which also covers data written
   * before the member kept the text).
   */
  constructor(
    stored: string | undefined,
    tree: DataTree,
    private readonly persist: (text: string, e: Ensemble, how: string) => void,
  ) {
    this.current = newer(stored === undefined ? undefined : parseConfig(stored), configOf(tree));
  }

  /** The last configuration known committed; undefined while that is the static one the member was started with. */
  get committed(): Ensemble | undefined {
    return this.current;
  }

  /** Who votes now: the committed configuration's voters, the static ensemble's until a change has committed. */
  voters(staticIds: readonly string[]): string[] {
    return this.current ? voterIds(this.current) : [...staticIds];
  }

  /**
   * The newest configuration logged beyond the committed one: a change whose
   * commit this member has not seen, in the tree (a restart that replays the
   * log into it) or in `tail`, the log beyond the tree. Until it is known
   * committed, an election and a new leader's epoch need a quorum of its
   * voters as well as of the committed ones.
   */
  pending(tree: DataTree, tail: Iterable<readonly [number, Uint8Array]>): Ensemble | undefined {
    let seen = configOf(tree);
    for (const [, payload] of tail) {
      const { txn } = decodeTxn(payload);
      if (txn.type === 'reconfig') seen = parseConfig(Buffer.from(txn.data).toString('utf8'));
    }
    return seen !== undefined && seen.version > (this.current?.version ?? 0) ? seen : undefined;
  }

  /**
   * Everything up to `zxid` is committed: so is the tree's configuration,
   * when zxid reaches the transaction that wrote it (its version may be
   * another zxid: the static configuration a leader shows is versioned by
   * its epoch's start).
   */
  noteCommitted(tree: DataTree, zxid: number): void {
    const node = tree.getNode(CONFIG);
    // The cheap test first: this runs on every commit, and the configuration rarely changes.
    if (node === undefined || node.mzxid === this.lookedAt || node.mzxid > zxid) return;
    this.lookedAt = node.mzxid;
    const e = configOf(tree);
    if (e !== undefined && e.version > (this.current?.version ?? 0)) this.commit(e, 'committed');
  }

  /**
   * A configuration another member holds committed (its vote carries it):
   * adopted when newer than ours, as ZooKeeper's election adopts a newer one
   * from a notification. Returns whether it was.
   */
  adopt(text: string): boolean {
    const e = parseConfig(text);
    if (e.version <= (this.current?.version ?? 0)) return false;
    this.commit(e, 'learned from a member');
    return true;
  }

  private commit(e: Ensemble, how: string): void {
    this.persist(formatConfig(e), e, how);
    this.current = e;
  }
}
