import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where `up` and `standalone` record the cluster's bus, so `zooid status --data-dir` can find it. */
export function natsUrlFile(dataDir: string): string {
  return join(dataDir, 'nats.url');
}

/** Records the bus in dataDir for `zooid status`; returns what removes it again. */
export function recordNatsUrl(dataDir: string, url: string): () => void {
  const file = natsUrlFile(dataDir);
  mkdirSync(dataDir, { recursive: true });
  // Written whole or not at all: status must never read half a URL.
  writeFileSync(file + '.tmp', url + '\n');
  renameSync(file + '.tmp', file);
  return () => rmSync(file, { force: true });
}
