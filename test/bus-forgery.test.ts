/**
 * The bus cannot be forged (issue: a bus that can't be forged). A cluster of
 * real processes on a secured bus of three nats-servers — nkeys, subject
 * permissions, TLS — and an attacker holding a gateway's credentials, an
 * observer's, or none, who tries what an outsider on an open bus could do:
 * read client data and session secrets, commit a write as super, inject a
 * transaction on followers, close another gateway's session, forge votes,
 * force a step-down, and route clients to a learner that does not exist.
 * Each attempt is refused by nats-server (a permissions violation the
 * attacker's client reports) or dropped by its receiver, and the cluster
 * carries on: same leader, same epoch, every member's tree the same.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { CreateFlags, OpCode, encodeRequest, pack, subjects, type Broadcast, type ForwardBatch, type GatewayBatch, type Presence, type Vote } from '@zooid/protocol';
import { encodeTxn } from '@zooid/tree';
import { connectBus, createLogger } from '@zooid/runtime';
import { Cluster } from './cluster/harness.js';
import { connectClient, learnerOf, sessionOf, within, type NzkClient } from './cluster/clients.js';
import { killProc, startProc, waitFor } from './harness.js';
import { logLines } from './support/procs.js';

const subj = subjects('zooid');
let cluster: Cluster;
let victim: NzkClient;
let leader: string;
let epoch: number;

beforeAll(async () => {
  cluster = await Cluster.start({ voters: 3, observers: 1, gateways: 2 });
  const s = await cluster.settled();
  leader = s.leader.id;
  epoch = s.epoch;
  victim = await connectClient(cluster.gateways[1]!.hostPort);
  await victim.create('/forgery', Buffer.from('base'), CreateFlags.PERSISTENT);
}, 120_000);

afterAll(async () => {
  await victim?.close().catch(() => undefined);
  await cluster?.stop();
});

/** The attacker's connection and every permissions violation nats-server reported to it. */
async function attacker(who: { kind: 'gateway' | 'observer'; id: string }): Promise<{ nc: NatsConnection; violations: string[] }> {
  const nc = await cluster.bus.connect(who);
  const violations: string[] = [];
  void (async () => {
    for await (const s of nc.status()) if (s.type === 'error') violations.push(String(s.error));
  })();
  return { nc, violations };
}

async function refused(violations: string[], op: 'Publish' | 'Subscription', subject: string): Promise<void> {
  await waitFor(`a permissions violation for ${op.toLowerCase()} on ${subject}`, () => violations.some((v) => v.includes(op) && v.includes(subject)), 5000);
}

/** After the forgeries: same leader in the same epoch, a write still commits, and every learner converged on it. */
async function unharmed(): Promise<void> {
  await victim.setData('/forgery', Buffer.from(`after-${Date.now()}`), -1);
  const s = await cluster.settled();
  expect({ leader: s.leader.id, epoch: s.epoch }).toEqual({ leader, epoch });
  await cluster.converged();
}

describe('without credentials', () => {
  it('nothing connects: not with TLS and no key, not in plain text, not with a key the servers do not know', async () => {
    const urls = cluster.bus.urls.split(',');
    await expect(connect({ servers: urls, tls: { caFile: cluster.bus.ca }, reconnect: false })).rejects.toThrow(/Authorization Violation|authorization/i);
    await expect(connect({ servers: urls.map((u) => u.replace('tls://', 'nats://')), reconnect: false, tls: null })).rejects.toThrow();
    await expect(connectBus({ servers: cluster.bus.urls, tlsCa: cluster.bus.ca, nkey: cluster.strangerSeed() }, { kind: 'member', id: '9' }, createLogger('attacker'))).rejects.toThrow(/Authorization Violation|authorization/i);
  });

  it('a member started with a key the bus does not know, or with none, cannot join', async () => {
    for (const creds of [['--nats-nkey', cluster.strangerSeed()], []]) {
      const p = startProc('intruder', ['follower', '--id', '4', '--ensemble', '1,2,3,4', '--data-dir', cluster.tempDir('intruder'), '--nats', cluster.bus.urls, '--nats-tls-ca', cluster.bus.ca, ...creds]);
      try {
        const code = await within(p.exited.then(() => p.child.exitCode), 20_000, 'the intruder to give up');
        expect(code).not.toBe(0);
        expect(p.output()).toMatch(/Authorization Violation|authorization/i);
      } finally {
        await killProc(p);
      }
    }
    expect(cluster.spy.fresh('member').map((p) => p.id).sort()).toEqual(['1', '2', '3']);
  });
});

