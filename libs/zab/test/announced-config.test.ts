import { describe, expect, it } from 'vitest';
import { quorumConfig, type AnnouncedConfig } from '../src/announced-config.js';

const v = (version: number, ...voters: string[]): AnnouncedConfig => ({ version, voters });
const heard = (...pairs: [string, AnnouncedConfig][]) => new Map(pairs);

describe('quorumConfig: what a joiner without --ensemble starts from', () => {
  it('waits for a quorum of the configuration’s own voters', () => {
    expect(quorumConfig(heard())).toBeUndefined();
    expect(quorumConfig(heard(['1', v(0, '1', '2', '3')]))).toBeUndefined();
    expect(quorumConfig(heard(['1', v(0, '1', '2', '3')], ['2', v(0, '3', '2', '1')]))).toEqual(v(0, '1', '2', '3'));
  });

  it('does not count members the configuration does not list (other joiners, removed members)', () => {
    const five = v(7, '1', '2', '3', '4', '5');
    expect(quorumConfig(heard(['1', five], ['2', five], ['6', five], ['7', five]))).toBeUndefined();
    expect(quorumConfig(heard(['1', five], ['2', five], ['3', five], ['6', five]))).toEqual(five);
  });

  it('takes the newest configuration a quorum of its voters holds; an older quorum does not hold it back', () => {
    const three = v(0, '1', '2', '3');
    const four = v(2 ** 32 + 5, '1', '2', '3', '4');
    // Member 3 has not applied the change yet: 1, 2 and 4 are a quorum of the four.
    expect(quorumConfig(heard(['1', four], ['2', four], ['3', three], ['4', four]))).toEqual(four);
    // Only 1 has it: three of four voters are needed, so the older one, which 2 and 3 still hold, is all there is.
    expect(quorumConfig(heard(['1', four], ['2', three], ['3', three]))).toEqual(three);
  });

  it('refuses to choose between two configurations of the same version (static lists that differ)', () => {
    const a = v(0, '1', '2', '3');
    const b = v(0, '3', '4', '5');
    expect(quorumConfig(heard(['1', a], ['2', a], ['4', b], ['5', b]))).toBeUndefined();
  });

  it('ignores a configuration without voters', () => {
    expect(quorumConfig(heard(['1', v(3)]))).toBeUndefined();
  });
});
