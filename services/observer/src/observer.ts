import { createActor } from 'xstate';
import { MemberStore, memberGauges, memberPlumbing, type RoleOptions } from '@zooid/leader';
import { InspectPublisher, MemberMetrics } from '@zooid/inspect';
import { LearnerRole } from '@zooid/follower';
import { closeBus, connectBus, type BusConfig, type Logger } from '@zooid/runtime';
import { EpochLeaders, roleLimits } from '@zooid/zab';
import { observerProcessMachine } from './observer-machine.js';

export interface ObserverOptions extends Omit<RoleOptions, 'voters'> {
  bus: BusConfig;
  snapCount: number;
  snapRetain: number;
  /** Committed transactions kept in memory to sync learners from. */
  commitLogCount?: number;
  /** ms between purges of old snapshots and log segments; 0 or absent: after every snapshot. */
  purgeIntervalMs?: number;
}

/**
 * A non-voting learner: syncs from whichever member leads, then follows its
 * commits and serves reads. It never votes and never counts towards a
 * quorum, so observers join and leave with no configuration change. When the
 * leader goes away it simply syncs again with the next one.
 */
export async function runObserver(opts: ObserverOptions, log: Logger): Promise<{ done: Promise<void>; stop(): void }> {
  const nc = await connectBus(opts.bus, { kind: 'observer', id: opts.id }, log);
  const store = await MemberStore.open(opts.dataDir, { snapCount: opts.snapCount, snapRetain: opts.snapRetain, commitLogCount: opts.commitLogCount, purgeIntervalMs: opts.purgeIntervalMs }, log);
  let role: LearnerRole | undefined;
  let stopped = false;

  const role_ = () => (role?.serving ? 'observing' : 'syncing');
  const inspect = new InspectPublisher(nc, { cluster: opts.cluster, kind: 'observer', id: opts.id }, log);
  const metrics = new MemberMetrics(opts.id, () => memberGauges(store, role, role_(), 0));
  const plumbing = memberPlumbing(nc, opts.cluster, log, {
    kind: 'observer',
    id: opts.id,
    store,
    role: role_,
    current: () => role,
    metrics,
  });
  const announce = plumbing.announce;
  const epochLeaders = new EpochLeaders();

  const actor = createActor(observerProcessMachine, {
    input: {
      limits: roleLimits(opts),
      host: ({ phase, end, live }) => {
        const r = new LearnerRole({ ...opts, voters: [], voter: false, epochLeaders }, store, nc, log, {
          phase: (p, e) => {
            phase(p, e);
            announce();
          },
          // Tell the gateways at once, not at the next periodic announcement.
          lost: (reason) => {
            end(reason);
            announce();
          },
          live,
          metrics,
        });
        role = r;
        r.start();
        return { expire: (reason) => r.expire(reason), stop: () => r.stop() };
      },
    },
    inspect: inspect.observer('observer'),
  });
  inspect.track('observer', actor);
  actor.start();

  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  return {
    done,
    stop: () => {
      if (stopped) return;
      stopped = true;
      plumbing.stop();
      inspect.stop();
      actor.send({ type: 'STOP' });
      role?.stop();
      void store
        .close()
        .then(() => closeBus(nc))
        .then(finish);
    },
  };
}
