/**
 * The binary primitives shared by the transaction and snapshot formats:
 * big-endian fixed-width integers, length-prefixed UTF-8 strings and byte
 * arrays (length -1 for null, as jute writes them). Hand-rolled rather than
 * msgpack because both formats are fixed tuples: no field names, no tags.
 */

const TWO_32 = 2 ** 32;

export class Writer {
  private buf: Buffer;
  private pos = 0;

  constructor(initial = 256) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  private room(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  u8(v: number): void {
    this.room(1);
    this.buf[this.pos++] = v;
  }

  i32(v: number): void {
    this.room(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
  }

  u32(v: number): void {
    this.room(4);
    this.buf.writeUInt32BE(v, this.pos);
    this.pos += 4;
  }

  i64(v: bigint): void {
    this.room(8);
    this.buf.writeBigInt64BE(v, this.pos);
    this.pos += 8;
  }

  /** A safe integer (zxid, time) as a signed 64-bit value, without going through bigint. */
  num(v: number): void {
    const hi = Math.floor(v / TWO_32);
    this.i32(hi);
    this.u32(v - hi * TWO_32);
  }

  str(s: string): void {
    const len = Buffer.byteLength(s);
    this.room(4 + len);
    this.buf.writeUInt32BE(len, this.pos);
    this.buf.write(s, this.pos + 4, len, 'utf8');
    this.pos += 4 + len;
  }

  /** Length-prefixed bytes; a string stands for its one-byte (latin1) bytes, as a node keeps small data, so none is copied into a Buffer first. */
  bytes(b: Uint8Array | string | null): void {
    if (b === null) {
      this.i32(-1);
      return;
    }
    this.room(4 + b.length);
    this.buf.writeInt32BE(b.length, this.pos);
    if (typeof b === 'string') this.buf.write(b, this.pos + 4, b.length, 'latin1');
    else this.buf.set(b, this.pos + 4);
    this.pos += 4 + b.length;
  }

  /** Bytes written so far. */
  get length(): number {
    return this.pos;
  }

  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}

export class Reader {
  private readonly buf: Buffer;
  private pos = 0;

  constructor(data: Uint8Array) {
    this.buf = Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  }

  private need(n: number): number {
    const at = this.pos;
    if (at + n > this.buf.length) throw new RangeError(`truncated record: need ${n} bytes at ${at} of ${this.buf.length}`);
    this.pos += n;
    return at;
  }

  u8(): number {
    return this.buf[this.need(1)]!;
  }

  i32(): number {
    return this.buf.readInt32BE(this.need(4));
  }

  u32(): number {
    return this.buf.readUInt32BE(this.need(4));
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
}
