import { assign, fromCallback, fromPromise, setup } from 'xstate';
import type { Recovered } from './recover.js';

/**
 * The leader role's lifecycle. Standalone, the single voting member recovers
 * its state from disk and then broadcasts (serves writes) until told to stop.
 * The request pipeline is plain code owned by the `broadcast` actor, not a
 * machine event per request.
 */
export interface LeaderInput {
  recover: () => Promise<Recovered>;
  /** Starts serving; returns the function that stops it. Reports fatal errors through `fail`. */
  broadcast: (recovered: Recovered, fail: (err: unknown) => void) => () => void;
  shutdown: (recovered: Recovered | undefined) => Promise<void>;
}

export type LeaderEvent = { type: 'STOP' } | { type: 'FATAL'; error: unknown };

export const leaderMachine = setup({
  types: {
    input: {} as LeaderInput,
    context: {} as LeaderInput & { recovered?: Recovered; error?: unknown },
    events: {} as LeaderEvent,
  },
  actors: {
    recover: fromPromise<Recovered, LeaderInput>(({ input }) => input.recover()),
    broadcast: fromCallback<LeaderEvent, { input: LeaderInput; recovered: Recovered }>(({ input, sendBack }) =>
      input.input.broadcast(input.recovered, (error) => sendBack({ type: 'FATAL', error })),
    ),
    shutdown: fromPromise<void, { input: LeaderInput; recovered?: Recovered }>(({ input }) =>
      input.input.shutdown(input.recovered),
    ),
  },
  guards: {
    failed: ({ context }) => context.error !== undefined,
  },
  actions: {
    keepRecovered: assign({ recovered: (_, r: Recovered) => r }),
    // Both an actor's error event and FATAL carry the cause in `error`.
    keepError: assign({ error: ({ event }) => (event as { error?: unknown }).error ?? new Error('unknown failure') }),
  },
}).createMachine({
  id: 'leader',
  context: ({ input }) => ({ ...input }),
  initial: 'recovering',
  states: {
    recovering: {
      invoke: {
        src: 'recover',
        input: ({ context }) => context,
        onDone: { target: 'broadcasting', actions: { type: 'keepRecovered', params: ({ event }) => event.output } },
        onError: { target: 'stopping', actions: 'keepError' },
      },
      on: { STOP: 'stopping' },
    },
    broadcasting: {
      invoke: {
        src: 'broadcast',
        input: ({ context }) => ({ input: context, recovered: context.recovered! }),
      },
      on: {
        STOP: 'stopping',
        FATAL: { target: 'stopping', actions: 'keepError' },
      },
    },
    stopping: {
      invoke: {
        src: 'shutdown',
        input: ({ context }) => ({ input: context, recovered: context.recovered }),
        onDone: [{ guard: 'failed', target: 'failed' }, { target: 'stopped' }],
        onError: 'failed',
      },
    },
    stopped: { type: 'final' },
    failed: { type: 'final' },
  },
});
