import { hostname } from 'node:os';
import { createActor } from 'xstate';
import { pack, subjects, unpack, type AdminAsk, type Presence } from '@zooid/protocol';
import { MemberStore, zabRoleMachine, type RoleOptions } from '@zooid/leader';
import { LearnerRole } from '@zooid/follower';
import { closeBus, connectBus, type Logger } from '@zooid/runtime';

export interface ObserverOptions extends Omit<RoleOptions, 'voters'> {
  natsUrl: string;
  snapCount: number;
  snapRetain: number;
}

const observerMachine = zabRoleMachine('observer');
const RETRY_MS = 500;

/**
 * A non-voting learner: syncs from whichever member leads, then follows its
 * commits and serves reads. It never votes and never counts towards a
 * quorum, so observers join and leave with no configuration change. When the
 * leader goes away it simply syncs again with the next one.
 */
export async function runObserver(opts: ObserverOptions, log: Logger): Promise<{ done: Promise<void>; stop(): void }> {
  const nc = await connectBus(opts.natsUrl, `zooid-observer-${opts.id}`, log);
  const subj = subjects(opts.cluster);
  const store = await MemberStore.open(opts.dataDir, { snapCount: opts.snapCount, snapRetain: opts.snapRetain }, log);
  let role: LearnerRole | undefined;
  let stopped = false;
  let current: ReturnType<typeof createActor<typeof observerMachine>> | undefined;
  let retry: NodeJS.Timeout | undefined;

  const announce = () => {
    const p: Presence = {
      kind: 'observer',
      id: opts.id,
      role: role?.serving ? 'observing' : 'syncing',
      pid: process.pid,
      host: hostname(),
      epoch: role?.currentEpoch || store.epochs.readCurrent(),
      zxid: store.tree.lastZxid,
      sessions: role?.sessionCount ?? 0,
      serving: role?.serving ?? false,
    };
    nc.publish(subj.presence, pack(p));
  };

  const stint = () => {
    if (stopped) return;
    const actor = createActor(observerMachine, {
      input: {
        host: ({ phase, end }) => {
          const r = new LearnerRole({ ...opts, voters: [], voter: false }, store, nc, log, {
            phase: (p, e) => {
              phase(p, e);
              announce();
            },
            lost: end,
          });
          role = r;
          r.start();
          return () => r.stop();
        },
      },
    });
    current = actor;
    actor.subscribe({ complete: () => (retry = setTimeout(stint, RETRY_MS)) });
    actor.start();
  };

  const subs = [
    nc.subscribe(subj.admin(opts.id), {
      callback: (err, msg) => {
        if (err) return;
        try {
          const ask = unpack<AdminAsk>(msg.data);
          msg.respond(pack(role ? role.admin(ask) : { serverState: 'observer', zxid: store.tree.lastZxid, nodeCount: store.tree.nodeCount }));
        } catch (e) {
          log.warn({ err: e }, 'bad admin request');
        }
      },
    }),
  ];
  const presence = setInterval(announce, 1000);
  stint();

  let finish!: () => void;
  const done = new Promise<void>((resolve) => (finish = resolve));
  return {
    done,
    stop: () => {
      if (stopped) return;
      stopped = true;
      clearTimeout(retry);
      clearInterval(presence);
      current?.stop();
      role?.stop();
      for (const s of subs) s.unsubscribe();
      void store
        .close()
        .then(() => closeBus(nc))
        .then(finish);
    },
  };
}
