/**
 * The secure client port (ZooKeeper's secureClientPort): the same ZooKeeper
 * protocol inside TLS, from PEM files. Client certificates follow
 * ssl.clientAuth: `none` asks for none, `want` asks and admits a client
 * without one, `need` refuses a client without a certificate the CA signed.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { TLSSocket, createServer, type Server } from 'node:tls';
import type { Logger } from '@zooid/runtime';

export type ClientAuth = 'none' | 'want' | 'need';

export interface SecurePortOptions {
  port: number;
  /** PEM files: the server's certificate (chain), its key, and the CA client certificates must chain to. */
  cert: string;
  key: string;
  ca?: string;
  clientAuth: ClientAuth;
}

export function createSecureServer(opts: SecurePortOptions, log: Logger, accept: (socket: TLSSocket) => void): Server {
  const server = createServer(
    {
      cert: readFileSync(opts.cert),
      key: readFileSync(opts.key),
      ca: opts.ca ? readFileSync(opts.ca) : undefined,
      requestCert: opts.clientAuth !== 'none',
      // `want`: an unverified or absent certificate is admitted and simply gives no x509 identity.
      rejectUnauthorized: opts.clientAuth === 'need',
      // A client that connects and never says hello is not kept for Node's default two minutes.
      handshakeTimeout: 10_000,
    },
    (socket) => {
      socket.setNoDelay(true);
      accept(socket);
    },
  );
  // Plain text on this port, an untrusted certificate: the handshake fails and the connection closes.
  server.on('tlsClientError', (err, socket) => {
    log.warn({ remote: `${socket.remoteAddress}:${socket.remotePort}`, err: err.message }, 'TLS handshake refused');
    socket.destroy();
  });
  return server;
}

/**
 * ZooKeeper's X509AuthenticationProvider id: the subject of a client
 * certificate the CA verified, as Java's X500Principal.getName() writes it
 * (RFC 2253: most specific first, comma-separated). Unverified ("want" with
 * a stranger's certificate) or absent: no id.
 */
export function x509Id(socket: Socket): string | undefined {
  if (!(socket instanceof TLSSocket) || !socket.authorized) return undefined;
  const raw = socket.getPeerCertificate().raw;
  if (!raw) return undefined;
  return new X509Certificate(raw).subject.split('\n').reverse().join(',');
}
