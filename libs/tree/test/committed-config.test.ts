import { describe, expect, it } from 'vitest';
import { Err, OpCode, type ReconfigRequest } from '@zooid/protocol';
import { committedEnsemble, committedVoters, decodeSnapshot, encodeSnapshot, formatConfig, prepareReconfig, staticEnsemble, voterIds } from '../src/index.js';
import { Harness } from './harness.js';

const SUPER = [{ scheme: 'super', id: '' }];
const add4: ReconfigRequest = { joiningServers: 'server.4=zooid-4:2888:3888:participant;2181', leavingServers: null, newMembers: null, curConfigId: -1 };

/** A harness whose preparer judges reconfigs as a leader of the static ensemble 1, 2, 3 with 1–4 synced would. */
function leaderHarness() {
  const h = new Harness();
  h.prep.reconfig = (req, auth, zxid) => {
    const committed = committedEnsemble(h.tree, ['1', '2', '3']);
    return prepareReconfig(req, {
      enabled: true,
      standaloneEnabled: true,
      skipACL: false,
      committed,
      lastSeen: committed,
      synced: [1, 2, 3, 4],
      observing: [],
      zxid,
      configAcl: h.tree.getNode('/zookeeper/config')!.acl,
      ids: auth.ids,
      treeConfig: {},
    });
  };
  return h;
}

describe('the committed configuration', () => {
  it('is the static ensemble, every member a participant at version 0, until a reconfig commits', () => {
    const h = new Harness();
    const e = committedEnsemble(h.tree, ['3', '1', '2']);
    expect(e).toEqual(staticEnsemble(['1', '2', '3']));
    expect(e.version).toBe(0);
    expect(voterIds(e)).toEqual(['1', '2', '3']);
    expect(formatConfig(e)).toBe(
      'server.1=zooid-1:2888:3888:participant;0.0.0.0:2181\nserver.2=zooid-2:2888:3888:participant;0.0.0.0:2181\nserver.3=zooid-3:2888:3888:participant;0.0.0.0:2181\nversion=0',
    );
    expect(() => staticEnsemble(['a'])).toThrow(/not a number/);
    // A member that never reconfigures may have any ids.
    expect(committedVoters(h.tree, ['a', 'b', 'c'])).toEqual({ version: 0, voters: ['a', 'b', 'c'], observers: [] });
  });

  it('is read from /zookeeper/config once a reconfig committed there, and still after a snapshot round trip', () => {
    const h = leaderHarness();
    const s = h.session(SUPER);
    const r = h.write(s, OpCode.reconfig, add4);
    expect(r.err).toBe(Err.OK);
    const after = committedEnsemble(h.tree, ['1', '2', '3']);
    expect(voterIds(after)).toEqual(['1', '2', '3', '4']);
    expect(after.version).toBe(r.zxid);
    // The static list no longer matters: the tree is the source.
    const restarted = decodeSnapshot(encodeSnapshot(h.tree));
    expect(committedEnsemble(restarted, ['1', '2', '3'])).toEqual(after);
    expect(committedVoters(restarted, ['a'])).toEqual({ version: r.zxid, voters: ['1', '2', '3', '4'], observers: [] });
  });
});

describe('the preparer and reconfig', () => {
  it('answers RECONFIGDISABLED without a judge (a preparer that is not a leader with reconfig enabled)', () => {
    const h = new Harness();
    const r = h.write(h.session(SUPER), OpCode.reconfig, add4);
    expect(r.err).toBe(Err.RECONFIGDISABLED);
    expect(committedEnsemble(h.tree, ['1', '2', '3']).version).toBe(0);
  });

  it("logs the judge's refusal as an error txn that leaves the configuration as it was", () => {
    const h = leaderHarness();
    // Without WRITE on /zookeeper/config (world has READ only): NOAUTH, nothing applied.
    const r = h.write(h.session(), OpCode.reconfig, add4);
    expect(r.err).toBe(Err.NOAUTH);
    expect(r.txn.type).toBe('error');
    expect(h.tree.getNode('/zookeeper/config')!.dataLength).toBe(0);
    // Removing 2 and 3 would leave one voter (two are needed with standaloneEnabled): BADARGUMENTS.
    const shrink = h.write(h.session(SUPER), OpCode.reconfig, { ...add4, joiningServers: null, leavingServers: '2,3' });
    expect(shrink.err).toBe(Err.BADARGUMENTS);
  });
});
