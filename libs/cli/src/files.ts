import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';

/**
 * Writes a file whole or not at all (a temporary file renamed over it), so
 * a reader never sees half of it. `mode` applies from creation: a secret is
 * never readable by others, not even for a moment.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array, mode = 0o644): void {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    writeFileSync(tmp, data, { mode, flag: 'wx' });
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** Writes only when the content differs, so an unchanged file keeps its time and a reload has nothing to notice. */
export function writeIfChanged(file: string, data: string, mode = 0o644): boolean {
  let old: string | undefined;
  try {
    old = readFileSync(file, 'utf8');
  } catch {
    old = undefined;
  }
  if (old === data) return false;
  writeFileAtomic(file, data, mode);
  return true;
}
