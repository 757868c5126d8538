/**
 * Who may use the admin HTTP port. Two checks, before any page is served:
 * the Host header must name this server by address, `localhost`, or a name
 * the operator listed (a DNS-rebinding page sends its own name, so a browser
 * on the operator's machine cannot be turned against the port); and, when a
 * token is set, the request must carry it as `Authorization: Bearer`, as
 * `?token=` (for a browser's first visit) or in the cookie that visit sets
 * (EventSource and <script> cannot send headers).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { IncomingMessage, ServerResponse } from 'node:http';

export interface AdminGuardOptions {
  token?: string;
  /** Host names accepted besides addresses and localhost (the admin host when it is a name). */
  hostNames?: string[];
}

const COOKIE = 'zooid_admin';

export class AdminGuard {
  private readonly tokenHash: Buffer | undefined;
  private readonly names: Set<string>;

  constructor(opts: AdminGuardOptions) {
    this.tokenHash = opts.token ? sha256(opts.token) : undefined;
    this.names = new Set(['localhost', ...(opts.hostNames ?? []).map((n) => n.toLowerCase())]);
  }

  /** True when the request may go on; otherwise the refusal is already written. */
  admit(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
    if (!this.hostAllowed(req.headers.host)) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end('forbidden host\n');
      return false;
    }
    if (!this.tokenHash) return true;
    const fromQuery = url.searchParams.get('token');
    if (fromQuery !== null && this.matches(fromQuery)) {
      res.setHeader('set-cookie', `${COOKIE}=${encodeURIComponent(fromQuery)}; HttpOnly; SameSite=Strict; Path=/`);
      return true;
    }
    const auth = req.headers.authorization;
    if (auth?.startsWith('Bearer ') && this.matches(auth.slice('Bearer '.length))) return true;
    const cookie = cookieValue(req.headers.cookie, COOKIE);
    if (cookie !== undefined && this.matches(cookie)) return true;
    res.writeHead(401, { 'content-type': 'text/plain', 'www-authenticate': 'Bearer' }).end('admin token required\n');
    return false;
  }

  private hostAllowed(host: string | undefined): boolean {
    // HTTP/1.0 clients may omit Host; they are not browsers following a rebinding.
    if (host === undefined) return true;
    const name = host.startsWith('[') ? host.slice(1, host.indexOf(']')) : host.replace(/:\d+$/, '');
    return isIP(name) !== 0 || this.names.has(name.toLowerCase());
  }

  private matches(presented: string): boolean {
    // Hashes have one length, so the comparison takes the same time whatever was sent.
    return timingSafeEqual(sha256(presented), this.tokenHash!);
  }
}

function sha256(s: string): Buffer {
  return createHash('sha256').update(s).digest();
}

function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) {
      try {
        return decodeURIComponent(part.slice(eq + 1).trim());
      } catch {
        return undefined;
      }
    }
  }
  return undefined;
}
