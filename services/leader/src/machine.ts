import { assign, fromCallback, setup } from 'xstate';

/** A Zab role's phases, as the role host reports them. */
export type ZabPhase = 'discovery' | 'synchronization' | 'broadcast';

export type ZabRoleEvent = { type: 'PHASE'; phase: ZabPhase; epoch: number } | { type: 'END'; reason: string };

/** Runs a role host: reports phases and its end through the callbacks, returns its stop function. */
export type RoleHost = (report: { phase: (p: ZabPhase, epoch: number) => void; end: (reason: string) => void }) => () => void;

/**
 * The lifecycle of one Zab role stint (leader, follower or observer):
 * discovery → synchronization → broadcast, until the role ends (lost quorum,
 * silent leader, gap in the stream). The host owns the per-message work; the
 * machine only records where it stands.
 */
export function zabRoleMachine(id: 'leader' | 'follower' | 'observer') {
  return setup({
    types: {
      input: {} as { host: RoleHost },
      context: {} as { host: RoleHost; epoch: number; reason: string },
      events: {} as ZabRoleEvent,
      output: {} as { reason: string },
    },
    actors: {
      role: fromCallback<ZabRoleEvent, { host: RoleHost }>(({ input, sendBack }) =>
        input.host({
          phase: (phase, epoch) => sendBack({ type: 'PHASE', phase, epoch }),
          end: (reason) => sendBack({ type: 'END', reason }),
        }),
      ),
    },
    actions: {
      noteEpoch: assign({ epoch: ({ event }) => (event.type === 'PHASE' ? event.epoch : 0) }),
      noteReason: assign({ reason: ({ event }) => (event.type === 'END' ? event.reason : '') }),
    },
    guards: {
      toSynchronization: ({ event }) => event.type === 'PHASE' && event.phase === 'synchronization',
      toBroadcast: ({ event }) => event.type === 'PHASE' && event.phase === 'broadcast',
    },
  }).createMachine({
    id,
    context: ({ input }) => ({ host: input.host, epoch: 0, reason: '' }),
    invoke: { src: 'role', input: ({ context }) => ({ host: context.host }) },
    initial: 'discovery',
    states: {
      discovery: {
        on: {
          PHASE: [
            { guard: 'toSynchronization', target: 'synchronization', actions: 'noteEpoch' },
            { guard: 'toBroadcast', target: 'broadcast', actions: 'noteEpoch' },
          ],
        },
      },
      synchronization: { on: { PHASE: { guard: 'toBroadcast', target: 'broadcast', actions: 'noteEpoch' } } },
      broadcast: {},
      ended: { type: 'final' },
    },
    on: { END: { target: '.ended', actions: 'noteReason' } },
    output: ({ context }) => ({ reason: context.reason }),
  });
}
