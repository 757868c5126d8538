import { createActor } from 'xstate';
import { pack, senderOf, subjects, unpack, type Vote } from '@zooid/protocol';
import { EpochLeaders, roleLimits, type RoleReport, type RoleStint } from '@zooid/zab';
import { LeaderRole, MemberStore, memberGauges, memberPlumbing, type RoleOptions } from '@zooid/leader';
import { InspectPublisher, MemberMetrics } from '@zooid/inspect';
import { formatConfig, observers, voterIds } from '@zooid/tree';
import { closeBus, connectBus, dropImpostor, type BusConfig, type Logger, type NatsConnection } from '@zooid/runtime';
import { memberMachine } from './member-machine.js';
import { LearnerRole } from './learner-role.js';
import { learnEnsemble } from './join.js';

export interface MemberOptions extends Omit<RoleOptions, 'voters'> {
  bus: BusConfig;
  /** The static voters (--ensemble); absent for a joiner, which learns them from the ensemble. */
  ensemble?: string[];
  /**
   * Joining a running ensemble: start even though the configuration does not
   * list this id, follow as a non-voting learner (never counted, never
   * leading) until a reconfig adds it.
   */
  join?: boolean;
  /** With join: once synced, ask the leader to add this id as a voter (it needs --reconfig-enabled). */
  addSelf?: boolean;
  snapCount: number;
  snapRetain: number;
  /** Committed transactions kept in memory to sync learners from. */
  commitLogCount?: number;
  /** ms between purges of old snapshots and log segments; 0 or absent: after every snapshot. */
  purgeIntervalMs?: number;
}

export interface RunningMember {
  /** Resolves once the member has stopped. */
  done: Promise<void>;
  stop(): void;
}

/**
 * A voting member process: fast leader election over the bus, then the
 * leader or follower role, as the member machine decides. Also answers
 * looking members with the leader it follows, announces itself, and serves
 * admin statistics for four-letter words.
 */
