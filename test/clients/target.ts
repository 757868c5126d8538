/**
 * The server a compatibility suite talks to: a fresh standalone Zooid (the
 * default), or, when ZOOID_COMPAT_SERVER=host:port is set, an already running
 * server — meant for Apache ZooKeeper 3.8 (tickTime=500,
 * 4lw.commands.whitelist=*, empty data dir) so the suite's expectations can be
 * checked against the real thing.
 */
import { startStandalone, type Standalone } from '../harness.js';

export interface CompatTarget {
  connectString: string;
  host: string;
  port: number;
  /** The Zooid cluster, unless the suite runs against an external server. */
  zooid?: Standalone;
  stop(): Promise<void>;
}

export async function compatTarget(opts: Parameters<typeof startStandalone>[0] = {}): Promise<CompatTarget> {
  const external = process.env.ZOOID_COMPAT_SERVER;
  if (external) {
    const [host, port] = external.split(':');
    return { connectString: external, host: host!, port: Number(port), stop: async () => undefined };
  }
  const zooid = await startStandalone({ gateways: 1, ...opts });
  return { connectString: zooid.connectString, host: '127.0.0.1', port: zooid.ports[0]!, zooid, stop: () => zooid.stop() };
}
