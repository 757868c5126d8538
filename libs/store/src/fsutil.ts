import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, writeSync } from 'node:fs';
import { open, unlink, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

export type LogFn = (msg: string, fields?: object) => void;

/**
 * A member's files hold every client's data and what verifies their
 * sessions: only the member's own user may read them.
 */
export const PRIVATE_FILE = 0o600;
export const PRIVATE_DIR = 0o700;

/** Shared source of zeros for preallocation and zero checks; never written to. */
export const ZEROS = Buffer.alloc(1 << 20);

/** Makes creations, renames and deletions in dir durable. */
export async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** Deletes a file durably: once this resolves a crash cannot bring it back. */
export async function removeDurably(dir: string, name: string): Promise<void> {
  await unlink(join(dir, name));
  await fsyncDir(dir);
}

/** Writes all of bufs at position; pwritev may write less than asked. */
export async function writeFully(fh: FileHandle, bufs: readonly Uint8Array[], position: number): Promise<void> {
  let rest = bufs.filter((b) => b.length > 0);
  while (rest.length > 0) {
    let { bytesWritten } = await fh.writev(rest, position);
    position += bytesWritten;
    while (rest.length > 0 && bytesWritten >= rest[0]!.length) {
      bytesWritten -= rest[0]!.length;
      rest = rest.slice(1);
    }
    if (rest.length > 0) rest = [rest[0]!.subarray(bytesWritten), ...rest.slice(1)];
  }
}

/** Fills buf from position; returns how many bytes the file had to give. */
export async function readFully(fh: FileHandle, buf: Buffer, position: number): Promise<number> {
  let filled = 0;
  while (filled < buf.length) {
    const { bytesRead } = await fh.read(buf, filled, buf.length - filled, position + filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return filled;
}

/** True when every byte of [from, to) in the file is zero. */
export async function isZeroRange(fh: FileHandle, from: number, to: number): Promise<boolean> {
  const buf = Buffer.allocUnsafe(Math.min(ZEROS.length, Math.max(0, to - from)));
  for (let pos = from; pos < to; ) {
    const n = await readFully(fh, buf.subarray(0, Math.min(buf.length, to - pos)), pos);
    if (n === 0) return true; // the file is shorter than to: nothing more to check
    if (!buf.subarray(0, n).equals(ZEROS.subarray(0, n))) return false;
    pos += n;
  }
  return true;
}

/**
 * Replaces dir/name atomically: write a temp file, fsync it, rename it over
 * the old one, fsync the directory. A crash leaves the old or the new file,
 * never a mix, and a leftover temp file at worst. For a small file that must
 * be durable before the caller goes on (epochs, the committed
 * configuration): blocking for a few fsyncs on something that changes once
 * per election is the simple correct form.
 */
export function writeAtomicallySync(dir: string, name: string, text: string): void {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR });
  const tmp = join(dir, name + '.tmp');
  const fd = openSync(tmp, 'w', PRIVATE_FILE);
  try {
    writeSync(fd, text);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, join(dir, name));
  const dirFd = openSync(dir, 'r');
  try {
    fsyncSync(dirFd);
  } finally {
    closeSync(dirFd);
  }
}

export function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}
