/**
 * A member started with --join and no --ensemble learns the configuration
 * from the members' announcements. Here the members are this test, speaking
 * on a secured bus (one nats-server, nkeys, permissions) as members 1, 2 and
 * 3 with their own keys, so that what the joiner hears is chosen: nobody, a
 * forgery, a malformed announcement, then a quorum. The whole path with
 * real members (learn, sync, reconfig, vote, restart) is in
 * reconfig.test.ts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pack, subjects, type BusIdentity, type Presence } from '@zooid/protocol';
import type { NatsConnection } from '@zooid/runtime';
import { killProc, startProc, waitFor, type Proc } from './harness.js';
import { startSecureBus, type SecureBus } from './support/secure-bus.js';
import { alive, logLines, warnings } from './support/procs.js';
import { within } from './cluster/clients.js';

const member = (id: string): BusIdentity => ({ kind: 'member', id });
const subj = subjects('zooid');
let bus: SecureBus;
let root: string;
const procs: Proc[] = [];
const conns: NatsConnection[] = [];

beforeAll(async () => {
  bus = await startSecureBus({ servers: 1, identities: ['1', '2', '3', '4', '5'].map(member) });
  root = mkdtempSync(join(tmpdir(), 'zooid-join-'));
}, 60_000);

afterAll(async () => {
  for (const p of procs) await killProc(p);
  for (const nc of conns) await nc.close();
  await bus?.stop();
  if (root) rmSync(root, { recursive: true, force: true });
});

function joiner(id: string): Proc {
  const dir = join(root, `m${id}`);
  const p = startProc(`joiner-${id}`, ['follower', '--id', id, '--join', '--data-dir', dir, '--nats', bus.urls, '--nats-nkey', bus.seed(member(id)), '--nats-tls-ca', bus.ca, '--tick-time', '200']);
  procs.push(p);
  return p;
}

async function speaker(id: string): Promise<NatsConnection> {
  const nc = await bus.connect(member(id));
  conns.push(nc);
  return nc;
}

/** A member's announcement, as memberPlumbing sends it. */
function presence(id: string, config: unknown): Presence {
  return { kind: 'member', id, role: 'following', pid: 1, host: 'test', epoch: 1, zxid: 0, sessions: 0, serving: true, config } as Presence;
}

/** Publishes every 200 ms (members announce once a second) until the returned function is called. */
function repeat(fn: () => void): () => void {
  fn();
  const t = setInterval(fn, 200);
  return () => clearInterval(t);
}

const hasLine = (p: Proc, msg: string) => logLines(p).filter((l) => l.msg === msg);

describe('zooid follower --join without --ensemble', () => {
  it('waits while no member announces itself, saying so every 5 s, and stops at once on SIGTERM', async () => {
    const p = joiner('4');
    await waitFor('the joiner to say that no member announced itself', () => warnings(p, 'no member of the ensemble announced itself').length > 0, 20_000);
    expect(alive(p)).toBe(true);
    expect(hasLine(p, 'looking')).toEqual([]);
    p.child.kill('SIGTERM');
    await within(p.exited, 5000, 'the waiting joiner to stop on SIGTERM');
    expect(p.child.exitCode).toBe(0);
  }, 40_000);

  it('believes an announcement only on its sender’s subject, skips a malformed one, and learns what a quorum of the voters announce', async () => {
    const p = joiner('5');
    const [m1, m2, m3] = [await speaker('1'), await speaker('2'), await speaker('3')];
    const violations: string[] = [];
    void (async () => {
      for await (const s of m3.status()) if (s.type === 'error') violations.push(String(s.error));
    })();
    const three = { version: 0, voting: true, voters: ['1', '2', '3'] };
    // Member 3 speaks as 1 on 1's subject (refused by the bus) and on its own (dropped by the joiner).
    m3.publish(subj.presence('member', '1'), pack(presence('1', three)));
    const stops = [
      repeat(() => m1.publish(subj.presence('member', '1'), pack(presence('1', three)))),
      repeat(() => m3.publish(subj.presence('member', '3'), pack(presence('1', three)))),
      repeat(() => m2.publish(subj.presence('member', '2'), Buffer.from('not msgpack at all'))),
    ];
    try {
      await waitFor('the bus to refuse member 3 speaking on 1’s subject', () => violations.some((v) => v.includes(subj.presence('member', '1'))), 5000);
      await waitFor('the joiner to drop the forgery', () => warnings(p, 'does not match its subject', subj.presence('member', '3')).length > 0, 10_000);
      await waitFor('the joiner to skip the malformed announcement', () => warnings(p, 'ignored a malformed configuration announcement').length > 0, 10_000);
      // One voter of three is no quorum: still waiting, and only member 1's announcement counted.
      const waiting = await waitFor('the joiner to report what it heard', () => warnings(p, 'no configuration is announced by a quorum of its voters yet')[0], 15_000);
      expect(waiting.announcements).toEqual({ '1': '0x0 1,2,3' });
      expect(hasLine(p, 'learned the configuration from the ensemble')).toEqual([]);
      expect(alive(p)).toBe(true);
      // Member 2 comes to its senses: two of three.
      stops.pop()!();
      stops.push(repeat(() => m2.publish(subj.presence('member', '2'), pack(presence('2', three)))));
      const learned = await waitFor('the joiner to learn the configuration', () => hasLine(p, 'learned the configuration from the ensemble')[0], 10_000);
      expect(learned).toMatchObject({ version: '0x0', voters: ['1', '2', '3'], from: ['1', '2'] });
      // It looks for the leader among those voters (there is none here) as a non-voter.
      await waitFor('the joiner to look for the leader', () => hasLine(p, 'looking').length > 0, 10_000);
    } finally {
      for (const stop of stops) stop();
    }
    p.child.kill('SIGTERM');
    await within(p.exited, 10_000, 'the joiner to stop on SIGTERM');
    expect(p.child.exitCode).toBe(0);
  }, 60_000);
});
