import { describe, expect, it } from 'vitest';
import { JuteError, JuteReader, JuteWriter } from '../src/jute.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('JuteWriter', () => {
  it('lays out primitives big-endian, one byte per boolean', () => {
    const out = new JuteWriter(1)
      .writeInt(-2)
      .writeLong(0x0102030405060708n)
      .writeLongNum(-1)
      .writeLongNum(2 ** 40 + 5)
      .writeBool(true)
      .writeBool(false)
      .finish();
    expect(out).toEqual(hex('fffffffe 0102030405060708 ffffffffffffffff 0000010000000005 01 00'));
  });

  it('writes null buffers and strings as length -1, empty ones as 0', () => {
    const out = new JuteWriter().writeBuffer(null).writeString(null).writeBuffer(new Uint8Array(0)).writeString('').finish();
    expect(out).toEqual(hex('ffffffff ffffffff 00000000 00000000'));
  });

  it('writes ustrings as UTF-8 with their byte length', () => {
    expect(new JuteWriter(2).writeString('é€😀').finish()).toEqual(hex('00000009 c3a9 e282ac f09f9880'));
  });

  it('writes vectors as a count then the items', () => {
    const out = new JuteWriter().writeStringVector(['a', 'bc']).writeVector([7], (w, n) => w.writeInt(n)).finish();
    expect(out).toEqual(hex('00000002 00000001 61 00000002 6263 00000001 00000007'));
  });

  it('grows past its initial size', () => {
    const big = Buffer.alloc(100_000, 7);
    const out = new JuteWriter(4).writeInt(1).writeBuffer(big).finish();
    expect(out.length).toBe(100_008);
    expect(out.subarray(8).equals(big)).toBe(true);
  });

  it('refuses a number that does not fit a jute long exactly', () => {
    expect(() => new JuteWriter().writeLongNum(2 ** 53)).toThrow(RangeError);
    expect(() => new JuteWriter().writeLongNum(1.5)).toThrow(RangeError);
  });
});

describe('JuteReader', () => {
  it('reads back what the writer wrote', () => {
    const bytes = new JuteWriter()
      .writeInt(-2)
      .writeLong(-5n)
      .writeLongNum(-(2 ** 53) + 1)
      .writeLongNum(2 ** 53 - 1)
      .writeBool(true)
      .writeBuffer(Buffer.from('data'))
      .writeString('päth')
      .writeStringVector(['x', 'yz'])
      .finish();
    const r = new JuteReader(bytes);
    expect(r.readInt()).toBe(-2);
    expect(r.readLong()).toBe(-5n);
    expect(r.readLongNum()).toBe(-(2 ** 53) + 1);
    expect(r.readLongNum()).toBe(2 ** 53 - 1);
    expect(r.readBool()).toBe(true);
    expect(r.readBuffer()).toEqual(Buffer.from('data'));
    expect(r.readString()).toBe('päth');
    expect(r.readStringVector()).toEqual(['x', 'yz']);
    expect(r.remaining).toBe(0);
  });

  it('treats any non-zero byte as true, like DataInput.readBoolean', () => {
    expect(new JuteReader(hex('02')).readBool()).toBe(true);
  });

  it('returns buffers as views of the input, not copies', () => {
    const frame = hex('00000003 616263');
    const b = new JuteReader(frame).readBuffer()!;
    expect(b.buffer).toBe(frame.buffer);
    expect(b.byteOffset).toBe(frame.byteOffset + 4);
  });

  it('works over a plain Uint8Array slice', () => {
    const backing = new Uint8Array([9, 9, 0, 0, 0, 1, 0x41, 9]);
    const r = new JuteReader(backing.subarray(2, 7));
    expect(r.readString()).toBe('A');
    expect(r.remaining).toBe(0);
  });

  it('reads null buffers as null and null strings as "" (kazoo writes every "" as null)', () => {
    const r = new JuteReader(hex('ffffffff ffffffff ffffffff'));
    expect(r.readBuffer()).toBeNull();
    expect(r.readString()).toBe('');
    expect(new JuteReader(hex('ffffffff')).readNullableString()).toBeNull();
  });

  it('reads a null vector as empty', () => {
    expect(new JuteReader(hex('ffffffff')).readStringVector()).toEqual([]);
  });

  it.each([
    ['int', '000000', (r: JuteReader) => r.readInt()],
    ['long', '00000000000000', (r: JuteReader) => r.readLong()],
    ['long as number', '00', (r: JuteReader) => r.readLongNum()],
    ['boolean', '', (r: JuteReader) => r.readBool()],
    ['buffer body', '00000004 010203', (r: JuteReader) => r.readBuffer()],
    ['string body', '00000002 61', (r: JuteReader) => r.readString()],
    ['vector item', '00000002 00000001 61', (r: JuteReader) => r.readStringVector()],
  ])('throws JuteError on a truncated %s', (_name, input, read) => {
    expect(() => read(new JuteReader(hex(input)))).toThrow(JuteError);
  });

  it.each([
    ['buffer', (r: JuteReader) => r.readBuffer()],
    ['string', (r: JuteReader) => r.readString()],
    ['vector', (r: JuteReader) => r.readStringVector()],
  ])('refuses negative %s lengths other than -1', (_name, read) => {
    expect(() => read(new JuteReader(hex('fffffffe 00000000')))).toThrow(/negative/);
    expect(() => read(new JuteReader(hex('80000000 00000000')))).toThrow(JuteError);
  });

  it.each([
    ['buffer', (r: JuteReader) => r.readBuffer()],
    ['string', (r: JuteReader) => r.readString()],
    ['vector', (r: JuteReader) => r.readStringVector()],
  ])('refuses a %s length beyond the bytes left before reading anything', (_name, read) => {
    const r = new JuteReader(hex('7fffffff 00000000'));
    expect(() => read(r)).toThrow(/exceeds/);
  });

  it('refuses a long outside the safe integer range when a number is wanted', () => {
    expect(() => new JuteReader(hex('0020000000000000')).readLongNum()).toThrow(JuteError);
    expect(() => new JuteReader(hex('ffe0000000000000')).readLongNum()).toThrow(JuteError);
    expect(new JuteReader(hex('0020000000000000')).readLong()).toBe(2n ** 53n);
  });

  it('tracks its offset', () => {
    const r = new JuteReader(hex('00000001 00000002'));
    r.readInt();
    expect(r.offset).toBe(4);
    expect(r.remaining).toBe(4);
  });
});
