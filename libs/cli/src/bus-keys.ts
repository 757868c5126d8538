/**
 * Each bus identity's nkey: a seed file that only its process reads, and
 * the public key that nats-server's configuration names it by. Created
 * once, then reused, so a restarted cluster keeps its identities.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createUser, fromSeed } from '@nats-io/nkeys';
import { identityName, type BusIdentity } from '@zooid/protocol';
import { readNkeySeed } from '@zooid/runtime';
import { writeFileAtomic } from './files.js';

export interface IdentityKey {
  who: BusIdentity;
  /** The seed file the identity's process passes as --nats-nkey. */
  file: string;
  /** What nats-server knows it by (`U…`). */
  publicKey: string;
}

/** `<dir>/<identityName>.nk`: `member-1.nk`, `observer-o1.nk`, `gateway-gw1.nk`, `tool-status.nk`. */
export function seedFile(dir: string, who: BusIdentity): string {
  return join(dir, `${identityName(who)}.nk`);
}

/** The identity's key in `dir`, created (mode 0600) when it has none yet. */
export function ensureSeed(dir: string, who: BusIdentity): IdentityKey {
  const file = seedFile(dir, who);
  if (!existsSync(file)) writeFileAtomic(file, new TextDecoder().decode(createUser().getSeed()) + '\n', 0o600);
  // Read back through the same check the process will make: a seed left readable by others is refused here already.
  const publicKey = fromSeed(new TextEncoder().encode(readNkeySeed(file))).getPublicKey();
  return { who, file, publicKey };
}
