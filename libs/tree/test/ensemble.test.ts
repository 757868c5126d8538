import { describe, expect, it } from 'vitest';
import { ackingConfigs, ConfigError, formatConfig, formatServer, isQuorum, isQuorumOfAll, observers, parseConfig, parseServer, voters, type Ensemble } from '../src/index.js';

/** A 3.8 quorum's /zookeeper/config after `reconfig -add server.4=localhost:2891:3891:observer;2184` at zxid 0x100000002. */
const ZK_CONFIG = [
  'server.1=localhost:2888:3888:participant;0.0.0.0:2181',
  'server.2=localhost:2889:3889:participant;0.0.0.0:2182',
  'server.3=localhost:2890:3890:participant;0.0.0.0:2183',
  'server.4=localhost:2891:3891:observer;0.0.0.0:2184',
  'version=100000002',
].join('\n');

function ids(n: number[], obs: number[] = [], version = 0): Ensemble {
  const m = (id: number, type: 'participant' | 'observer') => ({ id, host: 'h', quorumPort: 2000 + id, electionPort: 3000 + id, type });
  return { members: [...n.map((id) => m(id, 'participant')), ...obs.map((id) => m(id, 'observer'))].sort((a, b) => a.id - b.id), version };
}

describe('server specs (QuorumServer)', () => {
  it.each([
    ['localhost:2888:3888', 'localhost:2888:3888:participant'],
    ['localhost:2888:3888:observer', 'localhost:2888:3888:observer'],
    ['localhost:2888:3888:PARTICIPANT;2181', 'localhost:2888:3888:participant;0.0.0.0:2181'],
    ['10.0.0.5:2888:3888;10.0.0.5:2181', '10.0.0.5:2888:3888:participant;10.0.0.5:2181'],
    ['[::1]:2888:3888:observer;[::1]:2181', '[::1]:2888:3888:observer;[::1]:2181'],
    [' zk-1.svc:2888:3888 ; 2181 ', 'zk-1.svc:2888:3888:participant;0.0.0.0:2181'],
  ])('%s prints as %s', (spec, printed) => {
    expect(formatServer(parseServer(1, spec))).toBe(printed);
    expect(formatServer(parseServer(1, printed))).toBe(printed);
  });

  it.each([
    'localhost:2888',
    'localhost:2888:3888:voter',
    'localhost:2888:3888:participant:extra',
    'localhost:x:3888',
    'localhost:2888:70000',
    ':2888:3888',
    'localhost:2888:3888;a:b:c',
    'localhost:2888:3888;2181;2182',
    'a:2888:3888|b:2888:3888',
    '[::1:2888:3888',
  ])('%s is refused', (spec) => {
    expect(() => parseServer(1, spec)).toThrow(ConfigError);
  });
});

describe('configuration text (QuorumMaj)', () => {
  it("reads and reprints ZooKeeper's /zookeeper/config byte for byte", () => {
    const e = parseConfig(ZK_CONFIG);
    expect(e.version).toBe(0x100000002);
    expect(voters(e)).toEqual([1, 2, 3]);
    expect(observers(e)).toEqual([4]);
    expect(formatConfig(e)).toBe(ZK_CONFIG);
  });

  it('prints members in id order, the version in lower-case hex and no final newline', () => {
    const e = parseConfig('server.10=c:1:2\nserver.2=b:1:2:observer\nversion=AbC');
    expect(formatConfig(e)).toBe('server.2=b:1:2:observer\nserver.10=c:1:2:participant\nversion=abc');
  });

  it('reads java.properties lines: comments, blanks, `:` or spaces as separator, last key wins', () => {
    const e = parseConfig('# dynamic\n\n  server.1 = a:1:2\n! old\nserver.1=b:1:2\nserver.2 b:3:4\nclientPort=2181\n');
    expect(e.members.map((m) => [m.id, m.host])).toEqual([[1, 'b'], [2, 'b']]);
    expect(e.version).toBe(0);
  });

  it('refuses hierarchical quorums, bad ids and bad versions', () => {
    expect(() => parseConfig('server.1=a:1:2\ngroup.1=1')).toThrow(ConfigError);
    expect(() => parseConfig('server.x=a:1:2')).toThrow(ConfigError);
    expect(() => parseConfig('server.1=a:1:2\nversion=zz')).toThrow(ConfigError);
  });
});

