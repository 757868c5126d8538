/** A payload derived from its zxid, so a test can check content as well as order; 1 to 200 bytes long. */
export function payloadFor(zxid: number, salt = 0): Buffer {
  const length = 1 + ((zxid * 7919 + salt * 31) % 200);
  const buf = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) buf[i] = (zxid + salt + i * 13) & 0xff;
  return buf;
}
