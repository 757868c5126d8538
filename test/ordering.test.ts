/**
 * Promises 1 (one total order of writes, by zxid), 2 (a session's requests
 * take effect and are answered in the order sent), 4 (a watch event comes
 * before any response that reflects the change) and 5 (multi is
 * all-or-nothing), over the wire with a raw client so that frame order is
 * seen exactly as sent. Two gateways: sessions on different gateways race.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CreateFlags, Err, EventType, OpCode, type MultiOp, type MultiResult } from '@zooid/protocol';
import { startStandalone, type Standalone } from './harness.js';
import { RawClient, req, type Reply } from './support/raw-client.js';

let zk: Standalone;
let a: RawClient;
let b: RawClient;

beforeAll(async () => {
  zk = await startStandalone({ tickTime: 500, gateways: 2 });
  a = await RawClient.connect(zk.ports[0]!, { timeOut: 10_000 });
  b = await RawClient.connect(zk.ports[1]!, { timeOut: 10_000 });
});

afterAll(async () => {
  a?.destroy();
  b?.destroy();
  await zk?.stop();
});

type Stat = { version: number; czxid: number; mzxid: number; pzxid: number; cversion: number; numChildren: number };
const text = (r: Reply) => Buffer.from((r.body as { data: Uint8Array }).data).toString();
const statOf = (r: Reply) => (r.body as { stat: Stat }).stat;

describe('FIFO client order (promise 2)', () => {
  it('answers pipelined writes and reads in the order sent, each read seeing every earlier write of the session', async () => {
    expect((await a.call(OpCode.create, req.create('/fifo', ''))).err).toBe(Err.OK);
    type Check = { p: Promise<Reply>; check: (r: Reply) => void; what: string };
    const checks: Check[] = [];
    const push = (what: string, p: Promise<Reply>, check: (r: Reply) => void) => checks.push({ p, check, what });
    const firstXid = (a as unknown as { nextXid: number }).nextXid;
    // No await in this loop: everything is on the wire before the first reply.
    for (let i = 0; i < 150; i++) {
      const path = `/fifo/n${i}`;
      push(`create ${path}`, a.call(OpCode.create, req.create(path, `v${i}`)), (r) => expect(r.err).toBe(Err.OK));
      push(`get ${path}`, a.call(OpCode.getData, req.getData(path)), (r) => {
        expect(r.err).toBe(Err.OK);
        expect(text(r)).toBe(`v${i}`);
      });
      push(`set /fifo`, a.call(OpCode.setData, req.setData('/fifo', `c${i}`)), (r) => {
        expect(r.err).toBe(Err.OK);
        expect(statOf(r).version).toBe(i + 1);
      });
      push(`get /fifo`, a.call(OpCode.getData, req.getData('/fifo')), (r) => {
        expect(text(r)).toBe(`c${i}`);
        expect(statOf(r).version).toBe(i + 1);
        expect(statOf(r).numChildren).toBe(i + 1 - Math.ceil(i / 3));
      });
      // a failing write keeps its place too
      push(`create ${path} again`, a.call(OpCode.create, req.create(path, 'dup')), (r) => expect(r.err).toBe(Err.NODEEXISTS));
      if (i % 3 === 0) {
        push(`delete ${path}`, a.call(OpCode.delete, req.delete(path)), (r) => expect(r.err).toBe(Err.OK));
        push(`exists ${path}`, a.call(OpCode.exists, req.exists(path)), (r) => expect(r.err).toBe(Err.NONODE));
      }
      if (i % 25 === 0) push('sync', a.call(OpCode.sync, { path: '/fifo' }), (r) => expect(r.err).toBe(Err.OK));
    }
    const replies = await Promise.all(checks.map((c) => c.p));
    replies.forEach((r, k) => {
      try {
        checks[k]!.check(r);
      } catch (err) {
        throw new Error(`reply ${k} (${checks[k]!.what}, xid ${r.xid}): ${String(err)}`);
      }
    });
    expect(a.outOfOrder).toEqual([]);
    // arrival order is send order, and zxids never go back within the session
    const arrived = a.incoming.filter((m): m is Reply => m.kind === 'reply' && m.xid >= firstXid);
    expect(arrived.map((r) => r.xid)).toEqual(replies.map((r) => r.xid));
    for (let k = 1; k < arrived.length; k++) expect(arrived[k]!.zxid).toBeGreaterThanOrEqual(arrived[k - 1]!.zxid);
  });
});

describe('watch events before the responses that reflect them (promise 4)', () => {
  it("delivers another session's change notification before the first read that shows it (other gateway)", async () => {
    expect((await a.call(OpCode.create, req.create('/wb', '0'))).err).toBe(Err.OK);
    for (let round = 1; round <= 40; round++) {
      const watched = await a.call(OpCode.getData, req.getData('/wb', true));
      expect(text(watched)).toBe(String(round - 1));
      const writer = b.call(OpCode.setData, req.setData('/wb', String(round)));
      // Poll until a read reflects the change; the event must already be in.
      let seen: Reply | undefined;
      while (!seen) {
        const r = await a.call(OpCode.getData, req.getData('/wb'));
        if (text(r) === String(round)) seen = r;
      }
      const ev = a.incoming.find(
        (m) => m.kind === 'notification' && m.event.type === EventType.NodeDataChanged && m.event.path === '/wb' && m.seq > watched.seq,
      );
      expect(ev, `round ${round}: no NodeDataChanged before the read that reflects the change`).toBeDefined();
      expect(ev!.seq).toBeLessThan(seen.seq);
      expect((await writer).err).toBe(Err.OK);
    }
  });

  it('delivers child and exist events before the read that reflects them', async () => {
    expect((await a.call(OpCode.create, req.create('/wc', ''))).err).toBe(Err.OK);
    for (let round = 0; round < 20; round++) {
      const path = `/wc/k${round}`;
      const kids = await a.call(OpCode.getChildren, req.children('/wc', true));
      const ex = await a.call(OpCode.exists, req.exists(path, true));
      expect(ex.err).toBe(Err.NONODE);
      const writer = b.call(OpCode.create, req.create(path, ''));
      let seen: Reply | undefined;
      while (!seen) {
        const r = await a.call(OpCode.exists, req.exists(path));
        if (r.err === Err.OK) seen = r;
      }
      const created = a.incoming.find((m) => m.kind === 'notification' && m.event.type === EventType.NodeCreated && m.event.path === path);
      const changed = a.incoming.find(
        (m) => m.kind === 'notification' && m.event.type === EventType.NodeChildrenChanged && m.event.path === '/wc' && m.seq > kids.seq,
      );
      expect(created && created.seq < seen.seq, `round ${round}: NodeCreated after the read that shows the node`).toBe(true);
      expect(changed && changed.seq < seen.seq, `round ${round}: NodeChildrenChanged after the read that shows the child`).toBe(true);
      await writer;
    }
  });

  it("delivers the session's own write's notification before that write's reply", async () => {
    expect((await a.call(OpCode.create, req.create('/wo', ''))).err).toBe(Err.OK);
    for (let round = 0; round < 20; round++) {
      const watched = await a.call(OpCode.getData, req.getData('/wo', true));
      const w = await a.call(OpCode.setData, req.setData('/wo', String(round)));
      const ev = a.incoming.find((m) => m.kind === 'notification' && m.event.path === '/wo' && m.seq > watched.seq && m.seq < w.seq);
      expect(ev, `round ${round}`).toBeDefined();
    }
  });
});

describe('multi is all-or-nothing (promise 5)', () => {
  const results = (r: Reply) => r.body as MultiResult[];

  it('leaves no trace of a failing multi and answers per op as ZooKeeper does', async () => {
    expect((await a.call(OpCode.create, req.create('/m', 'orig'))).err).toBe(Err.OK);
    const before = statOf(await a.call(OpCode.getData, req.getData('/m')));
    // b watches everything the multi would touch
    await b.call(OpCode.getChildren, req.children('/m', true));
    await b.call(OpCode.getData, req.getData('/m', true));
    await b.call(OpCode.exists, req.exists('/m/a', true));

    const ops: MultiOp[] = [
      { type: OpCode.create, req: req.create('/m/a', 'a') },
      { type: OpCode.setData, req: req.setData('/m', 'changed') },
      { type: OpCode.setData, req: req.setData('/m/missing', 'x') },
      { type: OpCode.create, req: req.create('/m/c', 'c') },
    ];
    const r = await a.call(OpCode.multi, ops);
    expect(r.err).toBe(Err.OK);
    // Observed on ZooKeeper 3.8: earlier ops OK, the failing op its code, later ops RUNTIMEINCONSISTENCY.
    expect(results(r)).toEqual([
      { type: -1, err: Err.OK },
      { type: -1, err: Err.OK },
      { type: -1, err: Err.NONODE },
      { type: -1, err: Err.RUNTIMEINCONSISTENCY },
    ]);
    const after = await a.call(OpCode.getData, req.getData('/m'));
    expect(text(after)).toBe('orig');
    expect(statOf(after)).toEqual(before);
    expect((await a.call(OpCode.exists, req.exists('/m/a'))).err).toBe(Err.NONODE);
    expect((await a.call(OpCode.exists, req.exists('/m/c'))).err).toBe(Err.NONODE);

    // An invalid path and a version check fail the same way.
    const bad = await a.call(OpCode.multi, [
      { type: OpCode.create, req: req.create('/m/b', 'b') },
      { type: OpCode.create, req: req.create('no-slash', 'x') },
    ]);
    expect(results(bad)).toEqual([
      { type: -1, err: Err.OK },
      { type: -1, err: Err.BADARGUMENTS },
    ]);
    const check = await a.call(OpCode.multi, [
      { type: OpCode.create, req: req.create('/m/b', 'b') },
      { type: OpCode.check, req: { path: '/m', version: 99 } },
    ]);
    expect(results(check)).toEqual([
      { type: -1, err: Err.OK },
      { type: -1, err: Err.BADVERSION },
    ]);
    expect((await a.call(OpCode.getChildren, req.children('/m'))).body).toEqual({ children: [] });

    // Nothing fired for b: a sync from b is answered with no event ahead of it.
    const s = await b.call(OpCode.sync, { path: '/m' });
    expect(b.incoming.filter((m) => m.kind === 'notification' && m.event.path.startsWith('/m') && m.seq < s.seq)).toEqual([]);

    // A multi that succeeds applies every op at one zxid, and fires the watches.
    const ok = await a.call(OpCode.multi, [
      { type: OpCode.create, req: req.create('/m/a', 'a') },
      { type: OpCode.create, req: req.create('/m/b', 'b') },
      { type: OpCode.setData, req: req.setData('/m', 'changed') },
      { type: OpCode.check, req: { path: '/m', version: before.version + 1 } },
    ]);
    expect(results(ok).map((x) => x.type)).toEqual([OpCode.create, OpCode.create, OpCode.setData, OpCode.check]);
    const sa = statOf(await a.call(OpCode.exists, req.exists('/m/a')));
    const sb = statOf(await a.call(OpCode.exists, req.exists('/m/b')));
    const sm = statOf(await a.call(OpCode.exists, req.exists('/m')));
    expect(sa.czxid).toBe(ok.zxid);
    expect(sb.czxid).toBe(ok.zxid);
    expect(sm.mzxid).toBe(ok.zxid);
    await b.waitFor((m) => m.kind === 'notification' && m.event.type === EventType.NodeCreated && m.event.path === '/m/a', 5000);
    await b.waitFor((m) => m.kind === 'notification' && m.event.type === EventType.NodeDataChanged && m.event.path === '/m', 5000);
    await b.waitFor((m) => m.kind === 'notification' && m.event.type === EventType.NodeChildrenChanged && m.event.path === '/m', 5000);
  });
});

describe('one total order of writes (promise 1)', () => {
  it('gives concurrent sessions on different gateways distinct, increasing zxids that match the final state', async () => {
    expect((await a.call(OpCode.create, req.create('/lin', ''))).err).toBe(Err.OK);
    expect((await a.call(OpCode.create, req.create('/lin/reg', ''))).err).toBe(Err.OK);
    const n = 200;
    const issue = (c: RawClient, who: string) => {
      const out: Promise<Reply & { who: string; i: number; kind: string }>[] = [];
      for (let i = 0; i < n; i++) {
        out.push(c.call(OpCode.create, req.create('/lin/s-', `${who}${i}`, CreateFlags.PERSISTENT_SEQUENTIAL)).then((r) => ({ ...r, who, i, kind: 'create' })));
        out.push(c.call(OpCode.setData, req.setData('/lin/reg', `${who}${i}`)).then((r) => ({ ...r, who, i, kind: 'set' })));
      }
      return out;
    };
    // both sessions race, each with everything in flight at once
    const all = await Promise.all([...issue(a, 'a'), ...issue(b, 'b')]);
    for (const r of all) expect(r.err).toBe(Err.OK);
    const zxids = all.map((r) => r.zxid);
    expect(new Set(zxids).size, 'two writes share a zxid').toBe(zxids.length);
    for (const who of ['a', 'b']) {
      const mine = all.filter((r) => r.who === who);
      // in each session, zxids follow the order the writes were sent
      for (let k = 1; k < mine.length; k++) expect(mine[k]!.zxid).toBeGreaterThan(mine[k - 1]!.zxid);
    }
    // The register holds the write with the highest zxid, and counts them all.
    const reg = await a.call(OpCode.getData, req.getData('/lin/reg'));
    const sets = all.filter((r) => r.kind === 'set').sort((x, y) => x.zxid - y.zxid);
    expect(text(reg)).toBe(`${sets.at(-1)!.who}${sets.at(-1)!.i}`);
    expect(statOf(reg).version).toBe(2 * n);
    expect(statOf(reg).mzxid).toBe(sets.at(-1)!.zxid);
    // Sequence numbers follow zxids: the counter and the log agree on one order.
    const creates = all.filter((r) => r.kind === 'create').sort((x, y) => x.zxid - y.zxid);
    const names = creates.map((r) => (r.body as { path: string }).path);
    expect(names).toEqual([...names].sort());
    for (const r of creates.slice(0, 20)) {
      const s = statOf(await b.call(OpCode.exists, req.exists((r.body as { path: string }).path)));
      expect(s.czxid).toBe(r.zxid);
    }
    // and both sessions read the same final state
    const ka = (await a.call(OpCode.getChildren, req.children('/lin'))).body as { children: string[] };
    await b.call(OpCode.sync, { path: '/lin' });
    const kb = (await b.call(OpCode.getChildren, req.children('/lin'))).body as { children: string[] };
    expect(ka.children.sort()).toEqual(kb.children.sort());
    expect(ka.children.length).toBe(2 * n + 1);
  });
});
