/**
 * The bus's subjects and who may use them: one table that the services
 * publish and subscribe by, and that nats-server's permissions are written
 * from. A receiver trusts a message because of the subject the bus let its
 * sender publish on, never because of what the message says about its
 * sender: wherever identity matters, the sender's id is the subject's last
 * token, and only that identity is allowed to publish there.
 */

/** A process's identity on the bus: what it is and its id (the subject token it may speak as). */
export interface BusIdentity {
  kind: 'member' | 'observer' | 'gateway' | 'tool' | 'auditor';
  id: string;
}

/** The process names the supervisors give children, and the nkey files they get: `member-1`, `gateway-gw1`, … */
export function identityName(who: BusIdentity): string {
  return `${who.kind}-${who.id}`;
}

/** An id becomes a subject token: no dots, wildcards or spaces, and short enough to read in a log. */
export function isSubjectToken(id: string): boolean {
  return /^[A-Za-z0-9_-]{1,64}$/.test(id);
}

/** The sender of a message received on a subject whose last token names it. */
export function senderOf(subject: string): string {
  return subject.slice(subject.lastIndexOf('.') + 1);
}

/** Each identity's own inbox prefix, so that nobody can subscribe to the replies of another's requests. */
export function inboxPrefix(who: BusIdentity): string {
  return `_INBOX.${who.kind}.${who.id}`;
}

/** All subjects live under one prefix so several clusters can share a NATS server. */
export function subjects(cluster = 'zooid') {
  const p = cluster;
  return {
    /** gateway → learner: client connects, requests and disconnects (GatewayBatch). */
    learnerIn: (learner: string, gateway: string) => `${p}.learner.${learner}.in.${gateway}`,
    /** what a learner subscribes to: every gateway's traffic for it. */
    learnerInAll: (learner: string) => `${p}.learner.${learner}.in.*`,
    /** learner → gateway: replies, notifications, connect answers, closes (LearnerBatch). */
    gatewayIn: (gateway: string, learner: string) => `${p}.gw.${gateway}.in.${learner}`,
    gatewayInAll: (gateway: string) => `${p}.gw.${gateway}.in.*`,
    /** gateway → leader: sessions that are alive (SessionTouch). */
    touch: (gateway: string) => `${p}.leader.touch.${gateway}`,
    touchAll: `${p}.leader.touch.*`,
    /** learner → its leader: forwarded writes, with the auth ids the learner checked (ForwardBatch). */
    leaderIn: (leader: string, learner: string) => `${p}.leader.in.${leader}.${learner}`,
    /** what a leader subscribes to: the forwarded writes addressed to it. */
    leaderInAll: (leader: string) => `${p}.leader.in.${leader}.*`,
    /** request/reply: a member's statistics for four-letter words and admin (AdminAsk → object). */
    admin: (serviceId: string) => `${p}.admin.${serviceId}`,
    /** every service announces itself on its own subject (Presence). */
    presence: (kind: BusIdentity['kind'], id: string) => `${p}.presence.${kind}.${id}`,
    presenceAll: `${p}.presence.*.*`,
    /** voting members' election notifications (Vote), each on its sender's subject. */
    election: (member: string) => `${p}.election.${member}`,
    electionAll: `${p}.election.*`,
    /**
     * a learner → the one leader it follows: handshake, acks, sync progress
     * (ToLeader), addressed, and on its sender's subject. Addressed because two
     * members can lead the same epoch at once until one of them fails to
     * establish it: an ack either of them took as its own could establish
     * both (as a TCP connection to one leader never could in ZooKeeper).
     */
    zabLeader: (leader: string, from: string) => `${p}.zab.leader.${leader}.${from}`,
    zabLeaderAll: (leader: string) => `${p}.zab.leader.${leader}.*`,
    /** an observer → whoever leads: its first `info`, before it knows the leader (every leader answers; it takes one). */
    zabSeek: (from: string) => `${p}.zab.seek.${from}`,
    zabSeekAll: `${p}.zab.seek.*`,
    /** a leader → one learner: epoch and sync (ToLearner). */
    zabLearner: (learner: string, leader: string) => `${p}.zab.learner.${learner}.${leader}`,
    zabLearnerAll: (learner: string) => `${p}.zab.learner.${learner}.*`,
    /** a leader → every learner at once: proposals, commits, heartbeats (Broadcast). */
    zabBroadcast: (leader: string) => `${p}.zab.broadcast.${leader}`,
    zabBroadcastAll: `${p}.zab.broadcast.*`,
    /**
     * request/reply: answered by the leader of an epoch while it leads. When
     * its process dies the NATS server drops the subscription at once and a
     * learner's probe gets "no responders": the bus's version of the TCP
     * reset that tells a ZooKeeper follower its leader is gone.
     */
    zabAlive: (leader: string, epoch: number | '*') => `${p}.zab.alive.${leader}.${epoch}`,
    /** one service's actors, coalesced, for the inspector (InspectMessage). */
    inspect: (kind: BusIdentity['kind'], id: string) => `${p}.inspect.${kind}.${id}`,
    /** every service's inspect subject, for a subscriber. */
    inspectAll: `${p}.inspect.*.*`,
    /** an inspector joined: publishers send machine definitions with their next message. */
    inspectHello: `${p}.inspecthello`,
  };
}
export type Subjects = ReturnType<typeof subjects>;

