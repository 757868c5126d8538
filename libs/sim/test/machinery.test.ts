import { describe, expect, it } from 'vitest';
import { Rng } from '../src/rng.js';
import { Scheduler, SkewedClock } from '../src/scheduler.js';
import { Proc } from '../src/process.js';
import { SimBus } from '../src/bus.js';
import { SimDisk } from '../src/disk.js';

describe('the seeded generator', () => {
  it('replays a seed and differs between seeds', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const xs = Array.from({ length: 8 }, () => a.u32());
    expect(Array.from({ length: 8 }, () => b.u32())).toEqual(xs);
    expect(Array.from({ length: 8 }, () => c.u32())).not.toEqual(xs);
  });

  it('keeps int within its bounds', () => {
    const r = new Rng(1);
    const seen = new Set<number>();
    for (let i = 0; i < 1000; i++) seen.add(r.int(3, 6));
    expect([...seen].sort()).toEqual([3, 4, 5, 6]);
  });
});

describe('the scheduler', () => {
  it('runs events by time, and equal times in the order scheduled', () => {
    const s = new Scheduler();
    const order: string[] = [];
    s.at(5, () => order.push('b'));
    s.at(1, () => order.push('a'));
    s.at(5, () => order.push('c'));
    s.at(9, () => order.push('late'));
    s.runUntil(5);
    expect(order).toEqual(['a', 'b', 'c']);
    expect(s.now).toBe(5);
  });

  it('gives each process a skewed clock', () => {
    const s = new Scheduler();
    s.runUntil(1000);
    expect(new SkewedClock(s, 7, 1000).now()).toBe(1008);
  });
});

describe('a process', () => {
  it('holds work back while paused and drops work of an earlier life', () => {
    const s = new Scheduler();
    const p = new Proc('p', s);
    const ran: [string, number][] = [];
    p.pause(50);
    p.after(10, () => ran.push(['paused', s.now]));
    s.runUntil(100);
    p.after(10, () => ran.push(['lost', s.now]));
    p.crash();
    p.restart();
    s.runUntil(200);
    expect(ran).toEqual([['paused', 50]]);
  });
});

describe('the simulated bus', () => {
  function setup(seed = 1) {
    const s = new Scheduler();
    const bus = new SimBus<number>(s, new Rng(seed));
    const a = new Proc('a', s);
    const b = new Proc('b', s);
    const got: number[] = [];
    bus.attach(a, () => {});
    bus.attach(b, (_from, m) => got.push(m));
    return { s, bus, got };
  }

  it('loses and duplicates as configured, and keeps a link in order', () => {
    const { s, bus, got } = setup();
    bus.faults = { drop: 0.2, duplicate: 0.2, minDelay: 1, maxDelay: 20, straggle: 0 };
    for (let i = 0; i < 200; i++) bus.send('a', 'b', i);
    s.runUntil(1000);
    expect(new Set(got).size).toBeLessThan(200);
    expect(got.length).toBeGreaterThan(new Set(got).size);
    expect(got).toEqual([...got].sort((x, y) => x - y));
  });

  it('lets stragglers be overtaken', () => {
    const { s, bus, got } = setup();
    bus.faults = { drop: 0, duplicate: 0, minDelay: 1, maxDelay: 20, straggle: 0.2 };
    for (let i = 0; i < 200; i++) bus.send('a', 'b', i);
    s.runUntil(1000);
    expect(got.length).toBe(200);
    expect(got).not.toEqual([...got].sort((x, y) => x - y));
  });

  it('cuts one direction of a partition only', () => {
    const { s, bus, got } = setup();
    const back: number[] = [];
    bus.handlers.get('a')!.deliver = (_f, m) => back.push(m);
    bus.block('a', 'b', false);
    bus.send('a', 'b', 1);
    bus.send('b', 'a', 2);
    s.runUntil(10);
    bus.heal();
    bus.send('a', 'b', 3);
    s.runUntil(20);
    expect(got).toEqual([3]);
    expect(back).toEqual([2]);
  });

  it('loses what is in flight and what is sent while its server restarts', () => {
    const { s, bus, got } = setup();
    bus.faults = { drop: 0, duplicate: 0, minDelay: 5, maxDelay: 5, straggle: 0 };
    bus.send('a', 'b', 1);
    bus.restart(10);
    bus.send('a', 'b', 2);
    s.runUntil(11);
    bus.send('a', 'b', 3);
    s.runUntil(30);
    expect(got).toEqual([3]);
  });
});

describe('the simulated disk', () => {
  it('keeps only synced records across a crash, and cuts a torn one', () => {
    const s = new Scheduler();
    const p = new Proc('p', s);
    const d = new SimDisk(p, new Rng(3));
    d.faults = { minFsync: 5, maxFsync: 5, torn: 1 };
    d.append(Uint8Array.of(1, 1));
    let synced = false;
    d.fsync(() => (synced = true));
    s.runUntil(10);
    d.append(Uint8Array.of(2, 2, 2, 2));
    d.fsync(() => {});
    d.crash();
    p.crash();
    expect(synced).toBe(true);
    expect(d.records()).toEqual([Uint8Array.of(1, 1)]);
    d.recover();
    d.append(Uint8Array.of(3));
    expect(d.records()).toEqual([Uint8Array.of(1, 1), Uint8Array.of(3)]);
  });
});
