import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { BusConfig } from '@zooid/runtime';
import { writeFileAtomic } from './files.js';

/** A server of a recorded bus; what is known beyond its URL when `up` runs it. */
export interface RecordedServer {
  url: string;
  name?: string;
  /** Its monitoring endpoint (/varz), on this machine. */
  monitor?: string;
  /** Where nats-server writes its pid. */
  pidFile?: string;
}

/** How `zooid status --data-dir` reaches the bus of an `up` or `standalone`: the servers and a tool's credentials. */
export interface BusRecord {
  servers: RecordedServer[];
  credentials: Omit<BusConfig, 'servers'>;
}

/** Where `up` and `standalone` record their bus, so `zooid status --data-dir` can find it. */
export function busRecordFile(dataDir: string): string {
  return join(dataDir, 'bus.json');
}

/** Records the bus in dataDir for `zooid status`; returns what removes it again. */
export function recordBus(dataDir: string, record: BusRecord): () => void {
  const file = busRecordFile(dataDir);
  mkdirSync(dataDir, { recursive: true });
  // Written whole or not at all: status must never read half a record.
  writeFileAtomic(file, JSON.stringify(record, null, 2) + '\n');
  return () => rmSync(file, { force: true });
}

export function readBusRecord(dataDir: string): BusRecord {
  return JSON.parse(readFileSync(busRecordFile(dataDir), 'utf8')) as BusRecord;
}
