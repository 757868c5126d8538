import { describe, expect, it } from 'vitest';
import { OpCode, type ConnectAsk, type Forwarded, type LearnerToGw } from '@zooid/protocol';
import { DataTree } from '@zooid/tree';
import { Replica } from '../src/replica.js';

const turn = () => new Promise((r) => setImmediate(r));

const ask = (lastZxidSeen: number, sessionId = 0n): ConnectAsk => ({
  lastZxidSeen,
  timeOut: 10000,
  sessionId,
  passwd: new Uint8Array(16),
  readOnly: false,
  hasReadOnlyByte: true,
  ip: '127.0.0.1',
});

/** A replica whose learner has logged up to `logged` and applied what its tree holds. */
function learner(logged: { zxid: number }) {
  const forwarded: Forwarded[] = [];
  const sent: LearnerToGw[] = [];
  const warnings: string[] = [];
  const tree = new DataTree();
  const replica = new Replica(
    {
      id: 'L',
      tickTime: 2000,
      minSessionTimeout: 4000,
      maxSessionTimeout: 40000,
      tree: {},
      forward: (entries) => forwarded.push(...entries),
      send: (_gw, entries) => sent.push(...entries),
      warn: (_fields, msg) => warnings.push(msg),
      lastLogged: () => logged.zxid,
    },
    tree,
  );
  return { replica, forwarded, sent, warnings };
}

/** Commits a createSession for a session nobody on this learner asked for, to move the tree on. */
function commitOther(replica: Replica, zxid: number): void {
  const sessionId = 99n;
  replica.committed({ sessionId, cxid: 0, zxid, time: 0, type: OpCode.createSession }, { type: 'createSession', sessionId, timeout: 10000, verifier: new Uint8Array(32) });
}

describe('connects on a learner', () => {
  it('refuses a client that has seen a zxid this learner never logged, as ZooKeeper does, and keeps nothing of it', async () => {
    const { replica, forwarded, sent, warnings } = learner({ zxid: 5 });
    replica.fromGateway('gw', [['c', 1, ask(0x7fffffff_ffff)]]);
    await turn();
    expect(sent).toEqual([['x', 1, 'client has seen a newer zxid than this learner']]);
    expect(forwarded).toEqual([]);
    expect(warnings).toHaveLength(1);
    // Nothing waits: a later commit answers nobody.
    sent.length = 0;
    commitOther(replica, 1);
    await turn();
    expect(sent).toEqual([]);
  });

  it('keeps a client that has seen a logged but not yet applied zxid waiting until it is applied', async () => {
    const { replica, forwarded, sent } = learner({ zxid: 1 });
    replica.fromGateway('gw', [['c', 1, ask(1)]]);
    await turn();
    expect(sent).toEqual([]);
    expect(forwarded).toEqual([]);
    commitOther(replica, 1);
    await turn();
    expect(forwarded.map((e) => e[0])).toEqual(['s']);
  });

  it('forgets a waiting connect the moment its connection goes', async () => {
    const { replica, forwarded, sent } = learner({ zxid: 1 });
    replica.fromGateway('gw', [['c', 1, ask(1)]]);
    replica.fromGateway('gw', [['d', 1, 0n]]);
    commitOther(replica, 1);
    await turn();
    expect(forwarded).toEqual([]);
    expect(sent).toEqual([]);
  });

  it('does not attach a session whose connection went away before its creation committed', async () => {
    const { replica, forwarded, sent } = learner({ zxid: 0 });
    replica.fromGateway('gw', [['c', 1, ask(0)]]);
    await turn();
    const create = forwarded.shift()!;
    expect(create[0]).toBe('s');
    replica.fromGateway('gw', [['d', 1, 0n]]);
    const sessionId = create[2];
    replica.committed({ sessionId, cxid: 0, zxid: 1, time: 0, type: OpCode.createSession }, { type: 'createSession', sessionId, timeout: 10000, verifier: create[4] as Uint8Array });
    await turn();
    expect(sent).toEqual([]);
    expect(replica.sessionCount).toBe(0);
  });

  it('refuses waiting connects beyond a bound instead of holding them without limit', async () => {
    const { replica, sent } = learner({ zxid: 1 });
    for (let conn = 1; conn <= 10_001; conn++) replica.fromGateway('gw', [['c', conn, ask(1)]]);
    await turn();
    expect(sent).toEqual([['x', 10_001, 'client has seen a newer zxid than this learner']]);
  });
});
