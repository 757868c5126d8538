/**
 * Jute binary encoding as ZooKeeper's BinaryInputArchive/BinaryOutputArchive
 * lay it out: big-endian int32/int64, one byte per boolean, and int32
 * length-prefixed buffers, ustrings and vectors where -1 means null.
 */

/** Malformed jute input: truncation, an impossible length, an unknown tag. */
export class JuteError extends Error {
  override readonly name = 'JuteError';
}

const TWO_32 = 2 ** 32;

/** A Buffer view of the same memory, so Buffer's readers work on any Uint8Array. */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Reads jute from one frame without copying it. Every length is checked
 * against the bytes that are left, so garbage input raises JuteError instead
 * of reading out of bounds or allocating what the length claims.
 */
export class JuteReader {
  private readonly buf: Buffer;
  private pos = 0;

  constructor(bytes: Uint8Array) {
    this.buf = asBuffer(bytes);
  }

  get offset(): number {
    return this.pos;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private take(n: number, what: string): number {
    const at = this.pos;
    if (n > this.buf.length - at) {
      throw new JuteError(`truncated ${what} at offset ${at}: need ${n} bytes, have ${this.buf.length - at}`);
    }
    this.pos = at + n;
    return at;
  }

  readInt(): number {
    return this.buf.readInt32BE(this.take(4, 'int'));
  }

  readLong(): bigint {
    return this.buf.readBigInt64BE(this.take(8, 'long'));
  }

  /** An int64 that must fit a JS number exactly (zxids, times, ttls). */
  readLongNum(): number {
    const at = this.take(8, 'long');
    const value = this.buf.readInt32BE(at) * TWO_32 + this.buf.readUInt32BE(at + 4);
    if (!Number.isSafeInteger(value)) {
      throw new JuteError(`long at offset ${at} is outside the safe integer range`);
    }
    return value;
  }

  /** Like Java's DataInput.readBoolean: any non-zero byte is true. */
  readBool(): boolean {
    return this.buf[this.take(1, 'boolean')] !== 0;
  }

  /** A length for a buffer or string: -1 is null, any other negative is garbage. */
  private readLength(what: string): number {
    const at = this.pos;
    const len = this.readInt();
    if (len < -1) throw new JuteError(`negative ${what} length ${len} at offset ${at}`);
    if (len > this.remaining) {
      throw new JuteError(`${what} length ${len} at offset ${at} exceeds the ${this.remaining} bytes left`);
    }
    return len;
  }

  /** The bytes are a view into the frame, not a copy. */
  readBuffer(): Buffer | null {
    const len = this.readLength('buffer');
    if (len === -1) return null;
    const at = this.take(len, 'buffer');
    return this.buf.subarray(at, at + len);
  }

  /** A ustring where null (-1) and "" mean different things (reconfig's server lists). */
  readNullableString(): string | null {
    const len = this.readLength('string');
    if (len === -1) return null;
    const at = this.take(len, 'string');
    return this.buf.toString('utf8', at, at + len);
  }

  /**
   * A ustring where null reads as "": kazoo writes every empty string as
   * null (an `Id('auth', '')` ACL, for one), and only reconfig's server
   * lists give null a meaning of its own.
   */
  readString(): string {
    return this.readNullableString() ?? '';
  }

  /**
   * A vector; null (-1) reads as empty, as no vector of the protocol gives
   * null a meaning of its own. Every element takes at least one byte, so a
   * count beyond the bytes left is refused before looping.
   */
  readVector<T>(readItem: (r: JuteReader) => T): T[] {
    const len = this.readLength('vector');
    const items: T[] = [];
    for (let i = 0; i < len; i++) items.push(readItem(this));
    return items;
  }

  readStringVector(): string[] {
    return this.readVector((r) => r.readString());
  }
}

/** Writes jute into a buffer that grows as needed; one writer per message. */
export class JuteWriter {
  private buf: Buffer;
  private pos = 0;

  constructor(initialSize = 256) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  writeInt(v: number): this {
    this.ensure(4);
    this.pos = this.buf.writeInt32BE(v, this.pos);
    return this;
  }

  writeLong(v: bigint): this {
    this.ensure(8);
    this.pos = this.buf.writeBigInt64BE(v, this.pos);
    return this;
  }

  /** An int64 held as a JS number; split in two words to avoid a BigInt per field. */
  writeLongNum(v: number): this {
    if (!Number.isSafeInteger(v)) throw new RangeError(`not a safe integer for a jute long: ${v}`);
    const hi = Math.floor(v / TWO_32);
    this.ensure(8);
    this.buf.writeInt32BE(hi, this.pos);
    this.pos = this.buf.writeUInt32BE(v - hi * TWO_32, this.pos + 4);
    return this;
  }

  writeBool(v: boolean): this {
    this.ensure(1);
    this.buf[this.pos++] = v ? 1 : 0;
    return this;
  }

  writeBuffer(v: Uint8Array | null): this {
    if (v === null) return this.writeInt(-1);
    this.ensure(4 + v.length);
    this.pos = this.buf.writeInt32BE(v.length, this.pos);
    this.buf.set(v, this.pos);
    this.pos += v.length;
    return this;
  }

  /** UTF-8; reserves the worst case (3 bytes per UTF-16 unit) and patches the length in. */
  writeString(v: string | null): this {
    if (v === null) return this.writeInt(-1);
    this.ensure(4 + v.length * 3);
    const n = this.buf.write(v, this.pos + 4, 'utf8');
    this.buf.writeInt32BE(n, this.pos);
    this.pos += 4 + n;
    return this;
  }

  writeVector<T>(items: readonly T[], writeItem: (w: JuteWriter, item: T) => void): this {
    this.writeInt(items.length);
    for (const item of items) writeItem(this, item);
    return this;
  }

  writeStringVector(items: readonly string[]): this {
    return this.writeVector(items, (w, s) => w.writeString(s));
  }

  /** The bytes written so far, without copying; the writer is done after this. */
  finish(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}
