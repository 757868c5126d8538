import { describe, expect, it } from 'vitest';
import { SimulatedClock, createActor } from 'xstate';
import { zabRoleMachine, type RoleReport } from '../src/role-machine.js';

const limits = { initLimitMs: 1000, syncLimitMs: 500 };

/** A stint whose core ends when asked to expire, as the real hosts' cores do. */
function stint(kind: 'leader' | 'follower' = 'leader') {
  const clock = new SimulatedClock();
  const log: string[] = [];
  let report!: RoleReport;
  const actor = createActor(zabRoleMachine(kind), {
    clock,
    input: {
      limits,
      host: (r) => {
        report = r;
        return {
          expire: (reason) => {
            log.push(`expire: ${reason}`);
            r.end(reason);
          },
          stop: () => log.push('stop'),
        };
      },
    },
  });
  actor.start();
  return { actor, clock, log, report: () => report, state: () => actor.getSnapshot().value };
}

describe('zabRoleMachine: the stint lifecycle and its timers', () => {
  it('goes discovery → synchronization → broadcast on the host phases', () => {
    const s = stint();
    expect(s.state()).toEqual({ establishing: 'discovery' });
    s.report().phase('synchronization', 3);
    expect(s.state()).toEqual({ establishing: 'synchronization' });
    s.report().phase('broadcast', 3);
    expect(s.state()).toBe('broadcast');
    expect(s.actor.getSnapshot().context.epoch).toBe(3);
  });

  it('expires a stint that does not reach broadcast within initLimit, through its core', () => {
    const s = stint();
    s.report().phase('synchronization', 2);
    s.clock.increment(limits.initLimitMs - 1);
    expect(s.log).toEqual([]);
    s.clock.increment(1);
    expect(s.log).toEqual(['expire: no quorum synchronized within initLimit', 'stop']);
    expect(s.actor.getSnapshot().status).toBe('done');
    expect(s.actor.getSnapshot().output).toEqual({ reason: 'no quorum synchronized within initLimit' });
  });

  it("gives each establishing phase its own initLimit, as ZooKeeper's leader waits for epoch acks and then for NEWLEADER acks", () => {
    const s = stint();
    s.clock.increment(limits.initLimitMs - 10);
    s.report().phase('synchronization', 2);
    s.clock.increment(limits.initLimitMs - 1);
    expect(s.log).toEqual([]);
    s.clock.increment(1);
    expect(s.log[0]).toBe('expire: no quorum synchronized within initLimit');
  });

  it("bounds a learner's silence between handshake steps, not the whole sync, by what its host reports", () => {
    const s = stint('follower');
    s.report().phase('synchronization', 2);
    // A long sync whose parts keep coming: each step moves the deadline.
    for (let i = 0; i < 10; i++) {
      s.clock.increment(limits.initLimitMs - 100);
      s.report().live(limits.initLimitMs);
    }
    expect(s.log).toEqual([]);
    // The last part came 600 ms ago.
    s.report().live(limits.initLimitMs - 600);
    s.clock.increment(399);
    expect(s.log).toEqual([]);
    s.clock.increment(1);
    expect(s.log[0]).toBe('expire: no leader synchronized us within initLimit');
  });

  it('drops the initLimit once broadcasting and expires a stint not heard from within syncLimit', () => {
    const s = stint('follower');
    s.report().phase('broadcast', 2);
    s.clock.increment(limits.initLimitMs * 5 - 1);
    // No LIVE came: the first syncLimit from the broadcast entry expired it.
    expect(s.log).toEqual(['expire: leader silent for syncLimit', 'stop']);
  });

  it('moves the syncLimit deadline with every LIVE report, by what the host says is left', () => {
    const s = stint();
    s.report().phase('broadcast', 2);
    for (let i = 0; i < 20; i++) {
      s.clock.increment(limits.syncLimitMs - 50);
      s.report().live(limits.syncLimitMs);
    }
    expect(s.log).toEqual([]);
    // The quorum was last heard 300 ms ago: 200 ms are left.
    s.report().live(200);
    s.clock.increment(199);
    expect(s.log).toEqual([]);
    s.clock.increment(1);
    expect(s.log[0]).toBe('expire: lost quorum: not heard from a quorum within syncLimit');
  });

  it('expires at once when the host reports the deadline already passed', () => {
    const s = stint();
    s.report().phase('broadcast', 2);
    s.report().live(-40);
    s.clock.increment(0);
    expect(s.log[0]).toMatch(/^expire: lost quorum/);
  });

  it('ends with the reason of the core and stops the host', () => {
    const s = stint();
    s.report().phase('broadcast', 2);
    s.report().end('the leader moved on to epoch 3');
    expect(s.log).toEqual(['stop']);
    expect(s.actor.getSnapshot().output).toEqual({ reason: 'the leader moved on to epoch 3' });
    s.clock.increment(limits.initLimitMs * 10);
    expect(s.log).toEqual(['stop']);
  });
});