describe("with a gateway's credentials", () => {
  it('cannot read the broadcast, forwarded writes, a learner\'s client traffic, another gateway\'s replies or anyone\'s inbox', async () => {
    const { nc, violations } = await attacker({ kind: 'gateway', id: 'gw1' });
    const heard: string[] = [];
    const targets = [subj.zabBroadcastAll, subj.leaderInAll(leader), subj.learnerIn('*', '*'), subj.gatewayInAll('gw2'), '_INBOX.>', subj.zabLearnerAll('2')];
    for (const t of targets) nc.subscribe(t, { callback: (e, m) => e === null && heard.push(m.subject) });
    for (const t of targets) await refused(violations, 'Subscription', t);
    // Traffic on every one of those subjects while the subscriptions stand.
    await victim.create('/forgery/secret', Buffer.from('do not read me'), CreateFlags.EPHEMERAL);
    await unharmed();
    expect(heard).toEqual([]);
    await nc.close();
  });

  it('cannot commit a write as super on the leader\'s subject, nor on one named after itself', async () => {
    const { nc, violations } = await attacker({ kind: 'gateway', id: 'gw1' });
    const body = encodeRequest({ xid: 1, type: OpCode.create }, { path: '/forgery/as-super', data: Buffer.from('x'), acl: [], flags: 0 }).subarray(8);
    const write = (as: string): ForwardBatch => [as, 1, [['w', as, sessionOf(victim), 1, OpCode.create, body, [['super', 'super']]]]];
    nc.publish(subj.leaderIn(leader, leader), pack(write(leader)));
    nc.publish(subj.leaderIn(leader, 'gw1'), pack(write('gw1')));
    await refused(violations, 'Publish', subj.leaderIn(leader, leader));
    await refused(violations, 'Publish', subj.leaderIn(leader, 'gw1'));
    await unharmed();
    expect(await victim.exists('/forgery/as-super')).toBeNull();
    await nc.close();
  });

  it('cannot inject a transaction into the broadcast, forge votes, or force a step-down with a future epoch', async () => {
    const { nc, violations } = await attacker({ kind: 'gateway', id: 'gw1' });
    const zxid = epoch * 2 ** 32 + 0xffff_fff0;
    const txn = encodeTxn({ sessionId: 0n, cxid: 0, zxid, time: Date.now(), type: OpCode.create }, { type: 'create', path: '/forgery/injected', data: Buffer.from('x'), acl: [], ephemeralOwner: 0n, parentCVersion: 1 } as never);
    const injected: Broadcast = { epoch, seq: 1e9, proposals: [[zxid, txn]], commit: zxid, syncs: [] };
    const future: Broadcast = { epoch: epoch + 1000, seq: 1, proposals: [], commit: 0, syncs: [] };
    const vote: Vote = { from: '3', state: 'looking', round: 1e6, leader: '3', epoch: epoch + 1000, zxid };
    nc.publish(subj.zabBroadcast(leader), pack(injected));
    nc.publish(subj.zabBroadcast(leader), pack(future));
    nc.publish(subj.election('3'), pack(vote));
    const info = { t: 'info', from: '1', attempt: 1, voter: true, acceptedEpoch: epoch + 1000, currentEpoch: epoch + 1000, lastZxid: zxid };
    nc.publish(subj.zabLeader(leader, '1'), pack(info));
    nc.publish(subj.zabSeek('1'), pack(info));
    for (const t of [subj.zabBroadcast(leader), subj.election('3'), subj.zabLeader(leader, '1'), subj.zabSeek('1')]) await refused(violations, 'Publish', t);
    await unharmed();
    expect(await victim.exists('/forgery/injected')).toBeNull();
    await nc.close();
  });

  it("cannot close a session held by another gateway, whether it speaks as itself or as the other", async () => {
    const { nc, violations } = await attacker({ kind: 'gateway', id: 'gw1' });
    const learner = await learnerOf(cluster, victim);
    const close = encodeRequest({ xid: 99, type: OpCode.closeSession }, undefined as never);
    const batch = (gw: string): GatewayBatch => [gw, 1, 1, [['r', 1, sessionOf(victim), close]]];
    nc.publish(subj.learnerIn(learner, 'gw1'), pack(batch('gw1')));
    nc.publish(subj.learnerIn(learner, 'gw2'), pack(batch('gw2')));
    await refused(violations, 'Publish', subj.learnerIn(learner, 'gw2'));
    await unharmed();
    // The session is intact: its ephemeral is there and it still writes.
    expect(await victim.exists('/forgery/secret')).not.toBeNull();
    await nc.close();
  });

  it('cannot route clients to a learner that does not exist', async () => {
    const { nc, violations } = await attacker({ kind: 'gateway', id: 'gw1' });
    const fake: Presence = { kind: 'member', id: '9', role: 'following', pid: 1, host: 'evil', epoch: epoch + 1, zxid: 2 ** 40, sessions: 0, serving: true };
    nc.publish(subj.presence('member', '9'), pack(fake));
    await refused(violations, 'Publish', subj.presence('member', '9'));
    // On its own subject the bus lets it speak, but a gateway believes a learner only on that learner's subject.
    const until = Date.now() + 3000;
    const timer = setInterval(() => nc.publish(subj.presence('gateway', 'gw1'), pack(fake)), 100);
    try {
      while (Date.now() < until) {
        const c = await connectClient(cluster.gateways[0]!.hostPort);
        expect(await learnerOf(cluster, c)).not.toBe('9');
        await c.close();
      }
    } finally {
      clearInterval(timer);
    }
    const gwLog = cluster.gateways.flatMap((g) => logLines(g.proc));
    expect(gwLog.some((l) => l.msg.includes('does not match its subject'))).toBe(true);
    await unharmed();
    await nc.close();
  });
});

