import { readFileSync, readdirSync } from 'node:fs';
import { basename } from 'node:path';

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

/** A process of the cluster named as a person would: member-1, observer-o1, gateway-gw2, nats-2, supervisor. */
export function labelOf(pid: number, root: number): string | undefined {
  if (pid === root) return 'supervisor';
  let args: string[];
  try {
    args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return undefined;
  }
  if (args[0]?.endsWith('nats-server')) {
    const conf = args[args.indexOf('-c') + 1] ?? args[args.indexOf('--config') + 1];
    return conf ? basename(conf).replace(/\.conf$/, '') : 'nats-server';
  }
  const role = args.find((a) => a === 'follower' || a === 'member' || a === 'observer' || a === 'gateway');
  const id = args[args.indexOf('--id') + 1];
  return role && args.includes('--id') ? `${role === 'follower' ? 'member' : role}-${id}` : undefined;
}

/** The labelled processes under a `zooid up` supervisor (root), by label. */
export function clusterProcesses(root: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const pid of processTree(root)) {
    const label = labelOf(pid, root);
    if (label) out.set(label, pid);
  }
  return out;
}

/** CPU time (user and system) a process has used so far, µs; 0 once it is gone. */
export function cpuMicros(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime, fields 14 and 15 of stat (11 and 12 after the command), in clock ticks of 10 ms.
    return (Number(fields[11]) + Number(fields[12])) * 10_000;
  } catch {
    return 0;
  }
}