export async function runMember(opts: MemberOptions, log: Logger, stopping?: AbortSignal): Promise<RunningMember> {
  const store = await MemberStore.open(opts.dataDir, { snapCount: opts.snapCount, snapRetain: opts.snapRetain, commitLogCount: opts.commitLogCount, purgeIntervalMs: opts.purgeIntervalMs }, log);
  const nc = await connectBus(opts.bus, { kind: 'member', id: opts.id }, log);
  const ensemble = await initialEnsemble(opts, store, nc, log, stopping);
  const release = async () => {
    await store.close();
    await closeBus(nc);
  };
  if (!ensemble) {
    await release();
    return { done: Promise.resolve(), stop: () => undefined };
  }
  // The voters are the committed configuration's, read at every election and stint: a reconfig replicated
  // through the log changes them, and they survive restarts in the store. The static ensemble counts only
  // until the first reconfig commits. A change logged but not seen committed is pending: its voters' quorum
  // counts too.
  const voters = () => store.config.voters(ensemble);
  const pending = () => {
    const p = store.pendingConfig();
    return p && voterIds(p);
  };
  const atStart = voters();
  // One the configuration lists as an observer (a demoted voter) follows without a vote, as a joiner does.
  const listed = store.committedConfig ? observers(store.committedConfig).map(String) : [];
  if (!atStart.includes(opts.id) && !pending()?.includes(opts.id) && !listed.includes(opts.id) && !opts.join) {
    await release();
    throw new Error(`member id ${opts.id} is not a voter of the configuration ${atStart.join(',')} (to join it, --join)`);
  }
  if (atStart.length % 2 === 0) log.warn({ voters: atStart.length }, 'an even ensemble tolerates no more failures than one member fewer');
  const subj = subjects(opts.cluster);
  const epochLeaders = new EpochLeaders();
  const roleOpts = (): RoleOptions => ({ ...opts, ensemble, voters: voters(), epochLeaders, wantsVote: opts.addSelf ? () => !voters().includes(opts.id) : undefined });
  let role: LeaderRole | LearnerRole | undefined;
  const publishVote = (v: Vote) => {
    const c = store.committedConfig;
    nc.publish(subj.election(opts.id), pack(c ? { ...v, config: formatConfig(c) } : v));
  };
  // The inspector sees the member machine (and the role it invokes); metrics are read when scraped.
  const inspect = new InspectPublisher(nc, { cluster: opts.cluster, kind: 'member', id: opts.id }, log);
  const metrics = new MemberMetrics(opts.id, () => memberGauges(store, role, state(), voters().length));
  // Gateways pin sessions only to serving learners: tell them as soon as the phase changes.
  const announced =
    <P, E>(phase: (p: P, e: E) => void) =>
    (p: P, e: E) => {
      phase(p, e);
      plumbing.announce();
    };

  const stint = (r: LeaderRole | LearnerRole): RoleStint => ({
    expire: (reason: string) => r.expire(reason),
    stop: () => {
      r.stop();
      if (role === r) role = undefined;
    },
  });

  const actor = createActor(memberMachine, {
    input: {
      id: opts.id,
      election: (round) => {
        const own = { leader: opts.id, epoch: store.epochs.readCurrent(), zxid: store.lastLogged };
        const p = pending();
        log.info({ round, proposal: own, voters: voters(), pending: p }, 'looking');
        return { self: opts.id, voters: voters(), pending: p, own, round, publish: publishVote };
      },
      limits: roleLimits(opts),
      lead: ({ phase, end, live }: RoleReport): RoleStint => {
        const r = new LeaderRole(roleOpts(), store, nc, log, { phase: announced(phase), stepDown: end, live, metrics });
        role = r;
        r.start();
        return stint(r);
      },
      follow: (leader: string) => ({ phase, end, live }: RoleReport): RoleStint => {
        const r = new LearnerRole({ ...roleOpts(), voter: true, leader }, store, nc, log, { phase: announced(phase), lost: end, live, metrics });
        role = r;
        r.start();
        return stint(r);
      },
    },
    inspect: inspect.observer(),
  });
  inspect.track('member', actor);

  const state = () => String(actor.getSnapshot().value);
  const subs = [
    nc.subscribe(subj.electionAll, {
      callback: (err, msg) => {
        if (err) return;
        try {
          const v = unpack<Vote>(msg.data);
          // A vote counts for the member whose subject it came on, which only that member may publish.
          if (v.from !== senderOf(msg.subject)) return dropImpostor(log, msg.subject, { claimed: v.from });
          if (v.from === opts.id) return;
          const s = state();
          if (s === 'looking' && typeof v.config === 'string' && store.adoptConfig(v.config)) {
            // Who votes changed under the election: start it again with the new voters, then count this vote.
            log.info({ from: v.from, voters: voters() }, 'learned a newer committed configuration from a vote');
            actor.send({ type: 'RECONFIGURED' });
          }
          if (s === 'looking') return actor.send({ type: 'VOTE', vote: v });
          // A looking member learns who leads, so a restarted member joins instead of forcing an election.
          if (v.state === 'looking' && (s === 'leading' || s === 'following')) {
            const snap = actor.getSnapshot();
            publishVote({ from: opts.id, state: s, round: snap.context.round, leader: snap.context.leader, epoch: store.epochs.readCurrent(), zxid: store.lastLogged });
          }
        } catch (e) {
          log.warn({ err: e }, 'dropped a malformed vote');
        }
      },
    }),
  ];

  const config = () => ({ version: store.committedConfig?.version ?? 0, voting: voters().includes(opts.id), voters: voters() });
  const plumbing = memberPlumbing(nc, opts.cluster, log, { kind: 'member', id: opts.id, store, role: state, current: () => role, metrics, config });
  const announce = plumbing.announce;
  let lastState = '';
  actor.subscribe((s) => {
    const now = String(s.value);
    if (now !== lastState && (now === 'leading' || now === 'following')) log.info({ leader: s.context.leader, round: s.context.round }, 'election decided');
    lastState = now;
    log.debug({ state: s.value }, 'member state');
    announce();
  });
  actor.start();

  const done = new Promise<void>((resolve) => {
    actor.subscribe({
      complete: () => {
        plumbing.stop();
        inspect.stop();
        for (const s of subs) s.unsubscribe();
        void store
          .close()
          .then(() => closeBus(nc))
          .then(resolve);
      },
    });
  });
  return { done, stop: () => actor.send({ type: 'STOP' }) };
}

/**
 * The static voters a member counts until a reconfig is in its tree:
 * --ensemble; else the tree's configuration, which is authoritative once
 * the member has synced (so a restart needs neither flag nor ensemble);
 * else, for a joiner that never synced one, the configuration the running
 * ensemble announces. Undefined when stopped while waiting for it.
 */
async function initialEnsemble(opts: MemberOptions, store: MemberStore, nc: NatsConnection, log: Logger, stopping?: AbortSignal): Promise<string[] | undefined> {
  if (opts.ensemble) return opts.ensemble;
  if (store.committedConfig) return voterIds(store.committedConfig);
  const learned = await learnEnsemble(nc, opts.cluster, log, stopping);
  // Even a configuration that lists it (a voter whose data is gone) makes it a voter only once its own
  // tree, synced from the leader, says so: until then its vote, cast from an empty history, never counts.
  return learned?.voters.filter((v) => v !== opts.id);
}
