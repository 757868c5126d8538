/**
 * Promise 6: an acknowledged write survives kill -9. A separate client
 * process writes without pause and prints each write before it sends it and
 * once it is acknowledged; the member, the gateway and the writer are
 * SIGKILLed together by pid after a varying number of acks, the member and
 * gateway restart on the same data directory, and every acknowledged write
 * must be there — and nothing that was never attempted. Rounds accumulate,
 * so each restart also re-checks all earlier rounds. A second cluster takes
 * snapshots (and purges logs) every 50 transactions while it is killed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { Err, OpCode } from '@zooid/protocol';
import { startProc, startStandalone, waitFor, waitServing, type Standalone } from './harness.js';
import { RawClient, req } from './support/raw-client.js';
import { alive, logLines, warnings } from './support/procs.js';

const WRITER = fileURLToPath(new URL('./support/crash-writer.cjs', import.meta.url));

interface Writer {
  child: ChildProcess;
  exited: Promise<void>;
  tried: { seq: Set<number>; ctr: number };
  acked: { seq: Map<number, string>; ctr: number };
  errors: string[];
  ready: boolean;
}

function startWriter(connectString: string, base: string): Writer {
  const child = spawn(process.execPath, [WRITER, connectString, base, '8'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const w: Writer = {
    child,
    exited: new Promise((r) => child.once('exit', () => r())),
    tried: { seq: new Set(), ctr: 0 },
    acked: { seq: new Map(), ctr: 0 },
    errors: [],
    ready: false,
  };
  let buf = '';
  child.stdout!.on('data', (d: Buffer) => {
    buf += d.toString();
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const [what, kind, n, path] = line.split(' ');
      const i = Number(n);
      if (what === 'READY') w.ready = true;
      else if (what === 'TRY' && kind === 'seq') w.tried.seq.add(i);
      else if (what === 'TRY' && kind === 'ctr') w.tried.ctr = Math.max(w.tried.ctr, i);
      else if (what === 'ACK' && kind === 'seq') w.acked.seq.set(i, path!);
      else if (what === 'ACK' && kind === 'ctr') w.acked.ctr = Math.max(w.acked.ctr, i);
      else if (what === 'ERR') w.errors.push(line);
    }
  });
  child.stderr!.on('data', (d: Buffer) => w.errors.push(`stderr: ${d.toString()}`));
  return w;
}

/** What a round's writer did, kept to check again after every later crash. */
interface Round {
  base: string;
  tried: { seq: Set<number>; ctr: number };
  acked: { seq: Map<number, string>; ctr: number };
}

async function verify(port: number, rounds: Round[]): Promise<void> {
  const c = await RawClient.connect(port, { timeOut: 10_000 });
  try {
    for (const r of rounds) {
      const kids = await c.call(OpCode.getChildren, req.children(r.base));
      expect(kids.err, `${r.base} is gone`).toBe(Err.OK);
      const children = (kids.body as { children: string[] }).children;
      const byPath = new Map<string, number>();
      const datas = await Promise.all(children.map((k) => c.call(OpCode.getData, req.getData(`${r.base}/${k}`))));
      children.forEach((k, j) => {
        const d = datas[j]!;
        expect(d.err).toBe(Err.OK);
        byPath.set(`${r.base}/${k}`, Number(Buffer.from((d.body as { data: Uint8Array }).data).toString()));
      });
      // every acknowledged create is there, with its data
      const missing = [...r.acked.seq].filter(([i, path]) => byPath.get(path) !== i);
      expect(missing, `acknowledged creates lost under ${r.base}`).toEqual([]);
      // nothing that was never attempted, and no write applied twice
      const values = [...byPath.values()];
      expect(values.filter((v) => !r.tried.seq.has(v)), `creates never attempted under ${r.base}`).toEqual([]);
      expect(new Set(values).size, `a create applied twice under ${r.base}`).toBe(values.length);
      // the counter is at least the last acknowledged value, at most the last attempted
      const ctr = await c.call(OpCode.getData, req.getData(r.base));
      const v = Number(Buffer.from((ctr.body as { data: Uint8Array }).data).toString() || '0');
      expect(v, `counter ${r.base} went back`).toBeGreaterThanOrEqual(r.acked.ctr);
      expect(v, `counter ${r.base} beyond what was attempted`).toBeLessThanOrEqual(r.tried.ctr);
    }
  } finally {
    await c.close();
  }
}

