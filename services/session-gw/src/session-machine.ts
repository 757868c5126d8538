import { setup } from 'xstate';

/**
 * A client connection's session lifecycle as the gateway sees it. Requests do
 * not pass through the machine: the connection's plain code checks its state
 * and forwards; only lifecycle changes are events.
 */
export type SessionEvent =
  | { type: 'ESTABLISHED' }
  | { type: 'REFUSED' }
  | { type: 'SOCKET_CLOSED' }
  | { type: 'SERVER_CLOSED'; reason: string }
  | { type: 'SESSION_ENDED'; reason: string };

export interface SessionHooks {
  /** The connection is over for whatever reason: release it. */
  release: (state: string, reason: string) => void;
}

/**
 * How long a connect may wait for a learner to answer. Not how lost batches
 * are noticed (a heartbeat shows those, and the connection is closed at
 * once): it bounds a learner that holds a connect on purpose, for a client
 * that has seen more than the learner has applied.
 */
export const CONNECT_DEADLINE_MS = 10_000;

export const sessionMachine = setup({
  types: {
    input: {} as SessionHooks,
    context: {} as SessionHooks & { reason: string },
    events: {} as SessionEvent,
  },
  actions: {
    note: ({ context }, reason: string) => {
      context.reason = reason;
    },
    release: ({ context, self }) => context.release(String(self.getSnapshot().value), context.reason),
  },
  delays: { connectDeadline: CONNECT_DEADLINE_MS },
}).createMachine({
  id: 'session',
  context: ({ input }) => ({ ...input, reason: '' }),
  initial: 'connecting',
  states: {
    connecting: {
      after: { connectDeadline: { target: 'closed', actions: { type: 'note', params: 'no learner answered the connect' } } },
      on: {
        ESTABLISHED: 'connected',
        REFUSED: { target: 'expired', actions: { type: 'note', params: 'session expired or unknown' } },
        SOCKET_CLOSED: { target: 'disconnected', actions: { type: 'note', params: 'client went away' } },
        SERVER_CLOSED: { target: 'closed', actions: { type: 'note', params: ({ event }) => event.reason } },
        SESSION_ENDED: { target: 'closed', actions: { type: 'note', params: ({ event }) => event.reason } },
      },
    },
    connected: {
      on: {
        SOCKET_CLOSED: { target: 'disconnected', actions: { type: 'note', params: 'client went away' } },
        SERVER_CLOSED: { target: 'closed', actions: { type: 'note', params: ({ event }) => event.reason } },
        SESSION_ENDED: { target: 'expired', actions: { type: 'note', params: ({ event }) => event.reason } },
      },
    },
    disconnected: { type: 'final', entry: 'release' },
    expired: { type: 'final', entry: 'release' },
    closed: { type: 'final', entry: 'release' },
  },
});
