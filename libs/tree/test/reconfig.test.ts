import { describe, expect, it } from 'vitest';
import { Err, type ReconfigRequest } from '@zooid/protocol';
import { digestOf, observers, parseConfig, prepareReconfig, voters, type ReconfigContext } from '../src/index.js';

const READ_ACL = [{ perms: 1, id: { scheme: 'world', id: 'anyone' } }];
const THREE = parseConfig(
  'server.1=zk1:2888:3888:participant;0.0.0.0:2181\nserver.2=zk2:2888:3888:participant;0.0.0.0:2181\nserver.3=zk3:2888:3888:participant;0.0.0.0:2181\nversion=100000000',
);
const SUPER = [{ scheme: 'super', id: '' }];

function ctx(over: Partial<ReconfigContext> = {}): ReconfigContext {
  return {
    enabled: true,
    standaloneEnabled: true,
    skipACL: false,
    committed: THREE,
    lastSeen: THREE,
    synced: [1, 2, 3, 4, 5],
    observing: [],
    zxid: 0x100000007,
    configAcl: READ_ACL,
    ids: SUPER,
    treeConfig: {},
    ...over,
  };
}

function req(r: Partial<ReconfigRequest>): ReconfigRequest {
  return { joiningServers: null, leavingServers: null, newMembers: null, curConfigId: -1, ...r };
}

function text(r: ReturnType<typeof prepareReconfig>): string {
  if (!r.ok) throw new Error(`failed with ${r.err}`);
  return Buffer.from(r.txn.data).toString('utf8');
}

function err(r: ReturnType<typeof prepareReconfig>): number {
  return r.ok ? Err.OK : r.err;
}

describe('prepareReconfig: incremental (-add / -remove)', () => {
  it('adds two voters: 3 → 5, versioned by the txn zxid', () => {
    const r = prepareReconfig(req({ joiningServers: 'server.4=zk4:2888:3888;2181, server.5=zk5:2888:3888:participant;2181' }), ctx());
    expect(text(r)).toBe(
      [
        'server.1=zk1:2888:3888:participant;0.0.0.0:2181',
        'server.2=zk2:2888:3888:participant;0.0.0.0:2181',
        'server.3=zk3:2888:3888:participant;0.0.0.0:2181',
        'server.4=zk4:2888:3888:participant;0.0.0.0:2181',
        'server.5=zk5:2888:3888:participant;0.0.0.0:2181',
        'version=100000007',
      ].join('\n'),
    );
    expect(r.ok && r.ensemble.version).toBe(0x100000007);
  });

  it('removes voters; an unknown id is no error', () => {
    const r = prepareReconfig(req({ leavingServers: '3,9' }), ctx());
    expect(r.ok && voters(r.ensemble)).toEqual([1, 2]);
  });

  it('re-adding an id replaces it: a voter demoted to observer', () => {
    const r = prepareReconfig(req({ joiningServers: 'server.3=zk3:2888:3888:observer;2181' }), ctx());
    expect(r.ok && [voters(r.ensemble), observers(r.ensemble)]).toEqual([[1, 2], [3]]);
  });

  it('removes and adds in one request: replacing the leader 1 with 4', () => {
    const r = prepareReconfig(req({ leavingServers: '1', joiningServers: 'server.4=zk4:2888:3888;2181' }), ctx());
    expect(r.ok && voters(r.ensemble)).toEqual([2, 3, 4]);
  });

  it.each([
    ['no client port', { joiningServers: 'server.4=zk4:2888:3888' }, Err.BADARGUMENTS],
    ['no `=`', { joiningServers: 'zk4:2888:3888;2181' }, Err.BADARGUMENTS],
    ['a bad port', { joiningServers: 'server.4=zk4:2888:x;2181' }, Err.BADARGUMENTS],
    ['a bad type', { joiningServers: 'server.4=zk4:2888:3888:voter;2181' }, Err.BADARGUMENTS],
    ["another member's quorum address", { joiningServers: 'server.4=zk1:2888:3999;2181' }, Err.BADARGUMENTS],
    ["another member's election port as quorum port", { joiningServers: 'server.4=zk2:3888:3999;2181' }, Err.BADARGUMENTS],
    ['a non-numeric joining id', { joiningServers: 'server.x=zk4:2888:3888;2181' }, Err.MARSHALLINGERROR],
    ['a non-numeric leaving id', { leavingServers: 'two' }, Err.MARSHALLINGERROR],
    ['every voter removed', { leavingServers: '1,2,3' }, Err.BADARGUMENTS],
    ['one voter left, standalone enabled', { leavingServers: '2,3' }, Err.BADARGUMENTS],
  ])('%s', (_what, r, code) => {
    expect(err(prepareReconfig(req(r), ctx()))).toBe(code);
  });

  it('one voter left is allowed when standaloneEnabled is false', () => {
    const r = prepareReconfig(req({ leavingServers: '2,3' }), ctx({ standaloneEnabled: false }));
    expect(r.ok && voters(r.ensemble)).toEqual([1]);
  });
});

