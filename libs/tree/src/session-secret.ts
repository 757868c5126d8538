/**
 * Session passwords at rest. The ensemble keeps what verifies a session's
 * password, never the password itself: whoever reads a transaction log, a
 * snapshot or the broadcast cannot take over a live session with it.
 * Passwords are 16 random bytes, so an unsalted hash is as good as any.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export function passwordVerifier(passwd: Uint8Array): Uint8Array {
  return createHash('sha256').update(passwd).digest();
}

export function verifiesPassword(verifier: Uint8Array, passwd: Uint8Array): boolean {
  // Sessions created before verifiers were kept stored their 16-byte password itself; they still reconnect across an upgrade.
  const expected = verifier.byteLength === 32 ? passwordVerifier(passwd) : passwd;
  return expected.byteLength === verifier.byteLength && timingSafeEqual(expected, verifier);
}
