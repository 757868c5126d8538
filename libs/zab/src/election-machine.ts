import { assign, setup } from 'xstate';
import type { Vote } from '@zooid/protocol';
import { Election, type Proposal } from './election.js';

export interface ElectionInput {
  self: string;
  voters: readonly string[];
  /** The voters of a configuration change this member logged but has not seen commit: a decision needs their quorum too. */
  pending?: readonly string[];
  /** This member's own history: its current epoch and last logged zxid. */
  own: Proposal;
  round: number;
  /** Sends a vote to every voter. */
  publish: (v: Vote) => void;
}

/** The decided leader and the round it was decided in. */
export interface ElectionOutcome {
  leader: string;
  round: number;
}

export type ElectionEvent = { type: 'VOTE'; vote: Vote };

/** How long a member that sees a quorum for its proposal waits for better news. */
export const FINALIZE_WAIT_MS = 200;
/** Votes are repeated this often: the bus may drop any of them. */
export const REVOTE_MS = 400;

/**
 * One fast leader election as an actor: the pure `Election` counts the votes
 * it is sent; the machine owns the timers — the vote repeated every
 * REVOTE_MS, and the finalize wait: a quorum for our proposal decides only
 * if it still holds FINALIZE_WAIT_MS later. Its output is the leader. Time
 * comes from the actor's clock, so a test or simulator can drive it.
 */
export const electionMachine = setup({
  types: {
    input: {} as ElectionInput,
    context: {} as { election: Election; publish: (v: Vote) => void; join?: ElectionOutcome; alone: boolean },
    events: {} as ElectionEvent,
    output: {} as ElectionOutcome,
  },
  delays: { finalizeWait: FINALIZE_WAIT_MS, revote: REVOTE_MS },
  actions: {
    publishVote: ({ context }) => context.publish(context.election.vote()),
    receive: assign(({ context, event }) => {
      const step = context.election.receive(event.vote);
      if (step.send) context.publish(step.send);
      return step.join ? { join: { leader: step.join.leader, round: step.join.round } } : {};
    }),
  },
  guards: {
    alone: ({ context }) => context.alone,
    joined: ({ context }) => context.join !== undefined,
    quorum: ({ context }) => context.election.hasQuorum(),
  },
}).createMachine({
  id: 'election',
  context: ({ input }) => ({
    election: new Election(input.self, input.voters, input.own, input.round, input.pending),
    publish: input.publish,
    // The only voter decides at once; a joiner of a one-voter ensemble is not that voter.
    alone: [input.voters, input.pending ?? input.voters].every((set) => set.length === 1 && set[0] === input.self),
  }),
  initial: 'looking',
  states: {
    looking: {
      type: 'parallel',
      entry: 'publishVote',
      on: { VOTE: { actions: 'receive' } },
      states: {
        ballot: {
          initial: 'voting',
          states: {
            voting: {
              always: [
                { guard: 'alone', target: '#election.decided' },
                { guard: 'joined', target: '#election.decided' },
                { guard: 'quorum', target: 'finalizing' },
              ],
            },
            finalizing: {
              always: { guard: 'joined', target: '#election.decided' },
              after: { finalizeWait: [{ guard: 'quorum', target: '#election.decided' }, { target: 'voting' }] },
            },
          },
        },
        rebroadcast: {
          initial: 'waiting',
          states: { waiting: { after: { revote: { target: 'waiting', reenter: true, actions: 'publishVote' } } } },
        },
      },
    },
    decided: { type: 'final' },
  },
  output: ({ context }) => context.join ?? { leader: context.election.current().leader, round: context.election.round },
});
