/**
 * What `zooid up` keeps in its data directory beyond the members' own data:
 * the shape `zooid scale` last gave it, so a restarted `up` comes back as
 * scaled rather than as its flags first said, and the super user's password
 * the supervisor drives reconfig with.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './files.js';

export interface ScaledShape {
  followers: number;
  observers: number;
}

export function scaledShapeFile(dataDir: string): string {
  return join(dataDir, 'scaled.json');
}

/** The shape `zooid scale` last committed in dataDir; none before the first scale. */
export function readScaledShape(dataDir: string): ScaledShape | undefined {
  if (!existsSync(scaledShapeFile(dataDir))) return undefined;
  const s = JSON.parse(readFileSync(scaledShapeFile(dataDir), 'utf8')) as Partial<ScaledShape>;
  if (!Number.isInteger(s.followers) || !Number.isInteger(s.observers)) throw new Error(`${scaledShapeFile(dataDir)} is not a scaled shape: remove it to start from the flags`);
  return { followers: s.followers!, observers: s.observers! };
}

/** Written after every committed step, whole or not at all, so a crash mid-scale restarts in a shape the ensemble has. */
export function writeScaledShape(dataDir: string, shape: ScaledShape): void {
  writeFileAtomic(scaledShapeFile(dataDir), JSON.stringify(shape) + '\n');
}

export interface SuperCredentials {
  password: string;
  /** `super:base64(sha1(super:password))`, as --super-digest takes it. */
  digest: string;
}

/** The super user's password in `<dataDir>/super-password` (mode 0600), created when there is none. */
export function ensureSuperCredentials(dataDir: string): SuperCredentials {
  const file = join(dataDir, 'super-password');
  if (!existsSync(file)) writeFileAtomic(file, randomBytes(18).toString('base64url') + '\n', 0o600);
  const password = readFileSync(file, 'utf8').trim();
  return { password, digest: 'super:' + createHash('sha1').update(`super:${password}`).digest('base64') };
}
