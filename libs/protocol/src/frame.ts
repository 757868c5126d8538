/**
 * The stream framing of the client port: each message is an int32 big-endian
 * length followed by that many bytes.
 */
import { DEFAULT_MAX_BUFFER, FRAME_MARGIN } from './constants.js';
import { asBuffer } from './jute.js';

/** A length prefix that is negative or above the limit; the stream is unusable after it. */
export class FrameError extends Error {
  override readonly name = 'FrameError';
  constructor(readonly length: number, readonly maxFrame: number) {
    super(`frame length ${length} is outside 0..${maxFrame}`);
  }
}

/**
 * Splits pushed chunks into frames. A frame that lies inside one chunk is a
 * view of it; only a frame spanning chunks is copied, once, when its last
 * byte arrives. A length is checked the moment its 4 bytes are in, before
 * anything of the body is kept, so a bogus 2 GiB claim costs nothing.
 *
 *     decoder.push(chunk);
 *     for (const frame of decoder) handle(frame); // throws FrameError after the good frames
 */
export class FrameDecoder implements Iterable<Buffer> {
  private ready: Buffer[] = [];
  /** What has arrived of the length prefix (bodyLength < 0) or else of the body. */
  private parts: Buffer[] = [];
  private partBytes = 0;
  /** Body length of the current frame once its prefix is complete, else -1. */
  private bodyLength = -1;
  private failure: FrameError | undefined;

  constructor(readonly maxFrame = DEFAULT_MAX_BUFFER + FRAME_MARGIN) {}

  /** Bytes held for a frame not yet complete. */
  get buffered(): number {
    return this.partBytes;
  }

  /** Whether the stream stopped inside a frame (its length prefix or its body). */
  get midFrame(): boolean {
    return this.failure === undefined && (this.partBytes > 0 || this.bodyLength >= 0);
  }

  push(chunk: Uint8Array): void {
    if (this.failure) return;
    let buf = asBuffer(chunk);
    for (;;) {
      if (this.bodyLength < 0) {
        const need = 4 - this.partBytes;
        if (buf.length < need) {
          this.keep(buf);
          return;
        }
        const prefix = this.partBytes === 0 ? buf : Buffer.concat([...this.parts, buf.subarray(0, need)], 4);
        buf = buf.subarray(need);
        this.parts = [];
        this.partBytes = 0;
        this.bodyLength = prefix.readInt32BE(0);
        if (this.bodyLength < 0 || this.bodyLength > this.maxFrame) {
          this.failure = new FrameError(this.bodyLength, this.maxFrame);
          return;
        }
      }
      const missing = this.bodyLength - this.partBytes;
      if (buf.length < missing) {
        this.keep(buf);
        return;
      }
      const tail = buf.subarray(0, missing);
      this.ready.push(this.partBytes === 0 ? tail : Buffer.concat([...this.parts, tail], this.bodyLength));
      buf = buf.subarray(missing);
      this.parts = [];
      this.partBytes = 0;
      this.bodyLength = -1;
    }
  }

  /** Complete frames in order; stopping early keeps the rest for the next loop. */
  *[Symbol.iterator](): Iterator<Buffer> {
    for (let f = this.ready.shift(); f !== undefined; f = this.ready.shift()) yield f;
    if (this.failure) throw this.failure;
  }

  private keep(part: Buffer): void {
    if (part.length === 0) return;
    this.parts.push(part);
    this.partBytes += part.length;
  }
}

/** Prefixes a message with its length. */
export function frame(body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeInt32BE(body.length, 0);
  out.set(body, 4);
  return out;
}
