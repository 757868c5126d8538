import { AggregatorRegistry, Gauge, Histogram, Registry } from 'prom-client';
import { LATENCY_BUCKETS, type ClusterView } from '@zooid/inspect';
import type { Gateway } from '../gateway.js';
import { outstanding } from './gather.js';
import { fracMs, wholeMs } from './latency.js';

/**
 * The gateway's Prometheus metrics: its own numbers under ZooKeeper's names
 * (connections, packets, latency, outstanding requests), and Zooid's view of
 * the cluster (sessions per gateway, lag per learner, bus round trips). On a
 * scrape the members' own metrics are fetched over the bus and served with
 * them, labelled by member.
 */
export class GatewayMetrics {
  readonly registry = new Registry();
  readonly busRoundTrip: Histogram<'target'>;
  /** The cluster as the inspector hub sees it, once the admin server runs. */
  view: (() => ClusterView) | undefined;

  constructor(gw: Gateway) {
    const registers = [this.registry];
    const gauge = (name: string, help: string, read: () => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read());
        },
      });
    gauge('num_alive_connections', 'Client connections to this gateway', () => [...gw.connections].length);
    gauge('outstanding_requests', 'Requests forwarded to a learner and not answered yet', () => outstanding(gw));
    gauge('avg_latency', 'Average request latency seen by clients of this gateway (ms)', () => fracMs(gw.stats.latency.avg));
    gauge('min_latency', 'Least request latency (ms)', () => wholeMs(gw.stats.latency.min));
    gauge('max_latency', 'Greatest request latency (ms)', () => wholeMs(gw.stats.latency.max));
    gauge('packets_received', 'Frames received from clients', () => gw.stats.received);
    gauge('packets_sent', 'Frames sent to clients', () => gw.stats.sent);
    gauge('uptime', 'Milliseconds since the gateway started', () => Date.now() - gw.stats.startedAt);
    const self = this;
    new Gauge({
      name: 'zooid_gateway_sessions',
      help: 'Client connections per gateway, as each gateway announces them',
      labelNames: ['gateway'],
      registers,
      collect() {
        this.reset();
        // Other gateways as they last announced themselves; this one as it is now.
        for (const g of self.view?.().gateways ?? []) if (!g.gone && g.id !== gw.opts.id) this.set({ gateway: g.id }, g.sessions);
        this.set({ gateway: gw.opts.id }, [...gw.connections].length);
      },
    });
    new Gauge({
      name: 'zooid_learner_lag',
      help: 'Transactions a member or observer has applied fewer than the leader',
      labelNames: ['learner'],
      registers,
      collect() {
        this.reset();
        for (const m of self.view?.().members ?? []) if (m.lag !== undefined) this.set({ learner: m.id }, m.lag);
      },
    });
    new Gauge({
      name: 'zooid_members',
      help: 'Members and observers by role, as they announce themselves',
      labelNames: ['role'],
      registers,
      collect() {
        this.reset();
        for (const m of self.view?.().members ?? []) this.inc({ role: m.role }, 1);
      },
    });
    this.busRoundTrip = new Histogram({
      name: 'zooid_bus_round_trip_seconds',
      help: 'Request/reply over the bus from this gateway to a member (admin asks)',
      labelNames: ['target'],
      buckets: LATENCY_BUCKETS,
      registers,
    });
  }

  /** The text of `/metrics`: the gateway's metrics and every reachable member's. */
  async scrape(members: string[], ask: (id: string) => Promise<unknown>): Promise<{ contentType: string; text: string }> {
    const answers = await Promise.allSettled(members.map((id) => ask(id)));
    const memberMetrics = answers.flatMap((a) => (a.status === 'fulfilled' && Array.isArray(a.value) ? [a.value as object[]] : []));
    const merged = memberMetrics.length ? Registry.merge([this.registry, AggregatorRegistry.aggregate(memberMetrics)]) : this.registry;
    return { contentType: this.registry.contentType, text: await merged.metrics() };
  }
}
