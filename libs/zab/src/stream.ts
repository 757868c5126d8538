import type { Broadcast } from '@zooid/protocol';

export type StreamVerdict = 'next' | 'stale' | 'gap';

/**
 * A learner's view of the leader's broadcast stream. NATS delivers at most
 * once, so every message carries its epoch and sequence number: the next one
 * is applied, an old one ignored, a gap means something was lost and the
 * learner must resync.
 */
export class StreamPosition {
  constructor(
    readonly epoch: number,
    private seq: number,
  ) {}

  check(b: Broadcast): StreamVerdict {
    if (b.epoch !== this.epoch || b.seq <= this.seq) return b.epoch > this.epoch ? 'gap' : 'stale';
    if (b.seq !== this.seq + 1) return 'gap';
    this.seq = b.seq;
    return 'next';
  }
}
