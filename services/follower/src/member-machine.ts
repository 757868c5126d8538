import { assign, sendTo, setup } from 'xstate';
import { zabRoleMachine, type RoleHost } from '@zooid/leader';
import { electionMachine, type ElectionEvent, type ElectionInput } from '@zooid/zab';

export interface MemberInput {
  id: string;
  /** What an election of this round starts from: this member's history now, and how to publish votes. */
  election: (round: number) => ElectionInput;
  /** Host of the leader role (when elected) or of the follower role. */
  lead: RoleHost;
  follow: (leader: string) => RoleHost;
}

type MemberEvent = ElectionEvent | { type: 'STOP' };

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
    noteElection: assign({ leader: (_, o: { leader: string; round: number }) => o.leader, round: (_, o: { leader: string; round: number }) => o.round }),
    noteEnd: assign({ lastEnd: (_, reason: string) => reason, leader: '' }),
    forwardVote: sendTo('election', ({ event }) => event),
  },
  guards: {
    electedSelf: ({ context }, leader: string) => leader === context.id,
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
        onDone: [
          { guard: { type: 'electedSelf', params: ({ event }) => event.output.leader }, target: 'leading', actions: { type: 'noteElection', params: ({ event }) => event.output } },
          { target: 'following', actions: { type: 'noteElection', params: ({ event }) => event.output } },
        ],
      },
      on: { VOTE: { actions: 'forwardVote' } },
    },
    leading: {
      invoke: {
        src: 'leader',
        id: 'role',
        input: ({ context }) => ({ host: context.lead }),
        onDone: { target: 'looking', actions: { type: 'noteEnd', params: ({ event }) => event.output.reason } },
      },
    },
    following: {
      invoke: {
        src: 'follower',
        id: 'role',
        input: ({ context }) => ({ host: context.follow(context.leader) }),
        onDone: { target: 'looking', actions: { type: 'noteEnd', params: ({ event }) => event.output.reason } },
      },
    },
    stopped: { type: 'final' },
  },
  on: { STOP: '.stopped' },
});
