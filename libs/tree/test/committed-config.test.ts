import { describe, expect, it } from 'vitest';
import { Err, OpCode, type ReconfigRequest } from '@zooid/protocol';
import { committedEnsemble, configOf, decodeSnapshot, encodeSnapshot, formatConfig, parseConfig, prepareReconfig, staticConfigTxn, staticEnsemble, voterIds } from '../src/index.js';
import { Harness } from './harness.js';

const SUPER = [{ scheme: 'super', id: '' }];
/** The version and voters a leader of this tree, started with --ensemble `ids`, counts as committed. */
function committedVoters(tree: Harness['tree'], ids: string[]): { version: number; voters: string[] } {
  const e = committedEnsemble(tree, ids);
  return { version: e.version, voters: voterIds(e) };
}
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
      zxid,
      configAcl: h.tree.getNode('/zookeeper/config')!.acl,
      ids: auth.ids,
      treeConfig: {},
    });
  };
  return h;
}

describe('the committed configuration', () => {
  it('is the static ensemble, every member a participant with no client address at version 0, until a reconfig commits', () => {
    const h = new Harness();
    const e = committedEnsemble(h.tree, ['3', '1', '2']);
    expect(e).toEqual(staticEnsemble(['1', '2', '3']));
    expect(e.version).toBe(0);
    expect(voterIds(e)).toEqual(['1', '2', '3']);
    expect(formatConfig(e)).toBe(
      'server.1=zooid-1:2888:3888:participant\nserver.2=zooid-2:2888:3888:participant\nserver.3=zooid-3:2888:3888:participant\nversion=0',
    );
    expect(() => staticEnsemble(['a'])).toThrow(/not a number/);
    expect(configOf(h.tree)).toBeUndefined();
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
    expect(configOf(restarted)).toEqual(after);
  });
});

describe('the static configuration a leader shows (staticConfigTxn)', () => {
  const EPOCH_2 = 0x200000000;
  const show = (h: Harness, ids: string[], version: number) => {
    const txn = staticConfigTxn(h.tree, ids, version);
    if (txn) h.commit(h.internal(txn));
    return txn;
  };

  it('with reconfig enabled: the static ensemble at the version of the epoch that established it, which then counts as committed', () => {
    const h = new Harness();
    const txn = show(h, ['1', '2', '3'], EPOCH_2);
    expect(Buffer.from(txn!.data).toString()).toBe('server.1=zooid-1:2888:3888:participant\nserver.2=zooid-2:2888:3888:participant\nserver.3=zooid-3:2888:3888:participant\nversion=200000000');
    expect(h.tree.getNode('/zookeeper/config')!.data!.toString()).toBe(Buffer.from(txn!.data).toString());
    expect(committedVoters(h.tree, ['9'])).toEqual({ version: EPOCH_2, voters: ['1', '2', '3'] });
    // Established once: a later leader has nothing to show, whatever its --ensemble says.
    expect(staticConfigTxn(h.tree, ['1', '2', '3'], 0x300000000)).toBeUndefined();
    expect(staticConfigTxn(h.tree, ['1', '2', '3', '4', '5'], 0x300000000)).toBeUndefined();
  });

  it('with reconfig disabled: version 0, shown once, shown again when --ensemble changes, and --ensemble still says who votes', () => {
    const h = new Harness();
    expect(Buffer.from(show(h, ['1', '2', '3'], 0)!.data).toString()).toMatch(/\nversion=0$/);
    expect(staticConfigTxn(h.tree, ['1', '2', '3'], 0)).toBeUndefined();
    expect(committedVoters(h.tree, ['1', '2', '3', '4', '5'])).toEqual({ version: 0, voters: ['1', '2', '3', '4', '5'] });
    expect(voterIds(parseConfig(Buffer.from(show(h, ['1', '2', '3', '4', '5'], 0)!.data).toString()))).toEqual(['1', '2', '3', '4', '5']);
    // Reconfig enabled later: the next leader establishes it with its epoch's version.
    expect(show(h, ['1', '2', '3', '4', '5'], EPOCH_2)).toBeDefined();
    expect(committedVoters(h.tree, ['1']).version).toBe(EPOCH_2);
  });

  it('nothing after a reconfig committed, for a single voter (ZooKeeper standalone), or for ids no server.N line can name', () => {
    const h = leaderHarness();
    expect(staticConfigTxn(h.tree, ['1'], EPOCH_2)).toBeUndefined();
    expect(staticConfigTxn(h.tree, ['a', 'b', 'c'], EPOCH_2)).toBeUndefined();
    expect(h.write(h.session(SUPER), OpCode.reconfig, add4).err).toBe(Err.OK);
    expect(staticConfigTxn(h.tree, ['1', '2', '3'], EPOCH_2)).toBeUndefined();
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
