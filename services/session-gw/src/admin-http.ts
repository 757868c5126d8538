/**
 * The gateway's admin HTTP port: the inspector page and its live event
 * stream, ZooKeeper's AdminServer commands as JSON under /commands, and
 * Prometheus metrics on /metrics. Everything the page needs is served from
 * this machine.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { InspectorHub, bridgeToStately, createStatelyInspector, inspectorAssets, type ClusterView, type LogEntry } from '@zooid/inspect';
import type { Logger } from '@zooid/runtime';
import type { Gateway } from './gateway.js';
import { ADMIN_COMMANDS, runCommand } from './admin/commands.js';
import { AdminGuard } from './admin-guard.js';

export interface AdminHttpOptions {
  port: number;
  host: string;
  /** Mirror the cluster to the Stately inspector: `sky` or a ws:// URL. */
  stately?: string;
  /** Required of every request when set (--admin-token). */
  token?: string;
}

const SSE_MAX_BUFFER = 4 * 1024 * 1024;
const SSE_KEEPALIVE_MS = 15_000;
/** The browser modules the page imports, compiled from libs/inspect (chart.ts, values.ts, view.ts). */
const PAGE_MODULES = new Set(['chart.js', 'values.js', 'view.js']);

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

export class AdminHttp {
  private readonly server: Server;
  private readonly streams = new Set<ServerResponse>();
  private readonly guard: AdminGuard;
  private stopBridge: (() => void) | undefined;
  private keepalive: NodeJS.Timeout | undefined;
  port = 0;

  private constructor(
    private readonly gw: Gateway,
    readonly hub: InspectorHub,
    private readonly log: Logger,
    opts: AdminHttpOptions,
  ) {
    this.guard = new AdminGuard({ token: opts.token, hostNames: [opts.host, hostname()] });
    this.server = createServer((req, res) => {
      this.handle(req, res).catch((err) => {
        this.log.warn({ err, url: req.url }, 'admin request failed');
        if (!res.headersSent) json(res, 500, { error: String(err) });
        else res.end();
      });
    });
  }

  /**
   * Starts the admin server, or returns undefined when the port is taken:
   * like ZooKeeper's AdminServer, a failure to start it is logged and the
   * gateway serves clients regardless.
   */
  static async start(gw: Gateway, opts: AdminHttpOptions, log: Logger): Promise<AdminHttp | undefined> {
    const hub = new InspectorHub(gw.bus, { cluster: gw.opts.cluster, ask: (id, ask) => gw.ask(id, ask) }, log);
    const admin = new AdminHttp(gw, hub, log, opts);
    try {
      await new Promise<void>((resolve, reject) => {
        admin.server.once('error', reject);
        admin.server.listen(opts.port, opts.host, () => resolve());
      });
    } catch (err) {
      log.warn({ err: String(err), port: opts.port }, 'admin HTTP server could not start; serving clients without it');
      return undefined;
    }
    const addr = admin.server.address();
    admin.port = typeof addr === 'object' && addr ? addr.port : opts.port;
    hub.start();
    gw.metrics.view = () => hub.view();
    admin.keepalive = setInterval(() => {
      for (const s of admin.streams) s.write(': keepalive\n\n');
    }, SSE_KEEPALIVE_MS);
    admin.keepalive.unref();
    if (opts.stately) {
      try {
        admin.stopBridge = bridgeToStately(hub, await createStatelyInspector(opts.stately), log);
      } catch (err) {
        log.warn({ err: String(err) }, 'Stately inspector bridge could not start');
      }
    }
    log.info({ url: `http://${opts.host === '0.0.0.0' ? '127.0.0.1' : opts.host}:${admin.port}/` }, 'inspector and admin commands on HTTP');
    return admin;
  }

  async stop(): Promise<void> {
    clearInterval(this.keepalive);
    this.stopBridge?.();
    this.hub.stop();
    for (const s of this.streams) s.end();
    this.streams.clear();
    this.server.closeAllConnections?.();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://admin');
    if (!this.guard.admit(req, res, url)) return;
    const path = url.pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (path === '/' || path === '/index.html') return this.file(res, join(inspectorAssets.staticDir, 'index.html'));
    if (path === '/favicon.ico') return void res.writeHead(204).end();
    if (path.startsWith('/assets/')) return this.asset(res, path.slice('/assets/'.length));
    if (path === '/inspect/stream') return this.stream(req, res);
    if (path === '/inspect/view') return json(res, 200, this.hub.view());
    if (path === '/inspect/log') return json(res, 200, this.hub.recentLog());
    if (path === '/inspect/defs') return json(res, 200, Object.fromEntries(this.hub.defs));
    if (path === '/inspect/tree') return this.tree(res, url.searchParams.get('path') ?? '/');
    if (path === '/commands' || path === '/commands/') return this.commandList(req, res);
    if (path.startsWith('/commands/')) {
      const r = await runCommand(decodeURIComponent(path.slice('/commands/'.length)), this.gw.adminContext());
      return json(res, r.status, r.body);
    }
    if (path === '/metrics') {
      const m = await this.gw.metrics.scrape(this.hub.readers().concat(this.observersAndFollowers()), (id) => this.gw.ask(id, { command: 'metrics' }));
      res.writeHead(200, { 'content-type': m.contentType }).end(m.text);
      return;
    }
    json(res, 404, { error: `no such page: ${path}` });
  }

