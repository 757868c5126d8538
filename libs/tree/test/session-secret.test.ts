import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { passwordVerifier, verifiesPassword } from '../src/session-secret.js';

describe('session password verifiers', () => {
  it('verify the password they were made from, and no other', () => {
    const passwd = randomBytes(16);
    const v = passwordVerifier(passwd);
    expect(Buffer.from(v).includes(passwd)).toBe(false);
    expect(verifiesPassword(v, passwd)).toBe(true);
    const wrong = Buffer.from(passwd);
    wrong[0]! ^= 1;
    expect(verifiesPassword(v, wrong)).toBe(false);
    expect(verifiesPassword(v, passwd.subarray(0, 8))).toBe(false);
    expect(verifiesPassword(v, new Uint8Array(0))).toBe(false);
  });

  it('still verify a session created before verifiers, whose 16-byte password was stored itself', () => {
    const passwd = randomBytes(16);
    expect(verifiesPassword(passwd, passwd)).toBe(true);
    expect(verifiesPassword(passwd, randomBytes(16))).toBe(false);
    expect(verifiesPassword(passwd, randomBytes(32))).toBe(false);
  });
});
