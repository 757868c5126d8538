/**
 * The group-membership example from the seeds (Hadoop: The Definitive Guide's
 * CreateGroup / JoinGroup / ListGroup / DeleteGroup, and the /APP1SERVERS
 * "which machines are alive" pattern): a persistent group znode, each member
 * joins from its own process and session as an ephemeral sequential child, a
 * watcher lists the group and is told when it changes. A member that closes
 * its session leaves at once; a member killed with SIGKILL leaves when its
 * session expires — after its timeout, not before.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fourLetter, startStandalone, waitFor, type Standalone } from './harness.js';
import { startMember, type MemberProcess } from './clients/members.js';
import { Event, Exception, NzkClient, errCode, type ZkEvent } from './clients/nzk.js';

const TICK = 200; // session timeouts negotiate to [400, 4000] ms
const GROUP = '/zoo';

let zoo: Standalone;
const members: MemberProcess[] = [];
let watcherClient: NzkClient;

/** ListGroup with a watch that re-arms itself: every membership it has seen, in order. */
class GroupWatcher {
  readonly lists: { at: number; members: string[] }[] = [];
  readonly events: (ZkEvent & { at: number })[] = [];
  constructor(private readonly c: NzkClient, private readonly group: string) {}

  async start(): Promise<void> {
    await this.list();
  }

  private async list(): Promise<void> {
    try {
      const { children } = await this.c.getChildren(this.group, (e) => {
        this.events.push({ type: e.type, name: e.name, path: e.path, at: Date.now() });
        if (e.type === Event.NODE_CHILDREN_CHANGED) void this.list();
      });
      this.lists.push({ at: Date.now(), members: [...children].sort() });
    } catch (err) {
      // The group was deleted: nothing left to list.
      if ((err as { getCode?: () => number }).getCode?.() !== Exception.NO_NODE) throw err;
    }
  }

  get current(): string[] | undefined {
    return this.lists.at(-1)?.members;
  }

  /** Resolves with the time a list taken at or after `since` first equalled `expected`. */
  async until(expected: string[], deadlineMs = 15_000, since = 0): Promise<number> {
    const want = JSON.stringify([...expected].sort());
    const hit = await waitFor(
      `group to be ${want} (is ${JSON.stringify(this.current)})`,
      () => this.lists.find((l) => l.at >= since && JSON.stringify(l.members) === want),
      deadlineMs,
      10,
    );
    return hit.at;
  }
}

const name = (m: MemberProcess) => m.info.path.slice(GROUP.length + 1);

beforeAll(async () => {
  zoo = await startStandalone({ gateways: 1, tickTime: TICK });
  watcherClient = new NzkClient(zoo.connectString);
  await watcherClient.connect();
});

afterAll(async () => {
  await Promise.all(members.map((m) => m.kill()));
  await watcherClient?.close();
  await zoo?.stop();
});

