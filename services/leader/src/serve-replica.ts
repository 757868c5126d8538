import { pack, subjects, type Forwarded, type GatewayBatch } from '@zooid/protocol';
import type { DataTree } from '@zooid/tree';
import { Replica } from '@zooid/replica';
import { listen, type Logger, type NatsConnection } from '@zooid/runtime';
import type { RoleOptions } from './leader-role.js';

export interface ServedReplica {
  replica: Replica;
  /** Stops taking gateway traffic and disconnects the clients attached here. */
  stop(reason: string): void;
}

/**
 * Puts a member's tree in front of the gateways: a replica that takes client
 * traffic on this learner's subject, answers gateways directly, and hands
 * writes to `forward` (the local pipeline on the leader, the bus elsewhere).
 */
export function serveReplica(
  opts: RoleOptions,
  tree: DataTree,
  nc: NatsConnection,
  log: Logger,
  forward: (entries: Forwarded[]) => void,
): ServedReplica {
  const subj = subjects(opts.cluster);
  const replica = new Replica(
    {
      id: opts.id,
      tickTime: opts.tickTime,
      minSessionTimeout: opts.minSessionTimeout,
      maxSessionTimeout: opts.maxSessionTimeout,
      tree: opts.tree,
      forward,
      send: (gw, entries) => nc.publish(subj.gatewayIn(gw), pack(entries)),
      warn: (fields, msg) => log.warn(fields, msg),
    },
    tree,
  );
  const sub = listen<GatewayBatch>(nc, subj.learnerIn(opts.id), log, ([gw, entries]) => replica.fromGateway(gw, entries));
  return {
    replica,
    stop: (reason) => {
      sub.unsubscribe();
      replica.detachAll(reason);
    },
  };
}
