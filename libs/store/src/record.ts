import { crc32 } from 'node:zlib';

/** One entry of the transaction log: an opaque payload keyed by its zxid. */
export interface LogRecord {
  zxid: number;
  payload: Uint8Array;
}

/**
 * Frame: [payload length u32][crc32 u32][zxid u64][payload], big-endian.
 * The CRC covers zxid and payload; a damaged length makes it cover the wrong
 * bytes, so the length needs no checksum of its own.
 */
export const RECORD_HEADER_BYTES = 16;

/** checkRecord: the frame runs past the bytes available. */
export const INCOMPLETE = 0;
/** checkRecord: bad checksum, or a zxid that does not follow the previous one. */
export const INVALID = -1;

const TWO_32 = 2 ** 32;
// zxids are JavaScript numbers, so the high word stays below 2^21 (zxid < 2^53).
const ZXID_HIGH_LIMIT = 2 ** 21;

/** Encodes one frame at buf[off]; returns the offset after it. The caller sized buf. */
export function writeRecord(buf: Buffer, off: number, zxid: number, payload: Uint8Array): number {
  const end = off + RECORD_HEADER_BYTES + payload.length;
  buf.writeUInt32BE(payload.length, off);
  buf.writeUInt32BE(Math.floor(zxid / TWO_32), off + 8);
  buf.writeUInt32BE(zxid >>> 0, off + 12);
  buf.set(payload, off + RECORD_HEADER_BYTES);
  buf.writeUInt32BE(crc32(buf.subarray(off + 8, end)), off + 4);
  return end;
}

/** The zxid of the frame at buf[off], or NaN when it cannot be one. */
export function zxidAt(buf: Buffer, off: number): number {
  const high = buf.readUInt32BE(off + 8);
  return high < ZXID_HIGH_LIMIT ? high * TWO_32 + buf.readUInt32BE(off + 12) : NaN;
}

/**
 * Validates the frame at buf[off..end). Returns its total size, INCOMPLETE
 * when it runs past end, or INVALID. The zxid must exceed prevZxid, which is
 * also what ends the log at preallocated zeros (a zero frame has zxid 0).
 */
export function checkRecord(buf: Buffer, off: number, end: number, prevZxid: number): number {
  if (end - off < RECORD_HEADER_BYTES) return INCOMPLETE;
  const size = RECORD_HEADER_BYTES + buf.readUInt32BE(off);
  if (end - off < size) return INCOMPLETE;
  if (!(zxidAt(buf, off) > prevZxid)) return INVALID;
  if (crc32(buf.subarray(off + 8, off + size)) !== buf.readUInt32BE(off + 4)) return INVALID;
  return size;
}