describe('prepareReconfig: non-incremental (-members)', () => {
  it('takes the new membership whole, separated by commas or newlines, ignoring a given version', () => {
    const r = prepareReconfig(req({ newMembers: 'server.1=zk1:2888:3888;2181,server.2=zk2:2888:3888;2181\nserver.7=zk7:2888:3888:observer;2181\nversion=5' }), ctx());
    expect(text(r)).toBe(
      'server.1=zk1:2888:3888:participant;0.0.0.0:2181\nserver.2=zk2:2888:3888:participant;0.0.0.0:2181\nserver.7=zk7:2888:3888:observer;0.0.0.0:2181\nversion=100000007',
    );
  });

  it('refuses malformed members and hierarchical quorums with BADARGUMENTS', () => {
    expect(err(prepareReconfig(req({ newMembers: 'server.1=zk1:2888' }), ctx()))).toBe(Err.BADARGUMENTS);
    expect(err(prepareReconfig(req({ newMembers: 'server.1=a:1:2,server.2=b:1:2,group.1=1:2' }), ctx()))).toBe(Err.BADARGUMENTS);
  });

  it('refuses keys other than server.N and version, unlike a config read from the tree', () => {
    expect(err(prepareReconfig(req({ newMembers: 'server.1=a:1:2,server.2=b:1:2,clientPort=2181' }), ctx()))).toBe(Err.BADARGUMENTS);
    expect(parseConfig('server.1=a:1:2\nclientPort=2181').members).toHaveLength(1);
  });

  it('without voters: BADARGUMENTS, or MARSHALLINGERROR for observers alone in standalone mode', () => {
    expect(err(prepareReconfig(req({ newMembers: '' }), ctx()))).toBe(Err.BADARGUMENTS);
    expect(err(prepareReconfig(req({ newMembers: 'server.1=a:1:2:observer' }), ctx()))).toBe(Err.MARSHALLINGERROR);
    expect(err(prepareReconfig(req({ newMembers: 'server.1=a:1:2:observer' }), ctx({ standaloneEnabled: false })))).toBe(Err.BADARGUMENTS);
  });

  it('newMembers wins over joining/leaving when both are sent', () => {
    const r = prepareReconfig(req({ newMembers: 'server.1=a:1:2,server.2=b:1:2', leavingServers: '1' }), ctx());
    expect(r.ok && voters(r.ensemble)).toEqual([1, 2]);
  });
});

describe('prepareReconfig: preconditions, in ZooKeeper order', () => {
  const pending = { ...THREE, version: 0x100000005 };

  it('RECONFIGDISABLED before anything else', () => {
    expect(err(prepareReconfig(req({ newMembers: 'garbage', curConfigId: 3 }), ctx({ enabled: false, lastSeen: pending, ids: [] })))).toBe(Err.RECONFIGDISABLED);
  });

  it('RECONFIGINPROGRESS while a proposed configuration is not committed', () => {
    expect(err(prepareReconfig(req({ leavingServers: '3' }), ctx({ lastSeen: pending })))).toBe(Err.RECONFIGINPROGRESS);
  });

  it('BADVERSION unless curConfigId is -1 or the current version', () => {
    expect(err(prepareReconfig(req({ leavingServers: '3', curConfigId: 0x100000001 }), ctx()))).toBe(Err.BADVERSION);
    expect(err(prepareReconfig(req({ leavingServers: '3', curConfigId: 0x100000000 }), ctx()))).toBe(Err.OK);
  });

  it('NEWCONFIGNOQUORUM unless a quorum of the new voters is synced with the leader', () => {
    const grow = req({ joiningServers: 'server.4=zk4:2888:3888;2181,server.5=zk5:2888:3888;2181' });
    expect(err(prepareReconfig(grow, ctx({ synced: [1, 2] })))).toBe(Err.NEWCONFIGNOQUORUM);
    expect(err(prepareReconfig(grow, ctx({ synced: [1, 2, 4] })))).toBe(Err.OK);
    // synced observers do not count
    const demote = req({ joiningServers: 'server.2=zk2:2888:3888:observer;2181,server.3=zk3:2888:3888:observer;2181', leavingServers: '' });
    expect(err(prepareReconfig(demote, ctx({ standaloneEnabled: false, synced: [2, 3] })))).toBe(Err.NEWCONFIGNOQUORUM);
  });

  it('refuses to make a voter of a zooid observer process (BADARGUMENTS, with why); listing it as an observer is fine', () => {
    const promote = prepareReconfig(req({ joiningServers: 'server.6=zk6:2888:3888:participant;2181' }), ctx({ observing: [6] }));
    expect(promote).toMatchObject({ ok: false, err: Err.BADARGUMENTS, why: expect.stringContaining('6 run as zooid observer') });
    // Even for a session without WRITE, like the other malformed-request refusals.
    expect(err(prepareReconfig(req({ newMembers: 'server.1=a:1:2,server.6=b:1:2' }), ctx({ observing: [6], ids: [] })))).toBe(Err.BADARGUMENTS);
    const listed = prepareReconfig(req({ joiningServers: 'server.6=zk6:2888:3888:observer;2181' }), ctx({ observing: [6] }));
    expect(observers(parseConfig(text(listed)))).toEqual([6]);
  });

  it('NOAUTH without WRITE on /zookeeper/config; super, an ACL granting WRITE or skipACL pass', () => {
    const r = req({ leavingServers: '3' });
    const digest = { scheme: 'digest', id: 'admin:x' };
    expect(err(prepareReconfig(r, ctx({ ids: [digest] })))).toBe(Err.NOAUTH);
    expect(err(prepareReconfig(r, ctx({ ids: [digest], configAcl: [...READ_ACL, { perms: 2, id: digest }] })))).toBe(Err.OK);
    expect(err(prepareReconfig(r, ctx({ ids: [digest], skipACL: true })))).toBe(Err.OK);
    const superDigest = digestOf('super:secret');
    expect(err(prepareReconfig(r, ctx({ ids: [{ scheme: 'digest', id: superDigest }], treeConfig: { superDigest } })))).toBe(Err.OK);
  });

  it('a malformed request is BADARGUMENTS even for a session without WRITE, as ZooKeeper checks the ACL last', () => {
    expect(err(prepareReconfig(req({ joiningServers: 'server.4=zk4' }), ctx({ ids: [] })))).toBe(Err.BADARGUMENTS);
  });
});
