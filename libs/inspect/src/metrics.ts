import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** Seconds: from a tenth of a millisecond (page cache) to seconds (a slow disk). */
export const LATENCY_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];
export const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096];

/** The numbers a member reads off its tree and role when it is scraped. */
export interface MemberGauges {
  serverState: string;
  znodeCount: number;
  watchCount: number;
  ephemeralsCount: number;
  approximateDataSize: number;
  globalSessions: number;
  outstanding: number;
  lastZxid: number;
  epoch: number;
  quorumSize: number;
}

/**
 * A member's (or observer's) metrics. The write path reports per batch, never
 * per request: one fsync, one broadcast, one commit point at a time. The
 * gauges are read when a gateway asks (`metrics` admin ask), and the gateway
 * serves them all on its `/metrics`, labelled with the member's id.
 */
export class MemberMetrics {
  readonly registry = new Registry();
  private readonly proposals: Counter;
  private readonly commits: Counter;
  private readonly batch: Histogram;
  private readonly commitLatency: Histogram;
  private readonly fsyncLatency: Histogram;

  constructor(
    member: string,
    private readonly view: () => MemberGauges,
  ) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ member });
    // ZooKeeper's names (its Prometheus provider exports them unprefixed).
    this.proposals = new Counter({ name: 'proposal_count', help: 'Proposals this member made as leader', registers });
    this.commits = new Counter({ name: 'commit_count', help: 'Transactions this member committed as leader', registers });
    const gauge = (name: string, help: string, read: (g: MemberGauges) => number) =>
      new Gauge({
        name,
        help,
        registers,
        collect() {
          this.set(read(view()));
        },
      });
    gauge('znode_count', 'Znodes in the data tree', (g) => g.znodeCount);
    gauge('watch_count', 'Watches registered on this member', (g) => g.watchCount);
    gauge('ephemerals_count', 'Ephemeral znodes', (g) => g.ephemeralsCount);
    gauge('approximate_data_size', 'Bytes of znode data and paths', (g) => g.approximateDataSize);
    gauge('global_sessions', 'Sessions in the ensemble', (g) => g.globalSessions);
    gauge('quorum_size', 'Voting members in the ensemble', (g) => g.quorumSize);
    // Zooid's own.
    gauge('zooid_pipeline_outstanding', 'Proposals the leader has not committed yet', (g) => g.outstanding);
    gauge('zooid_last_zxid', 'Last applied zxid', (g) => g.lastZxid);
    gauge('zooid_epoch', 'Current epoch', (g) => g.epoch);
    new Gauge({
      name: 'zooid_member_state',
      help: 'The member machine state (1 for the current one)',
      labelNames: ['state'],
      registers,
      collect() {
        this.reset();
        this.set({ state: view().serverState }, 1);
      },
    });
    this.batch = new Histogram({ name: 'zooid_proposal_batch_size', help: 'Transactions made durable by one fsync (group commit)', buckets: BATCH_BUCKETS, registers });
    this.commitLatency = new Histogram({ name: 'zooid_commit_latency_seconds', help: 'From a batch of proposals to its quorum commit, on the leader', buckets: LATENCY_BUCKETS, registers });
    this.fsyncLatency = new Histogram({ name: 'zooid_fsync_latency_seconds', help: 'Transaction log fdatasync time', buckets: LATENCY_BUCKETS, registers });
  }

  /** One fdatasync of `records` transactions took `ms`. */
  fsync(ms: number, records: number): void {
    this.fsyncLatency.observe(ms / 1000);
    if (records > 0) this.batch.observe(records);
  }

  /** The leader proposed `n` transactions in one broadcast. */
  proposed(n: number): void {
    this.proposals.inc(n);
  }

  /** A batch of `n` proposals committed `ms` after it was proposed. */
  committed(ms: number, n: number): void {
    this.commits.inc(n);
    this.commitLatency.observe(ms / 1000);
  }

  /** Everything, as prom-client's JSON: what the `metrics` admin ask answers. */
  json(): Promise<unknown[]> {
    return this.registry.getMetricsAsJSON();
  }
}
