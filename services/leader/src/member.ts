import { hostname } from 'node:os';
import { createActor, type Actor } from 'xstate';
import {
  OpCode,
  pack,
  subjects,
  unpack,
  type AdminAsk,
  type GatewayBatch,
  type Presence,
  type SessionTouch,
} from '@zooid/protocol';
import { Preparer, encodeSnapshot, type Txn, type TxnHeader } from '@zooid/tree';
import { Replica } from '@zooid/replica';
import { closeBus, connectBus, type Logger, type NatsConnection } from '@zooid/runtime';
import { leaderMachine } from './machine.js';
import { recover, hex, type Recovered } from './recover.js';
import { WritePipeline } from './pipeline.js';
import { SessionTracker } from './sessions.js';
import { adminInfo } from './admin.js';

export interface MemberOptions {
  id: string;
  dataDir: string;
  natsUrl: string;
  cluster: string;
  tickTime: number;
  minSessionTimeout: number;
  maxSessionTimeout: number;
  /** Transactions between snapshots. */
  snapCount: number;
  snapRetain: number;
  superDigest?: string;
  maxBuffer: number;
}

export interface RunningMember {
  actor: Actor<typeof leaderMachine>;
  /** Resolves when the member has stopped; rejects if it failed. */
  done: Promise<void>;
  stop(): void;
}

/**
 * A one-member ensemble (ZooKeeper's standalone mode): the leader role plus a
 * learner replica in one process, reached by gateways over the bus.
 */
export async function runStandaloneMember(opts: MemberOptions, log: Logger): Promise<RunningMember> {
  const nc = await connectBus(opts.natsUrl, `zooid-member-${opts.id}`, log);
  const subj = subjects(opts.cluster);
  let stopServing: (() => void) | undefined;

  const actor = createActor(leaderMachine, {
    input: {
      recover: () => recover(opts.dataDir, log, opts.snapRetain),
      broadcast: (r, fail) => {
        stopServing = serve(opts, r, nc, subj, log, fail);
        return () => stopServing?.();
      },
      shutdown: async (r) => {
        await r?.log.close();
        await closeBus(nc);
      },
    },
  });
  const done = new Promise<void>((resolve, reject) => {
    actor.subscribe((s) => {
      log.debug({ state: s.value }, 'leader state');
      if (s.status !== 'done') return;
      if (s.value === 'failed') reject(s.context.error ?? new Error('leader failed'));
      else resolve();
    });
  });
  actor.start();
  return { actor, done, stop: () => actor.send({ type: 'STOP' }) };
}

function serve(
  opts: MemberOptions,
  r: Recovered,
  nc: NatsConnection,
  subj: ReturnType<typeof subjects>,
  log: Logger,
  fail: (err: unknown) => void,
): () => void {
  const { tree, epochs } = r;
  const treeConfig = { superDigest: opts.superDigest, maxDataBytes: opts.maxBuffer };
  const tracker = new SessionTracker();
  const now = Date.now();
  for (const [id, s] of tree.sessions) tracker.add(id, s.timeout, now);

  let sinceSnapshot = r.replayed;
  let snapshotting = false;
  const takeSnapshot = () => {
    if (snapshotting) return;
    snapshotting = true;
    sinceSnapshot = 0;
    const zxid = tree.lastZxid;
    const bytes = encodeSnapshot(tree);
    r.snapshots
      .write(zxid, bytes)
      // Purge below the oldest snapshot kept: loading may fall back to it.
      .then(() => r.snapshots.list())
      .then((kept) => r.log.purge(kept.at(-1) ?? 0, 2))
      .catch((err) => log.error({ err }, 'snapshot failed'))
      .finally(() => (snapshotting = false));
  };

  const replica = new Replica(
    {
      id: opts.id,
      tickTime: opts.tickTime,
      minSessionTimeout: opts.minSessionTimeout,
      maxSessionTimeout: opts.maxSessionTimeout,
      tree: treeConfig,
      forward: (entries) => pipeline.submit(entries),
      send: (gw, entries) => nc.publish(subj.gatewayIn(gw), pack(entries)),
      warn: (fields, msg) => log.warn(fields, msg),
    },
    tree,
  );

  const commit = (hdr: TxnHeader, txn: Txn) => {
    replica.committed(hdr, txn);
    if (hdr.type === OpCode.createSession) {
      const s = tree.sessions.get(hdr.sessionId);
      if (s) tracker.add(hdr.sessionId, s.timeout, Date.now());
    } else if (hdr.type === OpCode.closeSession) {
      tracker.remove(hdr.sessionId);
    }
    if (++sinceSnapshot >= opts.snapCount) takeSnapshot();
  };

  // Each leadership is a new epoch, persisted before the first proposal.
  const epoch = Math.max(epochs.readCurrent(), Math.floor(tree.lastZxid / 2 ** 32)) + 1;
  epochs.writeAccepted(epoch);
  epochs.writeCurrent(epoch);
  const preparer = new Preparer(tree, treeConfig);
  const pipeline = new WritePipeline(
    { log: r.log, preparer, commit, synced: (m) => replica.synced(m.sessionId, m.cxid, m.path), now: Date.now, fatal: fail },
    tree.lastZxid,
    epoch,
  );
  log.info({ epoch, lastZxid: hex(tree.lastZxid) }, 'leading');

  const guard = (what: string, fn: (data: Uint8Array) => void) => (err: Error | null, msg: { data: Uint8Array }) => {
    if (err) return;
    try {
      fn(msg.data);
    } catch (e) {
      log.warn({ err: e, subject: what }, 'dropped a malformed bus message');
    }
  };
  const subs = [
    nc.subscribe(subj.learnerIn(opts.id), {
      callback: guard('learner', (data) => {
        const [gw, entries] = unpack<GatewayBatch>(data);
        replica.fromGateway(gw, entries);
      }),
    }),
    nc.subscribe(subj.touch, {
      callback: guard('touch', (data) => tracker.touch(unpack<SessionTouch>(data).sessions, Date.now())),
    }),
    nc.subscribe(subj.admin(opts.id), {
      callback: (err, msg) => {
        if (err) return;
        try {
          const ask = unpack<AdminAsk>(msg.data);
          msg.respond(pack(adminInfo(ask, { opts, tree, replica, tracker, pipeline, epoch })));
        } catch (e) {
          log.warn({ err: e }, 'bad admin request');
        }
      },
    }),
  ];

  const presence = (): Presence => ({
    kind: 'member',
    id: opts.id,
    role: 'leading',
    pid: process.pid,
    host: hostname(),
    epoch,
    zxid: tree.lastZxid,
    sessions: replica.sessionCount,
  });
  const announce = () => nc.publish(subj.presence, pack(presence()));
  announce();

  const tick = setInterval(() => {
    const t = Date.now();
    for (const id of tracker.expired(t)) {
      log.info({ sessionId: '0x' + id.toString(16) }, 'session expired');
      pipeline.submitInternal(id, OpCode.closeSession, undefined);
    }
    for (const path of preparer.cleanupCandidates(t)) pipeline.submitInternal(0n, OpCode.deleteContainer, { path });
  }, Math.max(50, Math.floor(opts.tickTime / 2)));
  const presenceTimer = setInterval(announce, 1000);

  return () => {
    clearInterval(tick);
    clearInterval(presenceTimer);
    for (const s of subs) s.unsubscribe();
  };
}