describe('quorums (QuorumMaj.containsQuorum)', () => {
  it.each([
    [[1], [1], true],
    [[1, 2], [1], false],
    [[1, 2], [1, 2], true],
    [[1, 2, 3], [1, 2], true],
    [[1, 2, 3], [3], false],
    [[1, 2, 3, 4], [1, 2], false],
    [[1, 2, 3, 4], [1, 2, 4], true],
    [[1, 2, 3, 4, 5], [2, 4, 5], true],
    [[1, 2, 3, 4, 5], [1, 5], false],
  ])('voters %j, acks %j: %s', (vs, acks, q) => {
    expect(isQuorum(ids(vs), acks)).toBe(q);
  });

  it('counts neither observers, nor strangers, nor the same ack twice', () => {
    const e = ids([1, 2, 3], [4, 5]);
    expect(isQuorum(e, [1, 4, 5, 9])).toBe(false);
    expect(isQuorum(e, [1, 1, 1])).toBe(false);
    expect(isQuorum(e, [1, 3, 4])).toBe(true);
  });

  it('has no quorum without voters', () => {
    expect(isQuorum(ids([], [1]), [1])).toBe(false);
  });
});

describe('a change in flight needs a quorum of the old and of the new voters', () => {
  it('3 → 5: two old voters alone are not enough, three with one old is not enough', () => {
    const old = ids([1, 2, 3]);
    const next = ids([1, 2, 3, 4, 5]);
    expect(isQuorumOfAll([old, next], [1, 2])).toBe(false); // old yes, new 2/5
    expect(isQuorumOfAll([old, next], [1, 4, 5])).toBe(false); // new 3/5, old 1/3
    expect(isQuorumOfAll([old, next], [1, 2, 4])).toBe(true);
  });

  it('5 → 3: the remaining three must hold a quorum of their own', () => {
    const old = ids([1, 2, 3, 4, 5]);
    const next = ids([1, 2, 3]);
    expect(isQuorumOfAll([old, next], [1, 4, 5])).toBe(false); // old 3/5, new 1/3
    expect(isQuorumOfAll([old, next], [1, 2, 4])).toBe(true);
    expect(isQuorumOfAll([old, next], [1, 2])).toBe(false); // new yes, old 2/5
  });

  it('replacing the leader: 1,2,3 → 2,3,4 with the leader 1 leaving', () => {
    const old = ids([1, 2, 3]);
    const next = ids([2, 3, 4]);
    // the leaving leader's own ack counts only for the old configuration
    expect(isQuorumOfAll([old, next], [1, 4])).toBe(false);
    expect(isQuorumOfAll([old, next], [1, 2, 4])).toBe(true);
    expect(isQuorumOfAll([old, next], [2, 3])).toBe(true);
  });

  it('1 → 3: the lone voter and one joiner', () => {
    const old = ids([1]);
    const next = ids([1, 2, 3]);
    expect(isQuorumOfAll([old, next], [1])).toBe(false);
    expect(isQuorumOfAll([old, next], [2, 3])).toBe(false); // the old voter never saw it
    expect(isQuorumOfAll([old, next], [1, 3])).toBe(true);
  });

  it('promoting an observer: 1,2,3 + observer 4 → voters 1,2,3,4', () => {
    const old = ids([1, 2, 3], [4]);
    const next = ids([1, 2, 3, 4]);
    expect(isQuorumOfAll([old, next], [1, 2, 4])).toBe(true);
    expect(isQuorumOfAll([old, next], [1, 4])).toBe(false);
  });

  it('with one configuration it is the plain rule', () => {
    expect(isQuorumOfAll([ids([1, 2, 3])], [2, 3])).toBe(true);
  });
});

describe('which quorums a proposal needs (ackingConfigs)', () => {
  const old = ids([1, 2, 3], [], 0x100000000);
  const next = ids([1, 2, 3, 4, 5], [], 0x100000010);

  it('before the reconfig proposal: the committed voters only', () => {
    expect(ackingConfigs(old, next, 0x10000000f)).toEqual([old]);
  });

  it('the reconfig and everything after it until it commits: both', () => {
    expect(ackingConfigs(old, next, 0x100000010)).toEqual([old, next]);
    expect(ackingConfigs(old, next, 0x100000011)).toEqual([old, next]);
    // 1,2 are a quorum of the old three but not of the five
    expect(isQuorumOfAll(ackingConfigs(old, next, 0x100000011), [1, 2])).toBe(false);
    expect(isQuorumOfAll(ackingConfigs(old, next, 0x10000000f), [1, 2])).toBe(true);
  });

  it('with nothing pending, or once committed: that configuration', () => {
    expect(ackingConfigs(old, undefined, 0x100000011)).toEqual([old]);
    expect(ackingConfigs(next, next, 0x100000011)).toEqual([next]);
  });
});
