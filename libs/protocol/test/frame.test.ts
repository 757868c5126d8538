import { describe, expect, it } from 'vitest';
import { DEFAULT_MAX_BUFFER, FRAME_MARGIN } from '../src/constants.js';
import { FrameDecoder, FrameError, frame } from '../src/frame.js';

const bodies = [Buffer.from('first frame'), Buffer.alloc(0), Buffer.from([0, 1, 2, 3, 4, 5, 6]), Buffer.from('z')];
const stream = Buffer.concat(bodies.map((b) => frame(b)));

function drain(decoder: FrameDecoder): Buffer[] {
  return [...decoder];
}

describe('frame', () => {
  it('prefixes the body with its int32 big-endian length', () => {
    expect(frame(Buffer.from('abc'))).toEqual(Buffer.from('00000003616263', 'hex'));
    expect(frame(new Uint8Array(0))).toEqual(Buffer.alloc(4));
  });
});

describe('FrameDecoder', () => {
  it('returns every frame of a chunk, as views of that chunk', () => {
    const d = new FrameDecoder();
    d.push(stream);
    const frames = drain(d);
    expect(frames).toEqual(bodies);
    for (const f of frames) expect(f.buffer).toBe(stream.buffer);
    expect(d.buffered).toBe(0);
  });

  it('reassembles frames split at every byte boundary', () => {
    for (let cut = 0; cut <= stream.length; cut++) {
      const d = new FrameDecoder();
      d.push(stream.subarray(0, cut));
      const frames = drain(d);
      d.push(stream.subarray(cut));
      frames.push(...drain(d));
      expect(frames).toEqual(bodies);
    }
  });

  it('reassembles a stream pushed one byte at a time', () => {
    const d = new FrameDecoder();
    const frames: Buffer[] = [];
    for (let i = 0; i < stream.length; i++) {
      d.push(stream.subarray(i, i + 1));
      frames.push(...drain(d));
    }
    expect(frames).toEqual(bodies);
    expect(d.buffered).toBe(0);
  });

  it('reassembles at every pair of split points', () => {
    for (let a = 0; a <= stream.length; a++) {
      for (let b = a; b <= stream.length; b++) {
        const d = new FrameDecoder();
        for (const part of [stream.subarray(0, a), stream.subarray(a, b), stream.subarray(b)]) d.push(part);
        expect(drain(d)).toEqual(bodies);
      }
    }
  });

  it('accepts plain Uint8Array chunks', () => {
    const d = new FrameDecoder();
    d.push(new Uint8Array(stream));
    expect(drain(d)).toEqual(bodies);
  });

  it('keeps the frames a loop did not take', () => {
    const d = new FrameDecoder();
    d.push(stream);
    for (const f of d) {
      expect(f).toEqual(bodies[0]);
      break;
    }
    expect(drain(d)).toEqual(bodies.slice(1));
  });

  it('defaults its limit to jute.maxbuffer plus the margin', () => {
    expect(new FrameDecoder().maxFrame).toBe(DEFAULT_MAX_BUFFER + FRAME_MARGIN);
    const d = new FrameDecoder(8);
    d.push(Buffer.concat([frame(Buffer.alloc(8)), frame(Buffer.alloc(9))]));
    const seen: Buffer[] = [];
    expect(() => {
      for (const f of d) seen.push(f);
    }).toThrow(FrameError);
    expect(seen).toEqual([Buffer.alloc(8)]);
  });

  it('refuses a 2 GiB length claim as soon as the 4 bytes arrive, keeping nothing', () => {
    const d = new FrameDecoder();
    d.push(Buffer.from([0x7f, 0xff]));
    expect(drain(d)).toEqual([]);
    d.push(Buffer.from([0xff, 0xff]));
    expect(() => drain(d)).toThrow(FrameError);
    expect(d.buffered).toBe(0);
    d.push(Buffer.alloc(64 * 1024));
    expect(d.buffered).toBe(0);
    expect(() => drain(d)).toThrow(/frame length 2147483647 is outside 0\.\.1049599/);
  });

  it('refuses a negative length', () => {
    const d = new FrameDecoder();
    d.push(Buffer.from('ffffffff00', 'hex'));
    try {
      drain(d);
      expect.unreachable();
    } catch (e) {
      expect(e).toBeInstanceOf(FrameError);
      expect((e as FrameError).length).toBe(-1);
    }
    expect(d.buffered).toBe(0);
  });

  it('delivers the good frames before the bad length, then the error', () => {
    const d = new FrameDecoder();
    d.push(Buffer.concat([frame(Buffer.from('ok')), Buffer.from('80000000', 'hex'), frame(Buffer.from('lost'))]));
    const seen: Buffer[] = [];
    expect(() => {
      for (const f of d) seen.push(f);
    }).toThrow(FrameError);
    expect(seen).toEqual([Buffer.from('ok')]);
  });

  it('holds only the bytes received for a frame in progress', () => {
    const d = new FrameDecoder();
    d.push(Buffer.from('00001000', 'hex'));
    d.push(Buffer.alloc(100));
    expect(drain(d)).toEqual([]);
    expect(d.buffered).toBe(100);
  });
});
