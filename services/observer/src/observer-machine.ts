import { setup } from 'xstate';
import { zabRoleMachine, type ZabRoleInput } from '@zooid/zab';

/** How long an observer rests between a stint that ended and the next. */
export const RETRY_MS = 500;

/**
 * An observer's life: one Zab role stint after another. When a stint ends
 * (its leader went away, a gap it could not fill) the observer rests a
 * moment, then syncs again with whoever leads.
 */
export const observerProcessMachine = setup({
  types: {
    input: {} as ZabRoleInput,
    context: {} as ZabRoleInput,
    events: {} as { type: 'STOP' },
  },
  actors: { role: zabRoleMachine('observer') },
  delays: { retry: RETRY_MS },
}).createMachine({
  id: 'observerProcess',
  context: ({ input }) => input,
  initial: 'observing',
  states: {
    observing: { invoke: { src: 'role', id: 'role', input: ({ context }) => context, onDone: 'resting' } },
    resting: { after: { retry: 'observing' } },
    stopped: { type: 'final' },
  },
  on: { STOP: '.stopped' },
});
