/**
 * SASL DIGEST-MD5 (RFC 2831), the server side, as ZooKeeper's clients speak
 * it: service `zookeeper`, server name `zk-sasl-md5` (the Java client and
 * kazoo both hard-code it for this mechanism), quality of protection `auth`
 * only, algorithm md5-sess. Three packets: the client opens with an empty
 * token, the server challenges, the client answers with its digest and the
 * server proves it knows the password too (`rspauth`). No I/O: the nonce
 * comes from the caller.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

export const SASL_DIGEST_SERVER_NAME = 'zk-sasl-md5';
const DIGEST_URI = `zookeeper/${SASL_DIGEST_SERVER_NAME}`;

/** The next token for the client; `authorized` once the client has proved who it is. */
export type SaslStep = { token: Uint8Array; authorized?: string } | { failed: string };

export class DigestMd5Server {
  private nonce?: string;
  private complete = false;

  /** `users`: name → password, as a JAAS `Server` section's `user_NAME` entries give them. */
  constructor(
    private readonly users: ReadonlyMap<string, string>,
    private readonly freshNonce: () => string,
  ) {}

  step(token: Uint8Array): SaslStep {
    if (this.complete) return { failed: 'authentication is already complete' };
    if (this.nonce === undefined) {
      // DIGEST-MD5 has no initial response: anything here is a client speaking another mechanism.
      if (token.length > 0) return { failed: 'expected an empty initial token' };
      this.nonce = this.freshNonce();
      const challenge = `realm="${SASL_DIGEST_SERVER_NAME}",nonce="${this.nonce}",qop="auth",charset=utf-8,algorithm=md5-sess`;
      return { token: Buffer.from(challenge, 'latin1') };
    }
    const d = parseDirectives(Buffer.from(token).toString('latin1'));
    if (!d) return { failed: 'malformed digest-response' };
    const username = d.get('username');
    const cnonce = d.get('cnonce');
    const response = d.get('response');
    const uri = d.get('digest-uri');
    const qop = d.get('qop') ?? 'auth';
    const realm = d.get('realm') ?? '';
    if (username === undefined || cnonce === undefined || response === undefined || uri === undefined) return { failed: 'digest-response lacks a required directive' };
    if (d.get('nonce') !== this.nonce) return { failed: 'nonce does not match the challenge' };
    if (d.get('nc') !== '00000001') return { failed: 'nonce count must be 1' };
    if (qop !== 'auth') return { failed: `qop ${qop} was not offered` };
    if (realm !== '' && realm !== SASL_DIGEST_SERVER_NAME) return { failed: `realm ${realm} was not offered` };
    if (uri.toLowerCase() !== DIGEST_URI) return { failed: `digest-uri ${uri} is not ${DIGEST_URI}` };
    const utf8 = d.get('charset') === 'utf-8';
    const user = decodeName(username, utf8);
    const password = this.users.get(user);
    if (password === undefined) return { failed: `no such user ${user}` };
    const authzid = d.get('authzid');
    const ha1 = sessionKey(user, realm, password, this.nonce, cnonce, authzid, utf8);
    const tail = `${this.nonce}:00000001:${cnonce}:${qop}`;
    const expected = Buffer.from(md5Hex(`${ha1}:${tail}:${md5Hex(`AUTHENTICATE:${uri}`)}`), 'latin1');
    const given = Buffer.from(response.toLowerCase(), 'latin1');
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { failed: `wrong password for ${user}` };
    this.complete = true;
    const rspauth = md5Hex(`${ha1}:${tail}:${md5Hex(`:${uri}`)}`);
    // As ZooKeeper's server callback: the id is the authenticated user, whatever authzid asked for.
    return { token: Buffer.from(`rspauth=${rspauth}`, 'latin1'), authorized: user };
  }
}

function md5Hex(s: string | Buffer): string {
  return createHash('md5').update(typeof s === 'string' ? Buffer.from(s, 'latin1') : s).digest('hex');
}

/**
 * Directive values arrive as bytes; under charset=utf-8 a name is UTF-8,
 * otherwise ISO 8859-1 (RFC 2831 §2.1.2).
 */
function decodeName(raw: string, utf8: boolean): string {
  return utf8 ? Buffer.from(raw, 'latin1').toString('utf8') : raw;
}

/** RFC 2831: under utf-8, text that fits ISO 8859-1 is hashed as ISO 8859-1. */
function hashBytes(s: string, utf8: boolean): Buffer {
  return utf8 && [...s].some((c) => c.codePointAt(0)! > 0xff) ? Buffer.from(s, 'utf8') : Buffer.from(s, 'latin1');
}

/** HEX(H(A1)) for md5-sess: H(user:realm:password) : nonce : cnonce [: authzid]. */
function sessionKey(user: string, realm: string, password: string, nonce: string, cnonce: string, authzid: string | undefined, utf8: boolean): string {
  const secret = createHash('md5')
    .update(Buffer.concat([hashBytes(user, utf8), Buffer.from(':'), hashBytes(realm, utf8), Buffer.from(':'), hashBytes(password, utf8)]))
    .digest();
  const parts = [secret, Buffer.from(`:${nonce}:${cnonce}`, 'latin1')];
  // authzid enters the hash as the bytes the client sent.
  if (authzid !== undefined) parts.push(Buffer.from(`:${authzid}`, 'latin1'));
  return md5Hex(Buffer.concat(parts));
}

/**
 * `name=value` pairs separated by commas, values bare or quoted with
 * backslash escapes (RFC 2831 §7.1); null when it does not parse or a
 * directive repeats.
 */
export function parseDirectives(text: string): Map<string, string> | null {
  const out = new Map<string, string>();
  let i = 0;
  const skipSpace = () => {
    while (i < text.length && /[\s,]/.test(text[i]!)) i++;
  };
  skipSpace();
  while (i < text.length) {
    const eq = text.indexOf('=', i);
    if (eq < 0) return null;
    const name = text.slice(i, eq).trim().toLowerCase();
    if (!/^[a-z0-9-]+$/.test(name) || out.has(name)) return null;
    i = eq + 1;
    while (text[i] === ' ' || text[i] === '\t') i++;
    let value = '';
    if (text[i] === '"') {
      i++;
      for (;;) {
        if (i >= text.length) return null;
        const c = text[i++]!;
        if (c === '"') break;
        if (c === '\\') {
          if (i >= text.length) return null;
          value += text[i++];
        } else value += c;
      }
    } else {
      const end = text.indexOf(',', i);
      value = text.slice(i, end < 0 ? text.length : end).trim();
      i = end < 0 ? text.length : end;
    }
    out.set(name, value);
    while (text[i] === ' ' || text[i] === '\t') i++;
    if (i < text.length && text[i] !== ',') return null;
    skipSpace();
  }
  return out;
}
