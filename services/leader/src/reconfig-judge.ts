import { CONFIG, committedEnsemble, prepareReconfig, type DataTree, type Ensemble, type ReconfigJudge, type TreeConfig } from '@zooid/tree';
import type { LeaderCore } from '@zooid/zab';

export interface JudgeView {
  /** The leader's tree: all committed once it broadcasts. */
  tree: DataTree;
  /** The static ensemble: the configuration until a reconfig has committed one to /zookeeper/config. */
  staticIds: readonly string[];
  core: Pick<LeaderCore, 'pendingConfig' | 'syncedLearners' | 'observers'>;
  /** A learner silent for longer (syncLimit) is as good as gone: it could not ack the change. */
  syncedWithinMs: number;
  now: () => number;
  treeConfig?: TreeConfig;
  /** Told why a request was refused, where the judge says (a zooid observer named as a voter). */
  refused?: (why: string) => void;
}

/**
 * ZooKeeper's reconfig checks with a leader's view: the committed
 * configuration from its tree, the one in flight from its core (one at a
 * time: RECONFIGINPROGRESS), and who is synced with it now. The leader
 * service and the simulator's leader judge with this.
 */
export function reconfigJudge(v: JudgeView): ReconfigJudge {
  return (req, auth, zxid) => {
    const committed: Ensemble = committedEnsemble(v.tree, v.staticIds);
    const pending = v.core.pendingConfig;
    // With a change in flight prepareReconfig answers RECONFIGINPROGRESS on the version alone, before it reads any member.
    const lastSeen: Ensemble = pending ? { ...committed, version: pending.zxid } : committed;
    const numeric = (ids: readonly string[]) => ids.filter((id) => /^\d+$/.test(id)).map(Number);
    const outcome = prepareReconfig(req, {
      enabled: true,
      standaloneEnabled: true,
      skipACL: false,
      committed,
      lastSeen,
      synced: numeric(v.core.syncedLearners(v.now(), v.syncedWithinMs)),
      observing: numeric(v.core.observers),
      zxid,
      configAcl: v.tree.getNode(CONFIG)!.acl,
      ids: auth.ids,
      treeConfig: v.treeConfig ?? {},
    });
    if (!outcome.ok && outcome.why !== undefined) v.refused?.(outcome.why);
    return outcome;
  };
}