describe('group membership (seeds example)', () => {
  let watcher: GroupWatcher;
  const join = async (timeoutMs: number) => {
    const m = await startMember(zoo.connectString, `${GROUP}/member-`, 'ephemeral_sequential', timeoutMs);
    members.push(m);
    return m;
  };

  it('CreateGroup, three members join from their own sessions, ListGroup sees them', async () => {
    expect(await watcherClient.create(GROUP)).toBe(GROUP);
    watcher = new GroupWatcher(watcherClient, GROUP);
    await watcher.start();
    expect(watcher.current).toEqual([]);

    const a = await join(4000);
    await watcher.until([name(a)]);
    const b = await join(4000);
    const c = await join(2000);
    await watcher.until([name(a), name(b), name(c)]);
    // Sequential names in join order, each owned by its member's session.
    expect([a, b, c].map(name)).toEqual(['member-0000000000', 'member-0000000001', 'member-0000000002']);
    expect(new Set([a, b, c].map((m) => m.info.sessionId)).size).toBe(3);
    expect([a, b, c].map((m) => m.info.timeout)).toEqual([4000, 4000, 2000]);
    for (const m of [a, b, c]) {
      const st = await watcherClient.exists(m.info.path);
      expect(st!.ephemeralOwner.toString('hex')).toBe(m.info.sessionId);
    }
    // Each join fired the watch once; the list never went backwards.
    expect(watcher.events.filter((e) => e.type === Event.NODE_CHILDREN_CHANGED).length).toBeGreaterThanOrEqual(2);
    expect(watcher.lists.map((l) => l.members.length)).toEqual([...watcher.lists.map((l) => l.members.length)].sort());

    // `dump` lists sessions with ephemerals, as in the seeds.
    const dump = await fourLetter(zoo.ports[0]!, 'dump');
    for (const m of [a, b, c]) expect(dump).toContain(`${m.sid}:\n\t${m.info.path}\n`);
  });

  it('a member that closes its session leaves at once and the watcher is notified', async () => {
    const [a, b, c] = members;
    const before = watcher.events.length;
    const closedAt = Date.now();
    expect(await b!.close()).toBe(0);
    const seenAt = await watcher.until([name(a!), name(c!)], 15_000, closedAt);
    // closeSession deletes the ephemeral in its own transaction: no waiting for
    // the 4 s session timeout.
    expect(seenAt - closedAt).toBeLessThan(b!.info.timeout - TICK);
    expect(watcher.events.slice(before).map((e) => [e.type, e.path])).toContainEqual([Event.NODE_CHILDREN_CHANGED, GROUP]);
    // The closed session is gone for good: resuming it is refused.
    const ghost = new NzkClient(zoo.connectString, {
      sessionId: Buffer.from(b!.info.sessionId, 'hex'),
      sessionPassword: Buffer.from(b!.info.password, 'hex'),
    });
    await expect(ghost.connect()).rejects.toMatchObject({ expired: true });
  });

  it('a member killed with SIGKILL leaves when its session expires, after its timeout', async () => {
    const [a, , c] = members;
    const before = watcher.events.length;
    const killedAt = Date.now();
    await c!.kill();
    // Still a member while its session lives (at least 2/3 of its timeout, see below).
    await waitFor('half the session timeout', () => Date.now() - killedAt > c!.info.timeout / 2, 5000, 10);
    expect(watcher.current).toEqual([name(a!), name(c!)]);
    expect(await watcherClient.exists(c!.info.path)).not.toBeNull();

    const seenAt = await watcher.until([name(a!)], 15_000, killedAt);
    const elapsed = seenAt - killedAt;
    // The leader expires a session whose client it has heard nothing from for
    // its whole timeout, as ZooKeeper does. node-zookeeper-client pings after
    // a third of the timeout of silence, so its last packet came at most that
    // long before the kill (plus half a tick of touch granularity).
    expect(elapsed).toBeGreaterThanOrEqual((c!.info.timeout * 2) / 3 - TICK / 2);
    expect(elapsed).toBeLessThan(c!.info.timeout + 2000);
    expect(watcher.events.slice(before).map((e) => [e.type, e.path])).toEqual([[Event.NODE_CHILDREN_CHANGED, GROUP]]);
    // The other member, idle but alive, kept its place the whole time.
    expect(await watcherClient.exists(a!.info.path)).not.toBeNull();
    expect((await fourLetter(zoo.ports[0]!, 'dump')).includes(c!.sid)).toBe(false);
  });

  it('a member that stays outlives many session timeouts; DeleteGroup removes the group', async () => {
    const [a] = members;
    const d = await join(400);
    await watcher.until([name(a!), name(d)]);
    expect(name(d)).toBe('member-0000000003');
    // Ten of d's timeouts: pings keep it (and a) alive.
    const from = Date.now();
    await waitFor('ten session timeouts', () => Date.now() - from > 10 * d.info.timeout, 10_000, 50);
    expect(watcher.current).toEqual([name(a!), name(d)]);

    // DeleteGroup: the group cannot go while it has members.
    expect(await errCode(watcherClient.remove(GROUP))).toBe(Exception.NOT_EMPTY);
    expect(await a!.close()).toBe(0);
    expect(await d.close()).toBe(0);
    await watcher.until([], 15_000, from);
    await watcherClient.remove(GROUP);
    await waitFor('NodeDeleted for the group', () => watcher.events.some((e) => e.type === Event.NODE_DELETED && e.path === GROUP), 5000);
    expect(await watcherClient.exists(GROUP)).toBeNull();
  });
});
