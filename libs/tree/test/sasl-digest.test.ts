import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { DigestMd5Server, parseDirectives } from '../src/sasl-digest.js';

const md5 = (b: string | Buffer) => createHash('md5').update(b).digest();
const hex = (b: string | Buffer) => md5(b).toString('hex');

interface Answer {
  user: string;
  realm: string;
  password: string;
  nonce: string;
  cnonce: string;
  uri: string;
  authzid?: string;
}

/** The client's side of RFC 2831 (qop auth, md5-sess): the response and the rspauth it expects back. */
function clientDigest(a: Answer): { response: string; rspauth: string } {
  const a1 = Buffer.concat([md5(`${a.user}:${a.realm}:${a.password}`), Buffer.from(`:${a.nonce}:${a.cnonce}${a.authzid === undefined ? '' : `:${a.authzid}`}`)]);
  const tail = `${hex(a1)}:${a.nonce}:00000001:${a.cnonce}:auth`;
  return { response: hex(`${tail}:${hex(`AUTHENTICATE:${a.uri}`)}`), rspauth: hex(`${tail}:${hex(`:${a.uri}`)}`) };
}

const USERS = new Map([
  ['bob', 'bobsecret'],
  ['alice', 'pässword'],
]);

function challenged(): { server: DigestMd5Server; nonce: string; challenge: Map<string, string> } {
  const server = new DigestMd5Server(USERS, () => 'n0nce+/=');
  const first = server.step(new Uint8Array());
  if ('failed' in first) throw new Error(first.failed);
  const challenge = parseDirectives(Buffer.from(first.token).toString('latin1'))!;
  return { server, nonce: challenge.get('nonce')!, challenge };
}

function respond(server: DigestMd5Server, fields: Record<string, string>) {
  const text = Object.entries(fields)
    .map(([k, v]) => (['nc', 'qop', 'charset', 'response'].includes(k) ? `${k}=${v}` : `${k}="${v.replace(/["\\]/g, '\\$&')}"`))
    .join(',');
  return server.step(Buffer.from(text, 'latin1'));
}

const base = (nonce: string, user = 'bob', password = 'bobsecret', extra: Partial<Answer> = {}) => {
  const a: Answer = { user, realm: 'zk-sasl-md5', password, nonce, cnonce: 'c-n0nce', uri: 'zookeeper/zk-sasl-md5', ...extra };
  const { response, rspauth } = clientDigest(a);
  const fields: Record<string, string> = { charset: 'utf-8', username: a.user, realm: a.realm, nonce, nc: '00000001', cnonce: a.cnonce, 'digest-uri': a.uri, maxbuf: '65536', response, qop: 'auth' };
  if (a.authzid !== undefined) fields.authzid = a.authzid;
  return { fields, rspauth };
};

describe('DIGEST-MD5 server', () => {
  it("the test's client computes RFC 2831's own example", () => {
    expect(clientDigest({ user: 'chris', realm: 'elwood.innosoft.com', password: 'secret', nonce: 'OA6MG9tEQGm2hh', cnonce: 'OA6MHXh6VqTrRk', uri: 'imap/elwood.innosoft.com' })).toEqual({
      response: 'd388dad90d4bbd760a152321f2143af7',
      rspauth: 'ea40f60335c427b5527b84dbabcdfffd',
    });
  });

  it('challenges with the realm, a nonce, qop auth, utf-8 and md5-sess', () => {
    const { challenge } = challenged();
    expect(Object.fromEntries(challenge)).toEqual({ realm: 'zk-sasl-md5', nonce: 'n0nce+/=', qop: 'auth', charset: 'utf-8', algorithm: 'md5-sess' });
  });

  it('accepts the right password, proves it knows it too, and names the user', () => {
    const { server, nonce } = challenged();
    const { fields, rspauth } = base(nonce);
    const step = respond(server, fields);
    expect(step).toEqual({ token: Buffer.from(`rspauth=${rspauth}`), authorized: 'bob' });
    expect(server.step(new Uint8Array())).toEqual({ failed: 'authentication is already complete' });
  });

  it('with an authzid (the Java client sends its user name) the id is still the authenticated user', () => {
    const { server, nonce } = challenged();
    expect(respond(server, base(nonce, 'bob', 'bobsecret', { authzid: 'bob' }).fields)).toMatchObject({ authorized: 'bob' });
    const other = challenged();
    expect(respond(other.server, base(other.nonce, 'bob', 'bobsecret', { authzid: 'alice' }).fields)).toMatchObject({ authorized: 'bob' });
  });

  it('hashes a password that fits ISO 8859-1 as ISO 8859-1, as RFC 2831 asks under utf-8', () => {
    const { server, nonce } = challenged();
    const a: Answer = { user: 'alice', realm: 'zk-sasl-md5', password: 'pässword', nonce, cnonce: 'x', uri: 'zookeeper/zk-sasl-md5' };
    const a1 = Buffer.concat([md5(Buffer.concat([Buffer.from('alice:zk-sasl-md5:'), Buffer.from('pässword', 'latin1')])), Buffer.from(`:${nonce}:x`)]);
    const response = hex(`${hex(a1)}:${nonce}:00000001:x:auth:${hex('AUTHENTICATE:zookeeper/zk-sasl-md5')}`);
    expect(respond(server, { charset: 'utf-8', username: a.user, realm: a.realm, nonce, nc: '00000001', cnonce: 'x', 'digest-uri': a.uri, response, qop: 'auth' })).toMatchObject({ authorized: 'alice' });
  });

  it.each([
    ['a wrong password', (n: string) => base(n, 'bob', 'guess').fields, 'wrong password for bob'],
    ['an unknown user', (n: string) => base(n, 'mallory', 'x').fields, 'no such user mallory'],
    ['a nonce of its own', (n: string) => ({ ...base(n).fields, nonce: 'mine' }), 'nonce does not match the challenge'],
    ['a second use of the nonce', (n: string) => ({ ...base(n).fields, nc: '00000002' }), 'nonce count must be 1'],
    ['another service', (n: string) => base(n, 'bob', 'bobsecret', { uri: 'imap/zk-sasl-md5' }).fields, 'digest-uri imap/zk-sasl-md5 is not zookeeper/zk-sasl-md5'],
    ['integrity protection, never offered', (n: string) => ({ ...base(n).fields, qop: 'auth-int' }), 'qop auth-int was not offered'],
    ['no response', (n: string) => Object.fromEntries(Object.entries(base(n).fields).filter(([k]) => k !== 'response')), 'digest-response lacks a required directive'],
  ])('refuses %s', (_what, fields, why) => {
    const { server, nonce } = challenged();
    expect(respond(server, fields(nonce))).toEqual({ failed: why });
  });

  it('refuses an initial token, and a response that does not parse', () => {
    expect(new DigestMd5Server(USERS, () => 'n').step(Buffer.from('x'))).toEqual({ failed: 'expected an empty initial token' });
    for (const bad of ['username="bob', 'username', 'a=1,a=2', 'username="bob" nonce="n"']) {
      const { server } = challenged();
      expect(server.step(Buffer.from(bad))).toEqual({ failed: 'malformed digest-response' });
    }
  });
});

describe('parseDirectives', () => {
  it('reads bare and quoted values, escapes, spaces and empty elements', () => {
    expect(Object.fromEntries(parseDirectives(' a=1 ,, b="x\\"y,z" ,c = "" ,')!)).toEqual({ a: '1', b: 'x"y,z', c: '' });
  });
});
