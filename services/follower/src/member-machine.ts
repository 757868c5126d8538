import { assign, fromCallback, setup } from 'xstate';
import { zabRoleMachine, type RoleHost } from '@zooid/leader';

export interface MemberInput {
  id: string;
  /** Runs fast leader election; calls `elected` once with the leader's id. */
  elect: (round: number, elected: (leader: string, round: number) => void) => () => void;
  /** Host of the leader role (when elected) or of the follower role. */
  lead: RoleHost;
  follow: (leader: string) => RoleHost;
}

type MemberEvent = { type: 'ELECTED'; leader: string; round: number } | { type: 'STOP' };

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
    election: fromCallback<MemberEvent, { input: MemberInput; round: number }>(({ input, sendBack }) =>
      input.input.elect(input.round + 1, (leader, round) => sendBack({ type: 'ELECTED', leader, round })),
    ),
    leader: leaderMachine,
    follower: followerMachine,
  },
  actions: {
    noteElection: assign({
      leader: ({ event }) => (event.type === 'ELECTED' ? event.leader : ''),
      round: ({ event, context }) => (event.type === 'ELECTED' ? event.round : context.round),
    }),
    noteEnd: assign({ lastEnd: (_, reason: string) => reason, leader: '' }),
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
      invoke: { src: 'election', input: ({ context }) => ({ input: context, round: context.round }) },
      on: {
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
