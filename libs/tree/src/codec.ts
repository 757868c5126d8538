/**
 * The binary primitives shared by the transaction and snapshot formats:
 * big-endian fixed-width integers, length-prefixed UTF-8 strings and byte
 * arrays (length -1 for null, as jute writes them). Hand-rolled rather than
 * msgpack because both formats are fixed tuples: no field names, no tags.
 */

const TWO_32 = 2 ** 32;

/** Strings and byte strings up to this long are copied by a loop: cheaper than a call into the runtime, which a snapshot makes per znode. */
const SHORT = 64;

export class Writer {
  private buf: Buffer;
  private view: DataView;
  private pos = 0;

  constructor(initial = 256) {
    this.buf = Buffer.allocUnsafe(initial);
    this.view = new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.length);
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
    this.view = new DataView(next.buffer, next.byteOffset, next.length);
  }

  u8(v: number): void {
    this.room(1);
    this.buf[this.pos++] = v;
  }

  // DataView wraps what does not fit: such a value (out of range, fractional, NaN) is a bug upstream, refused rather than written wrong.
  i32(v: number): void {
    if ((v | 0) !== v) throw new RangeError(`${v} is not a signed 32-bit integer`);
    this.room(4);
    this.view.setInt32(this.pos, v);
    this.pos += 4;
  }

  u32(v: number): void {
    if (v >>> 0 !== v) throw new RangeError(`${v} is not an unsigned 32-bit integer`);
    this.room(4);
    this.view.setUint32(this.pos, v);
    this.pos += 4;
  }

  i64(v: bigint): void {
    this.room(8);
    // Most owners are 0n: no bigint arithmetic for those.
    if (v === 0n) {
      this.view.setUint32(this.pos, 0);
      this.view.setUint32(this.pos + 4, 0);
    } else this.buf.writeBigInt64BE(v, this.pos);
    this.pos += 8;
  }

  /** A safe integer (zxid, time) as a signed 64-bit value, without going through bigint. */
  num(v: number): void {
    if (!Number.isSafeInteger(v)) throw new RangeError(`${v} is not a safe integer`);
    const hi = Math.floor(v / TWO_32);
    this.room(8);
    this.view.setInt32(this.pos, hi);
    this.view.setUint32(this.pos + 4, v - hi * TWO_32);
    this.pos += 8;
  }

  str(s: string): void {
    if (s.length <= SHORT && this.ascii(s)) return;
    const len = Buffer.byteLength(s);
    this.room(4 + len);
    this.view.setUint32(this.pos, len);
    this.buf.write(s, this.pos + 4, len, 'utf8');
    this.pos += 4 + len;
  }

  /** Writes `s` length-prefixed if it is all ASCII (its UTF-8 is then its code units); false, leaving the writer where it was, if not. */
  private ascii(s: string): boolean {
    const n = s.length;
    this.room(4 + n);
    const buf = this.buf;
    const at = this.pos + 4;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) return false;
      buf[at + i] = c;
    }
    this.view.setUint32(this.pos, n);
    this.pos = at + n;
    return true;
  }

  /** Length-prefixed bytes; a string stands for its one-byte (latin1) bytes, as a node keeps small data, so none is copied into a Buffer first. */
  bytes(b: Uint8Array | string | null): void {
    if (b === null) {
      this.i32(-1);
      return;
    }
    const n = b.length;
    this.room(4 + n);
    this.view.setInt32(this.pos, n);
    const at = this.pos + 4;
    if (typeof b !== 'string') this.buf.set(b, at);
    else if (n > SHORT) this.buf.write(b, at, n, 'latin1');
    else for (let i = 0; i < n; i++) this.buf[at + i] = b.charCodeAt(i);
    this.pos = at + n;
  }

  /** Bytes written so far. */
  get length(): number {
    return this.pos;
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

/** A read past the end of the bytes: more may be on the way (a snapshot arriving in parts), or they were cut short. */
export class Truncated extends RangeError {}

export class Reader {
  private readonly buf: Buffer;
  private readonly view: DataView;
  private pos = 0;

  constructor(data: Uint8Array) {
    this.buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  private need(n: number): number {
    const at = this.pos;
    if (at + n > this.buf.length) throw new Truncated(`truncated record: need ${n} bytes at ${at} of ${this.buf.length}`);
    this.pos += n;
    return at;
  }

  u8(): number {
    return this.buf[this.need(1)]!;
  }

  i32(): number {
    return this.view.getInt32(this.need(4));
  }

  u32(): number {
    return this.view.getUint32(this.need(4));
  }

  i64(): bigint {
    return this.buf.readBigInt64BE(this.need(8));
  }

  num(): number {
    const hi = this.i32();
    return hi * TWO_32 + this.u32();
  }

  str(): string {
    const len = this.u32();
    const at = this.need(len);
    return this.buf.toString('utf8', at, at + len);
  }

  /**
   * A copy by default, so a decoded record neither pins nor aliases the
   * buffer it came from (which its owner may reuse). `view` skips the copy
   * for a caller that copies anyway.
   */
  bytes(view = false): Buffer | null {
    const len = this.i32();
    if (len < 0) return null;
    const at = this.need(len);
    const slice = this.buf.subarray(at, at + len);
    return view ? slice : Buffer.from(slice);
  }

  get done(): boolean {
    return this.pos === this.buf.length;
  }

  /** Where the next read starts, to come back to with rewind() when a record turns out incomplete. */
  get position(): number {
    return this.pos;
  }

  rewind(pos: number): void {
    this.pos = pos;
  }

  /** What is left to read followed by `more`: a record cut at the end of one part goes on in the next. */
  followedBy(more: Uint8Array): Reader {
    return new Reader(this.done ? more : Buffer.concat([this.buf.subarray(this.pos), more]));
  }
}
