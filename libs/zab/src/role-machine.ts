import { assign, fromCallback, sendTo, setup } from 'xstate';
import type { ZabPhase } from './core/effects.js';
import type { LeaderCore } from './core/leader.js';
import type { LearnerCore } from './core/learner.js';

export type ZabRoleEvent =
  | { type: 'PHASE'; phase: ZabPhase; epoch: number }
  /** The stint's current limit runs out in withinMs: the handshake moved, or a quorum (leader) or the leader (learner) was heard. */
  | { type: 'LIVE'; withinMs: number }
  | { type: 'END'; reason: string };

/** What the machine asks of a running stint: end now, for this reason. */
export type StintCommand = { type: 'EXPIRE'; reason: string };

export interface RoleReport {
  phase(p: ZabPhase, epoch: number): void;
  live(withinMs: number): void;
  end(reason: string): void;
}

/** One running stint of a role host. `expire` ends it through the core, so its end is logged and reported as any other. */
export interface RoleStint {
  expire(reason: string): void;
  stop(): void;
}

/** Runs a role host: it reports phases, liveness and its end through the callbacks. */
export type RoleHost = (report: RoleReport) => RoleStint;

/** ZooKeeper's initLimit and syncLimit, in ms (ticks × tickTime). */
export interface RoleLimits {
  initLimitMs: number;
  syncLimitMs: number;
}

/** The limits of a role as ZooKeeper configures them: tickTime in ms, initLimit and syncLimit in ticks. */
export function roleLimits(t: { tickTime: number; initLimit: number; syncLimit: number }): RoleLimits {
  return { initLimitMs: t.initLimit * t.tickTime, syncLimitMs: t.syncLimit * t.tickTime };
}

/** What a leader's host reports as LIVE after a tick: ms left before a quorum has been silent for syncLimit (the leader always hears itself). */
export function leaderWithin(core: LeaderCore, now: number, limits: RoleLimits): number | undefined {
  const heard = core.quorumHeardAt;
  return heard === undefined ? undefined : Math.min(heard, now) + limits.syncLimitMs - now;
}

/** What a learner's host reports as LIVE after a tick: ms left of syncLimit since its leader was heard, or of initLimit since its handshake moved. */
export function learnerWithin(core: LearnerCore, now: number, limits: RoleLimits): number | undefined {
  const heard = core.lastHeard;
  if (heard !== undefined) return heard + limits.syncLimitMs - now;
  const moved = core.handshakeAt(now);
  return moved === undefined ? undefined : moved + limits.initLimitMs - now;
}

export interface ZabRoleInput {
  host: RoleHost;
  limits: RoleLimits;
}

const EXPIRY: Record<'leader' | 'learner', { init: string; sync: string }> = {
  leader: { init: 'no quorum synchronized within initLimit', sync: 'lost quorum: not heard from a quorum within syncLimit' },
  learner: { init: 'no leader synchronized us within initLimit', sync: 'leader silent for syncLimit' },
};

/**
 * The lifecycle of one Zab role stint (leader, follower or observer):
 * establishing (discovery → synchronization) → broadcast, until the role
 * ends. The host does the per-message work; the machine owns the stint's
 * limits, as ZooKeeper sets them: each establishing phase ends within
 * initLimit — for a learner, of silence between the handshake's steps,
 * which its host reports as LIVE — and once broadcasting the stint must
 * keep hearing from its quorum (leader) or its leader (learner) within
 * syncLimit, each LIVE report moving that deadline. A limit that runs out
 * asks the stint to expire, which ends it through its core.
 */
export function zabRoleMachine(id: 'leader' | 'follower' | 'observer') {
  const expiry = EXPIRY[id === 'leader' ? 'leader' : 'learner'];
  return setup({
    types: {
      input: {} as ZabRoleInput,
      context: {} as ZabRoleInput & { epoch: number; reason: string; withinMs: number },
      events: {} as ZabRoleEvent,
      output: {} as { reason: string },
    },
    actors: {
      role: fromCallback<StintCommand, { host: RoleHost }>(({ input, sendBack, receive }) => {
        const stint = input.host({
          phase: (phase, epoch) => sendBack({ type: 'PHASE', phase, epoch }),
          live: (withinMs) => sendBack({ type: 'LIVE', withinMs }),
          end: (reason) => sendBack({ type: 'END', reason }),
        });
        receive((c) => stint.expire(c.reason));
        return () => stint.stop();
      }),
    },
    // Both read the deadline the last phase change or LIVE report set.
    delays: {
      initLimit: ({ context }) => context.withinMs,
      syncLimit: ({ context }) => context.withinMs,
    },
    actions: {
      noteEpoch: assign({ epoch: ({ event }) => (event.type === 'PHASE' ? event.epoch : 0) }),
      noteReason: assign({ reason: ({ event }) => (event.type === 'END' ? event.reason : '') }),
      noteLive: assign({ withinMs: ({ event, context }) => (event.type === 'LIVE' ? Math.max(0, event.withinMs) : context.withinMs) }),
      armInit: assign({ withinMs: ({ context }) => context.limits.initLimitMs }),
      armSync: assign({ withinMs: ({ context }) => context.limits.syncLimitMs }),
      expireInit: sendTo('role', { type: 'EXPIRE', reason: expiry.init } satisfies StintCommand),
      expireSync: sendTo('role', { type: 'EXPIRE', reason: expiry.sync } satisfies StintCommand),
    },
    guards: {
      toSynchronization: ({ event }) => event.type === 'PHASE' && event.phase === 'synchronization',
      toBroadcast: ({ event }) => event.type === 'PHASE' && event.phase === 'broadcast',
    },
  }).createMachine({
    id,
    context: ({ input }) => ({ ...input, epoch: 0, reason: '', withinMs: input.limits.initLimitMs }),
    invoke: { src: 'role', id: 'role', input: ({ context }) => ({ host: context.host }) },
    initial: 'establishing',
    states: {
      establishing: {
        initial: 'discovery',
        on: { PHASE: { guard: 'toBroadcast', target: 'broadcast', actions: ['noteEpoch', 'armSync'] } },
        states: {
          discovery: {
            after: { initLimit: { actions: 'expireInit' } },
            on: {
              PHASE: { guard: 'toSynchronization', target: 'synchronization', actions: ['noteEpoch', 'armInit'] },
              LIVE: { target: 'discovery', reenter: true, actions: 'noteLive' },
            },
          },
          synchronization: {
            after: { initLimit: { actions: 'expireInit' } },
            on: { LIVE: { target: 'synchronization', reenter: true, actions: 'noteLive' } },
          },
        },
      },
      broadcast: {
        after: { syncLimit: { actions: 'expireSync' } },
        on: { LIVE: { target: 'broadcast', reenter: true, actions: 'noteLive' } },
      },
      ended: { type: 'final' },
    },
    on: { END: { target: '.ended', actions: 'noteReason' } },
    output: ({ context }) => ({ reason: context.reason }),
  });
}
