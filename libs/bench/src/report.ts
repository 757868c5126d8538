import type { LoadResult } from './load.js';

export interface SystemResult {
  system: string;
  runs: LoadResult[];
  memory?: { znodes: number; rssBeforeBytes: number; rssAfterBytes: number; bytesPerZnode: number } & LiveHeapGrowth;
}

const fmt = (n: number, digits = 0) => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** The comparison table: one row per workload per system, then the ratios between systems. */
export function table(results: SystemResult[]): string {
  const rows = [['system', 'reads', 'ops/s', 'p50 ms', 'p99 ms', 'errors']];
  for (const r of results) {
    for (const run of r.runs) rows.push([r.system, `${run.readPercent}%`, fmt(run.throughput), fmt(run.p50Ms, 2), fmt(run.p99Ms, 2), String(run.errors)]);
  }
  // Against ZooKeeper; the secured bus against the open one, split into securing and clustering; TLS clients against plain ones.
  const pairs = [
    ['zooid', 'zookeeper'],
    ['zooid-open-bus', 'zookeeper'],
    ['zooid', 'zooid-open-bus'],
    ['zooid-secure-1', 'zooid-open-bus'],
    ['zooid', 'zooid-secure-1'],
    ['zooid-tls', 'zookeeper-tls'],
    ['zooid-tls', 'zooid'],
    ['zookeeper-tls', 'zookeeper'],
  ] as const;
  for (const [a, b] of pairs) {
    const mine = results.find((r) => r.system === a);
    const theirs = results.find((r) => r.system === b);
    if (!mine || !theirs) continue;
    for (const run of mine.runs) {
      const other = theirs.runs.find((o) => o.readPercent === run.readPercent);
      if (!other) continue;
      rows.push([
        `${a}/${b}`,
        `${run.readPercent}%`,
        `${fmt(run.throughput / other.throughput, 2)}x`,
        `${fmt(run.p50Ms / other.p50Ms, 2)}x`,
        `${fmt(run.p99Ms / other.p99Ms, 2)}x`,
        '',
      ]);
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) => r.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '));
  lines.splice(1, 0, widths.map((w) => '-'.repeat(w)).join('  '));
  const mem = results.filter((r) => r.memory);
  if (mem.length > 0) {
    lines.push('', 'memory (resident size of all processes)');
    for (const r of mem) {
      const m = r.memory!;
      lines.push(`  ${r.system.padEnd(14)} ${fmt(m.rssAfterBytes / 2 ** 20, 1)} MiB with ${fmt(m.znodes)} znodes; ${fmt(m.bytesPerZnode)} bytes per znode added`);
      if (m.heapPerZnode !== undefined) lines.push(`  ${''.padEnd(14)} live heap of the members after a full collection: ${fmt(m.heapAfterBytes! / 2 ** 20, 1)} MiB; ${fmt(m.heapPerZnode)} bytes per znode added`);
    }
  }
  return lines.join('\n');
}

/** The members' live heap before and after a load of znodes, where the system can report it. */
export interface LiveHeapGrowth {
  heapBeforeBytes?: number;
  heapAfterBytes?: number;
  heapPerZnode?: number;
}

export function liveHeapGrowth(before: number | undefined, after: number | undefined, znodes: number): LiveHeapGrowth {
  if (before === undefined || after === undefined) return {};
  return { heapBeforeBytes: before, heapAfterBytes: after, heapPerZnode: (after - before) / znodes };
}

/** A grouped bar chart of throughput per workload, as a standalone SVG. */
export function chart(results: SystemResult[]): string {
  const workloads = [...new Set(results.flatMap((r) => r.runs.map((x) => x.readPercent)))];
  const max = Math.max(1, ...results.flatMap((r) => r.runs.map((x) => x.throughput)));
  const colors = ['#2b7bb9', '#e07b39', '#4caf50', '#9c27b0'];
  const W = 640;
  const H = 320;
  const left = 70;
  const bottom = 40;
  const groupW = (W - left - 20) / Math.max(1, workloads.length);
  const barW = (groupW - 20) / Math.max(1, results.length);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" font-family="sans-serif" font-size="12">`);
  parts.push(`<text x="${W / 2}" y="16" text-anchor="middle" font-size="14">Throughput (ops/s) by read ratio</text>`);
  parts.push(`<line x1="${left}" y1="${H - bottom}" x2="${W - 10}" y2="${H - bottom}" stroke="#333"/>`);
  for (let t = 0; t <= 4; t++) {
    const y = H - bottom - ((H - bottom - 30) * t) / 4;
    parts.push(`<text x="${left - 6}" y="${y + 4}" text-anchor="end">${fmt((max * t) / 4)}</text>`);
    parts.push(`<line x1="${left}" y1="${y}" x2="${W - 10}" y2="${y}" stroke="#ddd"/>`);
  }
  workloads.forEach((w, gi) => {
    const gx = left + gi * groupW + 10;
    results.forEach((r, si) => {
      const run = r.runs.find((x) => x.readPercent === w);
      if (!run) return;
      const h = ((H - bottom - 30) * run.throughput) / max;
      parts.push(`<rect x="${gx + si * barW}" y="${H - bottom - h}" width="${barW - 4}" height="${h}" fill="${colors[si % colors.length]}"><title>${r.system} ${w}% reads: ${fmt(run.throughput)} ops/s</title></rect>`);
    });
    parts.push(`<text x="${gx + groupW / 2 - 10}" y="${H - bottom + 16}" text-anchor="middle">${w}% reads</text>`);
  });
  results.forEach((r, si) => {
    parts.push(`<rect x="${left + si * 110}" y="${H - 14}" width="10" height="10" fill="${colors[si % colors.length]}"/><text x="${left + si * 110 + 14}" y="${H - 5}">${r.system}</text>`);
  });
  parts.push('</svg>');
  return parts.join('\n') + '\n';
}