  /** Members that are not serving still have metrics worth scraping (looking, syncing). */
  private observersAndFollowers(): string[] {
    const serving = new Set(this.hub.readers());
    return this.hub
      .view()
      .members.filter((m) => !m.gone && !serving.has(m.id))
      .map((m) => m.id);
  }

  private commandList(req: IncomingMessage, res: ServerResponse): void {
    const list = ADMIN_COMMANDS.map((c) => ({ command: c.names[0]!, aliases: c.names.slice(1), url: `/commands/${c.names[0]}`, doc: c.doc }));
    if ((req.headers.accept ?? '').includes('text/html')) {
      // What ZooKeeper's AdminServer shows a browser: a link per command.
      const links = list.map((c) => `<a href="${c.url}">${c.command}</a><br/>`).join('\n');
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(`<!doctype html><title>Zooid admin commands</title>\n${links}\n`);
      return;
    }
    json(res, 200, { command: 'commands', error: null, commands: list });
  }

  private async asset(res: ServerResponse, name: string): Promise<void> {
    // Known shapes only: nothing outside the inspector's own directories is reachable.
    if (name === 'elk.js') return this.file(res, inspectorAssets.elk, 'text/javascript; charset=utf-8');
    if (name === 'web/app.js') return this.file(res, join(inspectorAssets.scriptDir, 'web', 'app.js'));
    if (!/^[a-z0-9][a-z0-9-]*\.(js|css|png|svg)$/.test(name)) return json(res, 404, { error: 'no such asset' });
    // The modules app.js imports (chart.js, values.js) are compiled next to it, one level up.
    if (name.endsWith('.js')) return PAGE_MODULES.has(name) ? this.file(res, join(inspectorAssets.scriptDir, name)) : json(res, 404, { error: 'no such asset' });
    return this.file(res, join(inspectorAssets.staticDir, name));
  }

  private async file(res: ServerResponse, path: string, type?: string): Promise<void> {
    let body: Buffer;
    try {
      body = await readFile(path);
    } catch {
      return json(res, 404, { error: 'not found' });
    }
    const ext = path.slice(path.lastIndexOf('.'));
    res.writeHead(200, { 'content-type': type ?? TYPES[ext] ?? 'application/octet-stream', 'cache-control': 'no-cache' }).end(body);
  }

  /** Server-Sent Events: definitions and the view at once, then coalesced updates and log batches. */
  private stream(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    const send = (event: string, data: unknown) => {
      if (res.writableLength > SSE_MAX_BUFFER) {
        // A page that does not read must not hold the gateway's memory.
        res.destroy();
        return;
      }
      res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    };
    res.write('retry: 1000\n\n');
    send('hello', { gateway: this.gw.opts.id, cluster: this.gw.opts.cluster });
    send('defs', Object.fromEntries(this.hub.defs));
    send('view', this.hub.view());
    send('log', this.hub.recentLog(300));
    const unsubscribe = this.hub.subscribe({
      view: (v: ClusterView) => send('view', v),
      log: (entries: LogEntry[]) => send('log', entries),
      defs: (d) => send('defs', d),
    });
    this.streams.add(res);
    req.on('close', () => {
      unsubscribe();
      this.streams.delete(res);
    });
  }

  /**
   * One znode, read from a serving learner (the leader first). Always 200
   * with `error` set when it cannot be read (no such node, nobody serving
   * during an election): the page polls this, and a browser logs every
   * failed status as an error.
   */
  private async tree(res: ServerResponse, path: string): Promise<void> {
    if (!path.startsWith('/')) return json(res, 200, { path, error: 'path must start with /' });
    let lastErr: unknown;
    for (const id of this.hub.readers()) {
      try {
        const node = (await this.gw.ask(id, { command: 'tree', path })) as Record<string, unknown>;
        return json(res, 200, { ...node, from: id });
      } catch (err) {
        lastErr = err;
      }
    }
    json(res, 200, { path, error: lastErr ? `no member answered: ${String(lastErr)}` : 'no member is serving' });
  }
}

function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-cache' });
  res.end(JSON.stringify(body, (_k, v) => (typeof v === 'bigint' ? '0x' + v.toString(16) : v)));
}
