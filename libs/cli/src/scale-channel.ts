/**
 * How `zooid scale` reaches the `zooid up` running on a data directory: a
 * unix socket, `<data-dir>/up.sock`. A socket rather than a request file the
 * supervisor watches: the answer and the progress come back on the same
 * connection, there is no polling on either side, a missing or refused
 * socket says at once that no `up` runs there, and connecting takes write
 * permission on the socket, which the umask leaves to the user running `up`.
 *
 * One JSON line each way: the request, then progress lines ({note}) and a
 * last line with the outcome ({ok, summary} or {ok: false, error}).
 */
import { createConnection, createServer, type Server } from 'node:net';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { UsageError } from './args.js';

export interface ScaleRequest {
  followers: number;
  observers?: number;
}

export type ScaleOutcome = { ok: true; summary: string } | { ok: false; error: string };
export type ScaleMessage = { note: string } | ScaleOutcome;

/** Carries out a request; `note` tells the caller of each step; resolves with the summary, rejects with the reason. */
export type ScaleHandler = (req: ScaleRequest, note: (text: string) => void) => Promise<string>;

/** sun_path holds 108 bytes on Linux, the last a NUL. */
const MAX_SOCKET_PATH = 107;

export function scaleSocket(dataDir: string): string {
  return join(dataDir, 'up.sock');
}

/** Whether something accepts connections on the socket: another `up` on the same directory. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

/** Listens on `<dataDir>/up.sock`; a socket left by an `up` that was killed is replaced, a live one refused. */
export async function serveScale(dataDir: string, handle: ScaleHandler): Promise<Server> {
  const path = scaleSocket(dataDir);
  // Node's libuv cuts a longer path to sun_path's size without a word, and would listen somewhere else.
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) throw new Error(`${path} is longer than a unix socket path may be (${MAX_SOCKET_PATH} bytes)`);
  if (await answers(path)) throw new UsageError(`another \`zooid up\` is running on ${dataDir} (${path} answers)`);
  rmSync(path, { force: true });
  const server = createServer((conn) => {
    let buf = '';
    const send = (m: ScaleMessage) => conn.writable && conn.write(JSON.stringify(m) + '\n');
    conn.on('error', () => undefined);
    conn.on('data', (chunk) => {
      buf += chunk.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      conn.removeAllListeners('data');
      let req: ScaleRequest;
      try {
        req = JSON.parse(buf.slice(0, nl)) as ScaleRequest;
      } catch {
        send({ ok: false, error: 'not a scale request' });
        return void conn.end();
      }
      handle(req, (note) => send({ note })).then(
        (summary) => send({ ok: true, summary }),
        (err: unknown) => send({ ok: false, error: (err as Error).message }),
      ).finally(() => conn.end());
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => resolve());
  });
  return server;
}

/** Sends a request to the `up` on dataDir; `onNote` sees the progress; resolves with the last message. */
export function requestScale(dataDir: string, req: ScaleRequest, onNote: (text: string) => void, timeoutMs: number): Promise<ScaleOutcome> {
  const path = scaleSocket(dataDir);
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) return Promise.reject(new Error(`${path} is longer than a unix socket path may be: an \`up\` on ${dataDir} cannot be scaled (move or link the directory to a shorter path)`));
  return new Promise((resolve, reject) => {
    const conn = createConnection(path);
    // Whether `up` has the request: only then may a timeout say that the supervisor carries on with it.
    let sent = false;
    const timer = setTimeout(() => {
      conn.destroy();
      const after = sent
        ? `the supervisor carries on with the step it was on, see its log and \`zooid status --data-dir ${dataDir}\``
        : 'the request was not delivered, so nothing was asked of it';
      reject(new Error(`no outcome within ${timeoutMs} ms; ${after}`));
    }, timeoutMs);
    let buf = '';
    conn.once('connect', () => conn.write(JSON.stringify(req) + '\n', () => (sent = true)));
    conn.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') reject(new Error(`no \`zooid up\` is running on ${dataDir} (nothing answers on ${path})`));
      else reject(err);
    });
    conn.on('data', (chunk) => {
      buf += chunk.toString('utf8');
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const m = JSON.parse(buf.slice(0, nl)) as ScaleMessage;
        buf = buf.slice(nl + 1);
        if ('note' in m) onNote(m.note);
        else {
          clearTimeout(timer);
          conn.destroy();
          return resolve(m);
        }
      }
    });
    conn.on('close', () => {
      clearTimeout(timer);
      reject(new Error(`the \`zooid up\` on ${dataDir} closed the connection without an outcome (did it stop?)`));
    });
  });
}