/** nats-server's permissions for one user, as its configuration file spells them. */
export interface BusPermissions {
  /** An empty allow list would mean no restriction to nats-server: who may publish nothing is denied everything. */
  publish: { allow: string[] } | { deny: string[] };
  subscribe: { allow: string[] };
  /** May answer requests on the reply subject they name (and only that). */
  allow_responses: boolean;
}

/**
 * Who may say what on which subject. Members speak as themselves on votes,
 * acks, broadcasts and replies to gateways; observers learn and serve but
 * cannot vote or ack as a voter (their ids are not voters'); gateways reach
 * learners and keep sessions alive but never see the broadcast or another
 * gateway's replies; tools (`zooid status`, tests) only read presence and
 * ask members for statistics; an auditor only listens. Nobody but members,
 * observers and an auditor subscribes
 * to the broadcast, forwarded writes or a learner's client traffic.
 */
export function busPermissions(cluster: string, who: BusIdentity): BusPermissions {
  const s = subjects(cluster);
  const me = who.id;
  const inbox = `${inboxPrefix(who)}.>`;
  const seeing = [s.presenceAll, s.inspectAll, s.electionAll];
  switch (who.kind) {
    case 'member':
      return {
        publish: {
          allow: [
            s.gatewayIn('*', me),
            s.leaderIn('*', me),
            s.election(me),
            s.zabLeader('*', me),
            s.zabLearner('*', me),
            s.zabBroadcast(me),
            s.zabAlive('*', '*'),
            s.presence('member', me),
            s.inspect('member', me),
          ],
        },
        subscribe: {
          allow: [
            s.learnerInAll(me),
            s.leaderInAll(me),
            s.touchAll,
            s.electionAll,
            s.zabLeaderAll(me),
            s.zabSeekAll,
            s.zabLearnerAll(me),
            s.zabBroadcastAll,
            s.zabAlive(me, '*'),
            s.admin(me),
            s.inspectHello,
            // A joiner without --ensemble learns the configuration from the members' announcements.
            s.presence('member', '*'),
            inbox,
          ],
        },
        allow_responses: true,
      };
    case 'observer':
      return {
        publish: {
          allow: [
            s.gatewayIn('*', me),
            s.leaderIn('*', me),
            s.zabLeader('*', me),
            s.zabSeek(me),
            s.zabAlive('*', '*'),
            s.presence('observer', me),
            s.inspect('observer', me),
          ],
        },
        subscribe: {
          allow: [s.learnerInAll(me), s.zabLearnerAll(me), s.zabBroadcastAll, s.admin(me), s.inspectHello, inbox],
        },
        allow_responses: true,
      };
    case 'gateway':
      return {
        publish: {
          allow: [s.learnerIn('*', me), s.touch(me), s.admin('*'), s.presence('gateway', me), s.inspect('gateway', me), s.inspectHello],
        },
        subscribe: { allow: [s.gatewayInAll(me), ...seeing, s.inspectHello, inbox] },
        allow_responses: false,
      };
    case 'tool':
      return {
        publish: { allow: [s.admin('*'), s.inspectHello] },
        subscribe: { allow: [...seeing, inbox] },
        allow_responses: false,
      };
    case 'auditor':
      // Reads every subject of the cluster and says nothing: a tap for tests and
      // forensics, provisioned only when asked for, never run by a Zooid process.
      return { publish: { deny: ['>'] }, subscribe: { allow: [`${cluster}.>`, inbox] }, allow_responses: false };
  }
}