describe("with an observer's credentials", () => {
  it('cannot vote, broadcast, answer for the leader, read what learners send it, or announce a configuration to joiners as a member', async () => {
    const { nc, violations } = await attacker({ kind: 'observer', id: 'obs1' });
    const vote: Vote = { from: 'obs1', state: 'looking', round: 1e6, leader: 'obs1', epoch: epoch + 1000, zxid: 0 };
    nc.publish(subj.election('obs1'), pack(vote));
    const config: Presence = { kind: 'member', id: '1', role: 'leading', pid: 1, host: 'evil', epoch, zxid: 0, sessions: 0, serving: true, config: { version: 2 ** 40, voting: true, voters: ['1', 'obs1'] } };
    nc.publish(subj.presence('member', '1'), pack(config));
    nc.publish(subj.zabBroadcast('obs1'), pack({ epoch: epoch + 1000, seq: 1, proposals: [], commit: 0, syncs: [] } satisfies Broadcast));
    nc.subscribe(subj.zabAlive(leader, epoch), { callback: () => undefined });
    // Nor read what learners send the leader: their acks and forwarded writes are addressed to it alone.
    nc.subscribe(subj.zabLeaderAll(leader), { callback: () => undefined });
    nc.subscribe(subj.leaderInAll(leader), { callback: () => undefined });
    await refused(violations, 'Publish', subj.election('obs1'));
    await refused(violations, 'Publish', subj.zabBroadcast('obs1'));
    await refused(violations, 'Publish', subj.presence('member', '1'));
    await refused(violations, 'Subscription', subj.zabAlive(leader, epoch));
    await refused(violations, 'Subscription', subj.zabLeaderAll(leader));
    await refused(violations, 'Subscription', subj.leaderInAll(leader));
    await unharmed();
    await nc.close();
  });
});
