import { assign, sendTo, setup } from 'xstate';
import { electionMachine, zabRoleMachine, type ElectionEvent, type ElectionInput, type RoleHost, type RoleLimits } from '@zooid/zab';

export interface MemberInput {
  id: string;
  /** What an election of this round starts from: this member's history now, and how to publish votes. */
  election: (round: number) => ElectionInput;
  /** Host of the leader role (when elected) or of the follower role. */
  lead: RoleHost;
  follow: (leader: string) => RoleHost;
  limits: RoleLimits;
}

/** RECONFIGURED: a looking member adopted a newer committed configuration; its election starts again with those voters. */
type MemberEvent = ElectionEvent | { type: 'ELECTED'; leader: string; round: number } | { type: 'RECONFIGURED' } | { type: 'STOP' };

const leaderMachine = zabRoleMachine('leader');
const followerMachine = zabRoleMachine('follower');

/**
 * A voting member: LOOKING until an election decides, then LEADING (the
 * leader machine) or FOLLOWING (the follower machine); when that role ends —
 * lost quorum, silent leader — back to LOOKING. This machine is the source of
 * truth for the member's role.
 */
export const memberMachine = setup({
  types: {
    input: {} as MemberInput,
    context: {} as MemberInput & { leader: string; round: number; lastEnd: string },
    events: {} as MemberEvent,
  },
  actors: {
    election: electionMachine,
    leader: leaderMachine,
    follower: followerMachine,
  },
  actions: {
    // The decision as an event of its own, so that the member's log and chart say ELECTED.
    announceElected: sendTo(({ self }) => self, (_, o: { leader: string; round: number }) => ({ type: 'ELECTED' as const, ...o })),
    noteElection: assign({
      leader: ({ event }) => (event.type === 'ELECTED' ? event.leader : ''),
      round: ({ event, context }) => (event.type === 'ELECTED' ? event.round : context.round),
    }),
    noteEnd: assign({ lastEnd: (_, reason: string) => reason, leader: '' }),
    forwardVote: sendTo('election', ({ event }) => event),
  },
  guards: {
    electedSelf: ({ context, event }) => event.type === 'ELECTED' && event.leader === context.id,
  },
}).createMachine({
  id: 'member',
  context: ({ input }) => ({ ...input, leader: '', round: 0, lastEnd: '' }),
  initial: 'looking',
  states: {
    looking: {
      invoke: {
        src: 'election',
        id: 'election',
        input: ({ context }) => context.election(context.round + 1),
        onDone: { actions: { type: 'announceElected', params: ({ event }) => event.output } },
      },
      on: {
        VOTE: { actions: 'forwardVote' },
        RECONFIGURED: { target: 'looking', reenter: true },
        ELECTED: [
          { guard: 'electedSelf', target: 'leading', actions: 'noteElection' },
          { target: 'following', actions: 'noteElection' },
        ],
      },
    },
    leading: {
      invoke: {
        src: 'leader',
        id: 'role',
        input: ({ context }) => ({ host: context.lead, limits: context.limits }),
        onDone: { target: 'looking', actions: { type: 'noteEnd', params: ({ event }) => event.output.reason } },
      },
    },
    following: {
      invoke: {
        src: 'follower',
        id: 'role',
        input: ({ context }) => ({ host: context.follow(context.leader), limits: context.limits }),
        onDone: { target: 'looking', actions: { type: 'noteEnd', params: ({ event }) => event.output.reason } },
      },
    },
    stopped: { type: 'final' },
  },
  on: { STOP: '.stopped' },
});
