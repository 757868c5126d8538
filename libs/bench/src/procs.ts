import { readFileSync, readdirSync } from 'node:fs';

/** Every live process whose ancestry leads to `root`, root included. */
export function processTree(root: number): number[] {
  const parent = new Map<number, number>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    try {
      // The command name may contain spaces and parentheses: ppid follows the last ')'.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      parent.set(pid, Number(fields[1]));
    } catch {
      continue;
    }
  }
  const out = [root];
  for (let i = 0; i < out.length; i++) for (const [pid, ppid] of parent) if (ppid === out[i]) out.push(pid);
  return out.filter((p) => parent.has(p));
}

/** Resident set size in bytes of the given processes, summed. */
export function residentBytes(pids: number[]): number {
  let total = 0;
  for (const pid of pids) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (m) total += Number(m[1]) * 1024;
    } catch {
      continue;
    }
  }
  return total;
}

/**
 * Resident size once it has settled: sampled every 500 ms until four samples
 * in a row lie within 1 % of each other, or 20 s have passed. Right after a
 * burst of writes the number mostly says when each runtime last collected
 * garbage; both systems get the same wait.
 */
export async function settledResidentBytes(pids: number[]): Promise<number> {
  const samples: number[] = [];
  const until = Date.now() + 20_000;
  for (;;) {
    samples.push(residentBytes(pids));
    const last = samples.slice(-4);
    if (last.length === 4 && Math.max(...last) - Math.min(...last) <= 0.01 * Math.max(...last)) return last.at(-1)!;
    if (Date.now() > until) return samples.at(-1)!;
    await new Promise((r) => setTimeout(r, 500));
  }
}
