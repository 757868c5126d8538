import { describe, expect, it } from 'vitest';
import { atTurnEnd } from '../src/turn.js';

describe('atTurnEnd', () => {
  it('runs what a turn queued together, in order, in one callback; what they queue waits for the next turn', async () => {
    const order: string[] = [];
    await new Promise<void>((done) => {
      atTurnEnd(() => {
        order.push('a');
        atTurnEnd(() => {
          order.push('d');
          done();
        });
      });
      atTurnEnd(() => order.push('b'));
      setImmediate(() => order.push('c'));
    });
    expect(order).toEqual(['a', 'b', 'c', 'd']);
  });
});
