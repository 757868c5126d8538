import { assign, fromCallback, sendTo, setup } from 'xstate';
import type { ZabPhase } from './core/effects.js';

export type ZabRoleEvent =
  | { type: 'PHASE'; phase: ZabPhase; epoch: number }
  /** The stint is live for withinMs more: a quorum (leader) or the leader (learner) was heard recently enough. */
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
 * timers: establishing must finish within initLimit, and once broadcasting
 * the stint must keep hearing from its quorum (leader) or its leader
 * (learner) within syncLimit — each LIVE report moves that deadline. A
 * timer that fires asks the stint to expire, which ends it through its core.
 */
export function zabRoleMachine(id: 'leader' | 'follower' | 'observer') {
  const expiry = EXPIRY[id === 'leader' ? 'leader' : 'learner'];
  return setup({
    types: {
      input: {} as ZabRoleInput,
      context: {} as ZabRoleInput & { epoch: number; reason: string; liveMs: number },
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
    delays: {
      initLimit: ({ context }) => context.limits.initLimitMs,
      syncLimit: ({ context }) => context.liveMs,
    },
    actions: {
      noteEpoch: assign({ epoch: ({ event }) => (event.type === 'PHASE' ? event.epoch : 0) }),
      noteReason: assign({ reason: ({ event }) => (event.type === 'END' ? event.reason : '') }),
      noteLive: assign({ liveMs: ({ event, context }) => (event.type === 'LIVE' ? Math.max(0, event.withinMs) : context.liveMs) }),
      expireInit: sendTo('role', { type: 'EXPIRE', reason: expiry.init } satisfies StintCommand),
      expireSync: sendTo('role', { type: 'EXPIRE', reason: expiry.sync } satisfies StintCommand),
    },
    guards: {
      toSynchronization: ({ event }) => event.type === 'PHASE' && event.phase === 'synchronization',
      toBroadcast: ({ event }) => event.type === 'PHASE' && event.phase === 'broadcast',
    },
  }).createMachine({
    id,
    context: ({ input }) => ({ ...input, epoch: 0, reason: '', liveMs: input.limits.syncLimitMs }),
    invoke: { src: 'role', id: 'role', input: ({ context }) => ({ host: context.host }) },
    initial: 'establishing',
    states: {
      establishing: {
        initial: 'discovery',
        after: { initLimit: { actions: 'expireInit' } },
        on: { PHASE: { guard: 'toBroadcast', target: 'broadcast', actions: 'noteEpoch' } },
        states: {
          discovery: { on: { PHASE: { guard: 'toSynchronization', target: 'synchronization', actions: 'noteEpoch' } } },
          synchronization: {},
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
