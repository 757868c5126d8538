/**
 * The abusive clients of issue 12, as raw sockets speaking just enough of
 * the protocol to be a nuisance. Each keeps abusing until stopped, opening
 * a new connection whenever the server closes the last one.
 */
import { connect, type Socket } from 'node:net';
import { OpCode, encodeConnectRequest, encodeRequest, frame } from '@zooid/protocol';

export interface Abuser {
  name: string;
  /** Connections it has opened: after the first, each one means the server closed the one before. */
  connections: number;
  stop(): void;
}

/** Far ahead of anything the ensemble has seen. */
const FUTURE_ZXID = 2 ** 52;

function connectFrame(lastZxidSeen: number): Buffer {
  return frame(encodeConnectRequest({ protocolVersion: 0, lastZxidSeen, timeOut: 30_000, sessionId: 0n, passwd: Buffer.alloc(16), readOnly: false }));
}

/** Opens a connection, runs `abuse` on it, and again after the server closes it, until stopped. */
function loop(name: string, host: string, port: number, abuse: (s: Socket) => void): Abuser {
  let stopped = false;
  let socket: Socket | undefined;
  const a: Abuser = {
    name,
    connections: 0,
    stop: () => {
      stopped = true;
      socket?.destroy();
    },
  };
  const open = () => {
    if (stopped) return;
    a.connections++;
    const s = (socket = connect({ host, port }, () => abuse(s)));
    s.on('error', () => undefined);
    s.on('close', () => {
      if (!stopped) setTimeout(open, 200);
    });
  };
  open();
  return a;
}

/** A session that asks for `path` (a large znode) `requests` times, pipelined, and never reads a byte. */
export function neverReads(host: string, port: number, path: string, requests = 1000): Abuser {
  return loop('never-reads', host, port, (s) => {
    s.pause();
    s.write(connectFrame(0));
    for (let xid = 1; xid <= requests; xid++) s.write(frame(encodeRequest({ xid, type: OpCode.getData }, { path, watch: false })));
  });
}

/** A connection from "the future" that sends megabyte frames before any answer, as fast as the socket takes them. */
export function floodsBeforeSession(host: string, port: number, frames = 1000, bytes = 1024 * 1024): Abuser {
  const body = frame(Buffer.alloc(bytes - 4, 0x41));
  return loop('floods-before-session', host, port, (s) => {
    s.write(connectFrame(FUTURE_ZXID));
    let sent = 0;
    const more = () => {
      while (sent < frames && !s.destroyed) {
        sent++;
        if (!s.write(body)) return void s.once('drain', more);
      }
    };
    more();
  });
}

/** Connects that claim a future zxid, abandoned at once, `perSecond` of them. */
export function abandonsConnects(host: string, port: number, perSecond = 200): Abuser {
  let opened = 0;
  const timer = setInterval(() => {
    for (let i = 0; i < perSecond / 10; i++) {
      const s = connect({ host, port }, () => {
        s.write(connectFrame(FUTURE_ZXID));
        s.destroy();
      });
      s.on('error', () => undefined);
      opened++;
    }
  }, 100);
  return {
    name: 'abandons-connects',
    get connections() {
      return opened;
    },
    stop: () => clearInterval(timer),
  };
}
