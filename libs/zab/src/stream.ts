import type { Broadcast } from '@zooid/protocol';
import { assert } from './assert.js';

/** Bytes a broadcast takes on the bus, near enough to split a run of them into messages. */
export function broadcastBytes(b: Broadcast): number {
  let n = 64;
  for (const [, payload] of b.proposals) n += payload.byteLength + 16;
  for (const [learner, , , path] of b.syncs) n += learner.length + path.length * 3 + 32;
  return n;
}

/**
 * What a proposal held in memory costs beyond its payload's bytes: the
 * Buffer object over the payload (about 96 bytes of heap), the [zxid,
 * payload] pair (64) and its zxid as a heap number (16), and the slot in the
 * broadcast's array. Counting only the wire bytes put a window "of 32 MiB"
 * at about 120 MiB of a leader's memory once its proposals were small.
 */
const PROPOSAL_HELD_BYTES = 184;
/** The same for a sync answer: its tuple, its elements and two small strings. */
const SYNC_HELD_BYTES = 128;

/** Bytes a broadcast holds in memory while kept: what the limits below bound. */
export function heldBytes(b: Broadcast): number {
  return broadcastBytes(b) + b.proposals.length * PROPOSAL_HELD_BYTES + b.syncs.length * SYNC_HELD_BYTES;
}

/** How much of a broadcast stream is kept: by count and by bytes, whichever binds first. */
export interface StreamLimits {
  count: number;
  bytes: number;
}

/**
 * As many as a learner at the edge of the window needs: at a busy leader's
 * rate this is seconds of broadcasts, well beyond a resend's round trip;
 * a learner further behind takes a DIFF instead.
 */
export const DEFAULT_STREAM_LIMITS: StreamLimits = { count: 4096, bytes: 32 * 1024 * 1024 };

/**
 * The leader's recent broadcasts of its epoch, in sequence order, so that a
 * learner that missed some can have them again instead of resyncing. The
 * oldest are forgotten past the limits; the newest is always kept.
 */
export class BroadcastWindow {
  private kept: { b: Broadcast; bytes: number }[] = [];
  private head = 0;
  private bytes = 0;
  private last = 0;

  constructor(private readonly limits: StreamLimits = DEFAULT_STREAM_LIMITS) {
    assert(limits.count >= 1 && limits.bytes >= 1, 'a broadcast window keeps at least one broadcast');
  }

  /** The first sequence number still kept (last + 1 when none is). */
  get first(): number {
    return this.last - (this.kept.length - this.head) + 1;
  }

  push(b: Broadcast): void {
    assert(this.last === 0 || b.seq === this.last + 1, `broadcasts are kept in sequence: ${b.seq} after ${this.last}`);
    const bytes = heldBytes(b);
    this.kept.push({ b, bytes });
    this.bytes += bytes;
    this.last = b.seq;
    while (this.kept.length - this.head > 1 && (this.kept.length - this.head > this.limits.count || this.bytes > this.limits.bytes)) {
      this.bytes -= this.kept[this.head]!.bytes;
      this.kept[this.head++] = undefined as never;
    }
    // Compact now and then, so that forgetting the oldest costs O(1) amortized.
    if (this.head > 1024 && this.head * 2 > this.kept.length) {
      this.kept = this.kept.slice(this.head);
      this.head = 0;
    }
  }

  /**
   * Broadcasts fromSeq..toSeq (toSeq capped at the newest), or undefined
   * when the first of them is no longer kept.
   */
  range(fromSeq: number, toSeq: number): Broadcast[] | undefined {
    if (fromSeq < this.first) return undefined;
    const to = Math.min(toSeq, this.last);
    const out: Broadcast[] = [];
    for (let seq = fromSeq; seq <= to; seq++) out.push(this.kept[this.head + seq - this.first]!.b);
    return out;
  }
}

export type Received =
  /** An older epoch, or a sequence number already taken: ignore it. */
  | { verdict: 'stale' }
  /** A newer epoch: the leader we follow has been replaced. */
  | { verdict: 'newer' }
  /** Too much is waiting behind a gap for a resend to be worth it: resync. */
  | { verdict: 'overflow' }
  /** Taken; `ready` are the broadcasts now due, in sequence (none while a gap is open before this one). */
  | { verdict: 'ok'; ready: Broadcast[] };

/** What to do about an open gap: ask the leader for seqs from..to, or give up and resync. */
export type GapStep = { ask: { fromSeq: number; toSeq: number } } | 'give-up';

export interface GapPolicy {
  /** How long to wait for an asked resend before asking again. */
  retryMs: number;
  /** How long a gap may stay open before the learner resyncs instead. */
  giveUpMs: number;
}

/**
 * A learner's view of the leader's broadcast stream. NATS delivers at most
 * once, so every broadcast carries its epoch and sequence number. They are
 * handed on strictly in sequence; what arrives after a gap waits here while
 * the leader is asked for the missing part (the broadcast right after the
 * gap, or the half-tick heartbeat, shows the gap). A gap that stays open too
 * long, or too much waiting behind it, means the learner resyncs instead.
 * Time is passed in: no clock, no timers.
 */
export class BroadcastStream {
  private readonly waiting = new Map<number, Broadcast>();
  private waitingBytes = 0;
  /** When the current gap was seen, and when we last asked about it. */
  private gapSince?: number;
  private askedAt?: number;

  constructor(
    readonly epoch: number,
    /** The last sequence number handed on (the sync is current with it). */
    private seq: number,
    private readonly policy: GapPolicy,
    private readonly limits: StreamLimits = DEFAULT_STREAM_LIMITS,
  ) {}

  /** The next sequence number due. */
  get next(): number {
    return this.seq + 1;
  }

  receive(b: Broadcast, now: number): Received {
    if (b.epoch !== this.epoch) return { verdict: b.epoch > this.epoch ? 'newer' : 'stale' };
    if (b.seq <= this.seq || this.waiting.has(b.seq)) return { verdict: 'stale' };
    if (b.seq > this.seq + 1) {
      const bytes = heldBytes(b);
      if (this.waiting.size >= this.limits.count || this.waitingBytes + bytes > this.limits.bytes) return { verdict: 'overflow' };
      this.waiting.set(b.seq, b);
      this.waitingBytes += bytes;
      this.gapSince ??= now;
      return { verdict: 'ok', ready: [] };
    }
    const ready = [b];
    this.seq = b.seq;
    for (let w = this.waiting.get(this.seq + 1); w; w = this.waiting.get(this.seq + 1)) {
      this.waiting.delete(w.seq);
      this.waitingBytes -= heldBytes(w);
      ready.push(w);
      this.seq = w.seq;
    }
    // Progress: what is still missing is a new gap, asked about at once.
    this.gapSince = this.waiting.size > 0 ? now : undefined;
    this.askedAt = undefined;
    return { verdict: 'ok', ready };
  }

  /** Whether to ask the leader (again) for the missing broadcasts, or give up; undefined: nothing to do yet. */
  poll(now: number): GapStep | undefined {
    if (this.gapSince === undefined) return undefined;
    if (now - this.gapSince >= this.policy.giveUpMs) return 'give-up';
    if (this.askedAt !== undefined && now - this.askedAt < this.policy.retryMs) return undefined;
    this.askedAt = now;
    let firstWaiting = Infinity;
    for (const seq of this.waiting.keys()) firstWaiting = Math.min(firstWaiting, seq);
    return { ask: { fromSeq: this.seq + 1, toSeq: firstWaiting - 1 } };
  }
}
