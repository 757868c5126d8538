import { keep } from './stat.js';

/**
 * Copies of small byte runs packed side by side into slabs of their own, for
 * bytes that are kept a while and let go roughly in the order they were made
 * (a leader's proposals: logged, broadcast, kept for resends, then dropped).
 *
 * Why not Node's Buffer pool: a small `Buffer.allocUnsafe` is a view into an
 * 8 KiB slab shared with every other small allocation of the moment, most of
 * them short-lived, and one kept view keeps the whole slab. A leader's window
 * of recent proposals, each about 80 bytes, held some 8 KiB slab per twenty
 * of them. Why not a Buffer of its own per run: that costs an ArrayBuffer and
 * a backing store each, some 200 bytes beside the run.
 */
export class Slabs {
  private slab: Buffer;
  private used = 0;

  constructor(private readonly slabBytes = 64 * 1024) {
    this.slab = Buffer.allocUnsafeSlow(slabBytes);
  }

  /** A copy of bytes that shares memory with nothing but other copies made here. */
  copy(bytes: Uint8Array): Buffer {
    const n = bytes.length;
    // Large runs get a slab to themselves rather than wasting the rest of one.
    if (n > this.slabBytes / 8) return keep(bytes);
    if (this.used + n > this.slabBytes) {
      this.slab = Buffer.allocUnsafeSlow(this.slabBytes);
      this.used = 0;
    }
    const out = this.slab.subarray(this.used, this.used + n);
    out.set(bytes);
    // Eight-byte aligned, as the pool is, so typed-array views over a copy stay possible.
    this.used += (n + 7) & ~7;
    return out;
  }
}
