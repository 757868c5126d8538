/**
 * A TCP proxy a test controls, to cut a real client's connection without
 * touching its process or the server: `cut()` drops every connection,
 * `hold()` parks new ones until `release()`, `target` picks the server new
 * connections go to. The client sees a plain connection loss and reconnects
 * with its session id, password, last zxid and watches.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';

export class CutProxy {
  private server?: Server;
  private readonly pairs = new Set<[Socket, Socket | undefined]>();
  private held: Socket[] = [];
  private holding = false;
  port = 0;
  /** Connections accepted so far. */
  accepted = 0;

  constructor(public target: { host: string; port: number }) {}

  async start(): Promise<this> {
    this.server = createServer((client) => {
      this.accepted++;
      client.on('error', () => undefined);
      if (this.holding) this.held.push(client);
      else this.pipe(client);
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  private pipe(client: Socket): void {
    const upstream = connect(this.target.port, this.target.host);
    const pair: [Socket, Socket | undefined] = [client, upstream];
    this.pairs.add(pair);
    upstream.on('error', () => client.destroy());
    client.on('close', () => {
      upstream.destroy();
      this.pairs.delete(pair);
    });
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
  }

  /** Parks new connections until release(). */
  hold(): void {
    this.holding = true;
  }

  release(): void {
    this.holding = false;
    for (const c of this.held.splice(0)) if (!c.destroyed) this.pipe(c);
  }

  /** Drops every proxied connection, both ways, like a network failure. */
  cut(): void {
    for (const [c, u] of this.pairs) {
      c.destroy();
      u?.destroy();
    }
    this.pairs.clear();
  }

  get connections(): number {
    return this.pairs.size;
  }

  get waiting(): number {
    return this.held.filter((c) => !c.destroyed).length;
  }

  async stop(): Promise<void> {
    this.cut();
    for (const c of this.held.splice(0)) c.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}
