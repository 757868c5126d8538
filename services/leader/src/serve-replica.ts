import { BatchNumbers, SeriesGaps, pack, subjects, type Forwarded, type GatewayBatch, type LearnerBatch, type LearnerToGw } from '@zooid/protocol';
import type { DataTree } from '@zooid/tree';
import { Replica } from '@zooid/replica';
import { atTurnEnd, dropImpostor, listen, maxPayload, splitForPayload, testDrop, type Logger, type NatsConnection } from '@zooid/runtime';
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
  /** The newest zxid this member has logged: clients that have seen more are refused. */
  lastLogged: () => number,
): ServedReplica {
  const subj = subjects(opts.cluster);
  const heartbeatMs = Math.max(20, Math.floor(opts.tickTime / 2));
  const numbers = new BatchNumbers(heartbeatMs);
  const gaps = new SeriesGaps();
  const drop = testDrop('GATEWAY_BATCH');
  const publish = (gw: string, entries: LearnerToGw[]) => {
    const seq = numbers.next(gw);
    nc.publish(subj.gatewayIn(gw, opts.id), pack([opts.id, numbers.seriesOf(gw), seq, entries] satisfies LearnerBatch));
  };
  const replica = new Replica(
    {
      id: opts.id,
      tickTime: opts.tickTime,
      minSessionTimeout: opts.minSessionTimeout,
      maxSessionTimeout: opts.maxSessionTimeout,
      tree: opts.tree,
      forward,
      lastLogged,
      defer: atTurnEnd,
      replyWindow: opts.replyWindow,
      maxSessionWatches: opts.maxSessionWatches,
      send: (gw, entries) => {
        // Over the bus's max_payload a batch goes as several messages; a reply
        // too large to cross at all costs the client its connection.
        const { parts, tooBig } = splitForPayload(nc, entries, undefined, false, opts.gatewayBatchBytes);
        const refused = new Set(tooBig.map((e) => e[1]));
        for (const id of refused) log.warn({ gateway: gw, conn: id, maxPayload: maxPayload(nc) }, 'reply too large for the bus; closing the connection');
        for (const part of parts) {
          const kept = refused.size === 0 ? part : part.filter((e) => !refused.has(e[1]));
          if (kept.length > 0) publish(gw, kept);
        }
        if (refused.size > 0) {
          const closes = [...refused].map((id): LearnerToGw => ['x', id, 'reply too large for the bus']);
          publish(gw, closes);
        }
      },
      warn: (fields, msg) => log.warn(fields, msg),
    },
    tree,
  );
  const sub = listen<GatewayBatch>(nc, subj.learnerInAll(opts.id), log, ([gw, series, seq, entries], sender, subject) => {
    if (entries.length > 0 && drop()) return;
    // A gateway acts only on the connections it holds: the ones it attached under its own name.
    if (gw !== sender) return dropImpostor(log, subject, { claimed: gw });
    const heard = gaps.check(gw, series, seq, entries.length === 0);
    // A gateway that started over (it restarted, or lost our batches) hears us from the start of a new series too.
    if (heard.newSeries) numbers.restart(gw);
    if (heard.gap) {
      log.warn({ gateway: gw, seq }, 'batches from a gateway were lost; closing its connections here');
      replica.dropGateway(gw, 'lost messages from the gateway');
      return;
    }
    replica.fromGateway(gw, entries);
  });
  // After traffic, each gateway hears our last batch number: a lost last batch shows within a heartbeat.
  const heartbeat = setInterval(
    () => {
      for (const [gw, seq, series] of numbers.heartbeats()) nc.publish(subj.gatewayIn(gw, opts.id), pack([opts.id, series, seq, []] satisfies LearnerBatch));
    },
    heartbeatMs,
  );
  return {
    replica,
    stop: (reason) => {
      clearInterval(heartbeat);
      sub.unsubscribe();
      replica.detachAll(reason);
    },
  };
}
