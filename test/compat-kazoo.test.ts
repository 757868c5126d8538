/**
 * Compatibility: kazoo (Debian python3-kazoo 2.8, run by /usr/bin/python3)
 * against a real standalone Zooid. The Python scripts in test/clients drive
 * kazoo's API and recipes with several sessions and print JSON; the
 * expectations below are what the same scripts print against Apache
 * ZooKeeper 3.8 (children lists are sorted, ZooKeeper returns them unordered).
 *
 * kazoo 2.8 offers no container/TTL creates, so they are not covered here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compatTarget, type CompatTarget } from './clients/target.js';
import { runPython } from './clients/python.js';

let zoo: CompatTarget;

beforeAll(async () => {
  zoo = await compatTarget();
});

afterAll(async () => {
  await zoo?.stop();
});

const recipe = (name: string, root: string, deadlineS = 60) => runPython('kz_recipes.py', [zoo.connectString, name, root], deadlineS);

describe('kazoo against Zooid', () => {
  it('basic API: create modes, get/set/exists/delete, watches, ChildrenWatch/DataWatch, transactions, ACLs, ensure_path, sync, ruok, ~1 MB data, chroot', async () => {
    const R = '/kz';
    const r = await runPython('kz_basic.py', [zoo.connectString, R]);

    expect(r.session).toMatchObject({ passwdLen: 16, timeout: 8000, distinct: true });
    expect(r.session.id).toBeGreaterThan(0);

    expect(r.makepath).toBe(`${R}/a/b/c`);
    expect(r.makepathParents).toEqual([true, true, true]);
    expect(r.ephemeral).toBe(`${R}/eph`);
    expect(r.ephemeralOwnerIsSession).toBe(true);
    expect(r.sequence).toEqual([`${R}/seq/n-0000000000`, `${R}/seq/n-0000000001`, `${R}/seq/n-0000000002`]);
    expect(r.ephemeralSequence).toBe(`${R}/seq/e-0000000003`);
    expect(r.create2.path).toBe(`${R}/withstat`);
    expect(r.create2.stat).toMatchObject({ version: 0, cversion: 0, aversion: 0, dataLength: 5, numChildren: 0, ephemeralOwner: 0 });
    expect(r.create2.stat.czxid).toBe(r.create2.stat.mzxid);
    expect(r.create2.stat.pzxid).toBe(r.create2.stat.czxid);
    expect(r.nodeExists).toBe('NodeExistsError');
    expect(r.noParent).toBe('NoNodeError');
    expect(r.childOfEphemeral).toBe('NoChildrenForEphemeralsError');

    expect(r.get).toEqual({ data: '12345', version: 0, dataLength: 5 });
    expect(r.set).toEqual({ version: 1, mzxidAdvanced: true });
    expect(r.setBadVersion).toBe('BadVersionError');
    expect(r.afterBadVersion).toBe('v1');
    expect(r.existsMissing).toBeNull();
    expect(r.getMissing).toBe('NoNodeError');

    expect(r.deleteNotEmpty).toBe('NotEmptyError');
    expect(r.deleteBadVersion).toBe('BadVersionError');
    expect(r.deleteRecursive).toBe(true);
    expect(r.deleteMissing).toBe('NoNodeError');

    expect(r.childrenBefore).toEqual([]);
    expect(r.watchEvents).toEqual([
      ['CHANGED', `${R}/w`],
      ['CHILD', `${R}/w`],
      ['CREATED', `${R}/w/later`],
    ]);
    expect(r.childrenWithStat).toEqual({ children: ['later'], numChildren: 1, cversion: 1 });
    expect(r.childrenWatch).toEqual([[], ['a'], ['a', 'b'], ['b']]);
    expect(r.dataWatch).toEqual([
      [null, null, null],
      ['born', 0, 'CREATED'],
      ['grown', 1, 'CHANGED'],
      [null, null, 'DELETED'],
    ]);

    expect(r.txOk).toEqual([`${R}/tx/a`, ['stat', 1], true, `${R}/tx/b`, true]);
    // ZooKeeper reports ops before the failing one as rolled back, later ones as runtime inconsistency.
    expect(r.txFail).toEqual(['RolledBackError', 'RolledBackError', 'BadVersionError', 'RuntimeInconsistency']);
    expect(r.txFailApplied).toEqual({ c: false, a: true, data: '1', version: 1 });

    const [aliceId, bobId] = r.aclExpectedIds as string[];
    expect(aliceId).toMatch(/^alice:[A-Za-z0-9+/]{27}=$/);
    expect(r.aclCreatorGetAcls).toBe('NoAuthError'); // the creator holds no identity the ACL names
    expect(r.aclNoAuthGet).toBe('NoAuthError');
    expect(r.aclNoAuthSet).toBe('NoAuthError');
    expect(r.aclBobGet).toBe('private');
    expect(r.aclBobSet).toBe('NoAuthError');
    // bob has READ but not ADMIN: ZooKeeper 3.8 masks the digests.
    expect(r.aclBobGetAcls).toEqual({ acls: [[31, 'digest', 'alice:x'], [1, 'digest', 'bob:x']], aversion: 0 });
    expect(r.aclCreatorNoAuth).toBe('NoAuthError');
    expect(r.aclAliceSet).toBe(1);
    expect(r.aclAliceGetAcls).toEqual([[31, 'digest', aliceId], [1, 'digest', bobId]]);
    expect(r.aclSetBadVersion).toBe('BadVersionError');
    expect(r.aclSetAcls).toBe(1);
    expect(r.aclAfterOpen).toBe(2);

    expect(r.ensurePath).toEqual([`${R}/ens/x/y`, true, true]);
    expect(r.sync).toBe(`${R}/withstat`);
    expect(r.afterSync).toBe('synced');
    expect(r.ruok).toBe('imok');
    expect(r.serverVersion).toEqual([3, 8, 0]);

    expect(r.big).toEqual({ equal: true, dataLength: 999_936 });
    expect(r.chrootCreate).toBe('/c');
    expect(r.chrootSeenFromOutside).toBe('in chroot');
    expect(r.chrootChildren).toEqual(['c', 'x']);
    expect(r.chrootEvent).toEqual([['CHANGED', '/c']]);

    expect(r.ephemeralAfterClose[0]).toBe(false);
    expect([...r.ephemeralAfterClose[1]].sort()).toEqual(['n-0000000000', 'n-0000000001', 'n-0000000002']);
  }, 90_000);

  it('Lock: the second client acquires only after the first releases, and when the holder session closes', async () => {
    const r = await recipe('lock', '/recipes-lock');
    expect(r.aAcquired).toBe(true);
    expect(r.bNonBlocking).toBe(false);
    expect(r.bTimeout).toBe('LockTimeout');
    expect(r.contendersWhileHeld).toEqual(['a', 'b']);
    expect(r.bAcquiredBeforeRelease).toBe(false);
    expect(r.order).toEqual(['a released', 'b acquired']);
    expect(r.contendersAfter).toEqual(['b']);
    expect(r.orderAfterClose).toEqual(['b session closed', 'c acquired']);
    expect(r.contendersEnd).toEqual(['c']);
    expect(r.ctxHeld).toEqual(['a']);
    expect(r.ctxHeld2).toEqual(['c']);
  }, 90_000);

  it('Lock: a holder killed with SIGKILL loses the lock when its session expires, not before', async () => {
    const r = await recipe('lock-expire', '/recipes-lock-expire');
    expect(r.holderTimeout).toBe(2000);
    expect(r.contenders).toEqual(['doomed', 'waiter']);
    expect(r.contendersEnd).toEqual(['waiter']);
    // A session expires once the server has heard nothing from its client for
    // the whole timeout. kazoo pings after a third of the timeout of silence,
    // so the last packet came at most 1/3 timeout before the kill (plus half a
    // tick of touch granularity): the lock cannot pass before 2/3 of it.
    expect(r.secondsToAcquire).toBeGreaterThan((r.holderTimeout * 2) / 3 / 1000 - 0.25);
    expect(r.secondsToAcquire).toBeLessThan(6);
  }, 90_000);

  it('Semaphore and ReadLock/WriteLock', async () => {
    const r = await recipe('semaphore', '/recipes-sem');
    expect(r).toEqual({
      first: true,
      second: true,
      thirdNonBlocking: false,
      leaseHolders: ['s0', 's1'],
      thirdAfterRelease: true,
      leaseHoldersEnd: ['s1', 's2'],
      readersShare: [true, true],
      writerWhileRead: false,
      writerAfter: true,
      readerWhileWritten: false,
    });
  }, 90_000);

  it('Election: one leader at a time; the next takes over when the leader quits or its session closes', async () => {
    const r = await recipe('election', '/recipes-election');
    expect(r.contenders).toEqual(['a', 'b']);
    expect(r.bLeadingWhileAHolds).toBe(false);
    expect(r.log).toEqual(['lead a', 'quit a', 'lead b', 'b session closed', 'lead c', 'quit b', 'quit c']);
    expect(r.overlap).toBe(false);
    expect(r.contendersEnd).toEqual(['c']);
  }, 90_000);

  it('Queue and LockingQueue: FIFO across clients, priorities, locking and consume', async () => {
    const r = await recipe('queue', '/recipes-queue');
    expect(r.len).toBe(6);
    expect(r.fifo).toEqual(['a1', 'b1', 'a2', 'b2', 'b3', 'a3']);
    expect(r.emptyGet).toBeNull();
    expect(r.priority).toEqual(['high', 'mid', 'low']);
    expect(r.lenEnd).toBe(0);
    expect(r.lqLen).toBe(5);
    expect(r.lqB1).toBe('e1');
    expect(r.lqAWhileBHolds).toBe('e2');
    expect(r.lqHolds).toEqual([true, true]);
    expect(r.lqConsumeB).toBe(true);
    expect(r.lqReleaseA).toBe(true);
    expect(r.lqOrder).toEqual(['e2', 'e3', 'e4', 'e5']);
    expect(r.lqLenEnd).toBe(0);
    expect(r.lqLate).toBe('late');
  }, 90_000);

  it('Counter: concurrent increments from two clients sum correctly', async () => {
    const r = await recipe('counter', '/recipes-counter');
    expect(r.value).toEqual([120, 120]);
    expect(r.afterDecrement).toBe(115);
    // One successful versioned set per change, whatever the retries.
    expect(r.version).toBe(121);
    expect(r.float).toBe(1.75);
  }, 90_000);

  it('Barrier and DoubleBarrier', async () => {
    const r = await recipe('barrier', '/recipes-barrier');
    expect(r.waitTimesOut).toBe(false);
    expect(r.removed).toBe(true);
    expect(r.passed).toEqual([true]);
    expect(r.order).toEqual(['removed', 'passed']);
    expect(r.waitWhenAbsent).toBe(true);
    expect(r.removeAgain).toBe(false);

    expect(r.enteredBeforeThird).toEqual([]);
    expect(r.leftBeforeThird).toEqual([]);
    const log = r.doubleLog as string[];
    expect(log.filter((e) => e.startsWith('enter failed'))).toEqual([]);
    const lastEntering = Math.max(...[0, 1, 2].map((i) => log.indexOf(`entering ${i}`)));
    const firstEntered = Math.min(...[0, 1, 2].map((i) => log.indexOf(`entered ${i}`)));
    expect(Math.min(...[0, 1, 2].map((i) => log.indexOf(`entered ${i}`)))).toBeGreaterThanOrEqual(0);
    expect(firstEntered).toBeGreaterThan(lastEntering);
    const lastLeaving = Math.max(...[0, 1, 2].map((i) => log.indexOf(`leaving ${i}`)));
    const lefts = [0, 1, 2].map((i) => log.indexOf(`left ${i}`));
    expect(Math.min(...lefts)).toBeGreaterThan(lastLeaving);
    expect(r.doubleGone).toBe(true);
  }, 90_000);

  it('TreeCache mirrors a subtree another client changes', async () => {
    const R = '/recipes-treecache';
    const r = await recipe('treecache', R);
    expect(r.initial).toEqual([`added ${R}/tc`, `added ${R}/tc/x`, `added ${R}/tc/x/y`, `added ${R}/tc/z`]);
    expect(r.events).toEqual([`updated ${R}/tc/x/y`, `removed ${R}/tc/z`, `removed ${R}/tc/x/w`]);
    expect(r.dataY).toBe('y1');
    expect(r.childrenX).toEqual(['w', 'y']);
    expect(r.childrenXAfterClose).toEqual(['y']);
    expect(r.childrenRoot).toEqual(['x']);
  }, 90_000);

  it('Party and ShallowParty: members join and leave, len() tracks, a closed session leaves', async () => {
    const r = await recipe('party', '/recipes-party');
    for (const kind of ['Party', 'ShallowParty']) {
      expect(r[kind], kind).toEqual({
        empty: 0,
        two: [2, ['alpha', 'beta']],
        three: [3, ['alpha', 'beta', 'gamma']],
        afterLeave: [2, ['alpha', 'gamma']],
        rejoined: 3,
      });
    }
    expect(r.afterClose).toEqual({ Party: [2, ['alpha', 'beta']], ShallowParty: [2, ['alpha', 'beta']] });
  }, 90_000);
});