/**
 * Runs `rounds.length` crash rounds on a cluster: write, kill -9 the member,
 * the gateway and the writer at once after `acks` acknowledged creates (plus
 * a little jitter), restart on the same data dir, verify everything so far.
 */
async function crashRounds(zk: Standalone, plan: number[], tag: string): Promise<Round[]> {
  const port = zk.ports[0]!;
  const gwArgs = ['gateway', '--nats', zk.nats.url, '--id', 'gw0', '--client-port', String(port), '--host', '127.0.0.1', '--tick-time', '500', '--admin-port', '0'];
  const rounds: Round[] = [];
  for (const [n, acks] of plan.entries()) {
    const base = `/crash-${tag}-${n}`;
    const w = startWriter(zk.connectString, base);
    try {
      await waitFor(`${acks} acknowledged writes (round ${n})`, () => w.acked.seq.size >= acks || w.errors.length > 0, 60_000, 5);
      expect(w.errors, 'the writer failed before the crash').toEqual([]);
      // land the kill at a different moment each round
      await new Promise((r) => setTimeout(r, (n * 7) % 23));
    } finally {
      // All three at once, by pid.
      for (const p of [zk.member.child, zk.gateways[0]!.child, w.child]) {
        if (p.exitCode === null && p.signalCode === null) process.kill(p.pid!, 'SIGKILL');
      }
      await Promise.all([w.exited, zk.member.exited, zk.gateways[0]!.exited]);
    }
    rounds.push({ base, tried: w.tried, acked: w.acked });
    if (process.env.ZOOID_TEST_DUMP) console.log(`${base}: creates tried ${w.tried.seq.size} acked ${w.acked.seq.size}; counter tried ${w.tried.ctr} acked ${w.acked.ctr}`);
    await zk.restartMember();
    zk.gateways[0] = startProc('gateway0', gwArgs);
    await waitServing(port, 30_000);
    await verify(port, rounds);
  }
  return rounds;
}

describe('kill -9 of the member, the gateway and the writer together', () => {
  let zk: Standalone | undefined;
  afterAll(async () => {
    await zk?.stop();
  });

  it('keeps every acknowledged write across rounds of crashes at different moments', async () => {
    zk = await startStandalone({ tickTime: 500 });
    const rounds = await crashRounds(zk, [20, 150, 60, 400], 'log');
    // it did write something worth checking each round
    for (const r of rounds) expect(r.acked.seq.size).toBeGreaterThan(0);
    expect(alive(zk.member)).toBe(true);
  }, 240_000);
});

describe('kill -9 while snapshots are taken and logs purged (--snap-count 50)', () => {
  let zk: Standalone | undefined;
  afterAll(async () => {
    await zk?.stop();
  });

  it('keeps every acknowledged write when snapshots and purges happen during the load', async () => {
    zk = await startStandalone({ tickTime: 500, memberArgs: ['--snap-count', '50', '--snap-retain', '2'] });
    const rounds = await crashRounds(zk, [300, 120, 500], 'snap');
    for (const r of rounds) expect(r.acked.seq.size).toBeGreaterThan(0);
    // snapshots were indeed taken, and recovery started from one
    const snaps = join(zk.dataDir, 'snapshots');
    expect(existsSync(snaps) && readdirSync(snaps).length > 0, `no snapshots in ${snaps}`).toBe(true);
    const recovered = logLines(zk.member).filter((l) => l.msg === 'recovered');
    expect(recovered.length).toBe(1);
    expect(recovered[0]!.snapshot, 'the last restart did not start from a snapshot').not.toBeNull();
    expect(warnings(zk.member, /snapshot failed|purge failed/)).toEqual([]);
  }, 240_000);
});
