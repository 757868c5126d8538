/**
 * The bus's TLS: a CA of its own and one certificate per nats-server,
 * signed by it, valid for the server's host, 127.0.0.1 and localhost.
 * Clients verify servers against the CA; servers verify each other's route
 * connections against it too, so a server certificate is also what a route
 * authenticates with. Made with @peculiar/x509 on Node's WebCrypto: no
 * openssl binary is needed where `zooid up` or `zooid bus init` runs.
 *
 * Files: `ca.pem` (public), `private/ca-key.pem` (kept out of the top
 * directory, so a Kubernetes secret made from it leaves the CA key behind),
 * `<server>.pem` and `<server>-key.pem`. Made once; a server certificate is
 * made again only when it does not cover the wanted names, was not signed
 * by this CA, or expires within a month.
 */
import 'reflect-metadata';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { writeFileAtomic } from './files.js';

x509.cryptoProvider.set(webcrypto as never);

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
const DAY_MS = 86_400_000;
const CA_DAYS = 3650;
const SERVER_DAYS = 825;
/** A certificate closer than this to its end is made again. */
const RENEW_MS = 30 * DAY_MS;

export interface Ca {
  cert: x509.X509Certificate;
  key: CryptoKey;
  /** The CA certificate's file, which every client passes as --nats-tls-ca. */
  file: string;
}

export interface ServerCert {
  cert: string;
  key: string;
}

export const caFile = (dir: string) => join(dir, 'ca.pem');
const caKeyFile = (dir: string) => join(dir, 'private', 'ca-key.pem');

const pem = (label: string, der: ArrayBuffer) => x509.PemConverter.encode(der, label) + '\n';

async function importKey(file: string): Promise<CryptoKey> {
  const der = x509.PemConverter.decodeFirst(readFileSync(file, 'utf8'));
  return webcrypto.subtle.importKey('pkcs8', der, ALG, false, ['sign']);
}

async function exportKey(key: CryptoKey): Promise<string> {
  return pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', key));
}

async function generateKeys(): Promise<CryptoKeyPair> {
  return webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']) as Promise<CryptoKeyPair>;
}

/** The CA in `dir` (the bus's, unless named otherwise), made when there is none. */
export async function ensureCa(dir: string, name = 'Zooid bus CA'): Promise<Ca> {
  const file = caFile(dir);
  const keyFile = caKeyFile(dir);
  if (existsSync(file) && existsSync(keyFile)) {
    return { cert: new x509.X509Certificate(readFileSync(file, 'utf8')), key: await importKey(keyFile), file };
  }
  const keys = await generateKeys();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    name: `CN=${name}`,
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + CA_DAYS * DAY_MS),
    keys,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  mkdirSync(join(dir, 'private'), { recursive: true, mode: 0o700 });
  // The key first: a ca.pem without its key would be taken as a whole CA next time.
  writeFileAtomic(keyFile, await exportKey(keys.privateKey), 0o600);
  writeFileAtomic(file, cert.toString('pem') + '\n');
  return { cert, key: keys.privateKey, file };
}

/** The names a server certificate must carry for `host`. */
export function serverNames(host: string): string[] {
  return [...new Set([host, '127.0.0.1', 'localhost'])];
}

const sanOf = (name: string) => ({ type: isIP(name) ? ('ip' as const) : ('dns' as const), value: name });

async function usable(certFile: string, keyFile: string, ca: Ca, names: string[]): Promise<boolean> {
  if (!existsSync(certFile) || !existsSync(keyFile)) return false;
  const cert = new x509.X509Certificate(readFileSync(certFile, 'utf8'));
  if (cert.notAfter.getTime() - Date.now() < RENEW_MS) return false;
  if (!(await cert.verify({ publicKey: ca.cert.publicKey, signatureOnly: true }))) return false;
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const has = new Set(san?.names.items.map((n) => `${n.type}:${n.value}`));
  return names.every((n) => has.has(`${sanOf(n).type}:${n}`));
}

/** `<dir>/<name>.pem` and `<name>-key.pem`: a server certificate for `host`, made when the one there will not do. */
export async function ensureServerCert(dir: string, name: string, host: string, ca: Ca): Promise<ServerCert> {
  const files = { cert: join(dir, `${name}.pem`), key: join(dir, `${name}-key.pem`) };
  const names = serverNames(host);
  if (await usable(files.cert, files.key, ca, names)) return files;
  const keys = await generateKeys();
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    subject: `CN=${name}`,
    issuer: ca.cert.subject,
    notBefore: new Date(now - DAY_MS),
    notAfter: new Date(now + SERVER_DAYS * DAY_MS),
    publicKey: keys.publicKey,
    signingKey: ca.key,
    signingAlgorithm: ALG,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      // serverAuth for clients and routes it accepts, clientAuth for the routes it dials.
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension(names.map(sanOf)),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(ca.cert.publicKey),
    ],
  });
  writeFileAtomic(files.key, await exportKey(keys.privateKey), 0o600);
  writeFileAtomic(files.cert, cert.toString('pem') + '\n');
  return files;
}
