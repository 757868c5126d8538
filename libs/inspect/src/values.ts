/**
 * Small helpers shared by the publisher (Node) and the page (browser): no
 * imports, no platform APIs.
 */

/** An xstate state value as dotted paths of its active atomic states: `following`, `a.b`, `a.b,c.d`. */
export function flatValue(value: unknown): string {
  return activePaths(value).join(',');
}

export function activePaths(value: unknown, prefix = ''): string[] {
  if (value === undefined || value === null) return [];
  if (typeof value !== 'object') return [prefix + String(value)];
  const out: string[] = [];
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    const sub = activePaths(v, `${prefix}${k}.`);
    out.push(...(sub.length ? sub : [prefix + k]));
  }
  return out;
}

/** The state node ids (`machine.a`, `machine.a.b`) active in a state value, ancestors included. */
export function activeIds(machineId: string, value: unknown): Set<string> {
  const ids = new Set<string>();
  for (const path of activePaths(value)) {
    let id = machineId;
    for (const part of path.split('.')) {
      id += '.' + part;
      ids.add(id);
    }
  }
  return ids;
}

const MAX_TEXT = 200;

/** The string, number and boolean fields of a context (bigints as hex), for display. */
export function scalars(ctx: unknown): Record<string, string | number | boolean> | undefined {
  if (typeof ctx !== 'object' || ctx === null) return undefined;
  const out: Record<string, string | number | boolean> = {};
  let any = false;
  for (const [k, v] of Object.entries(ctx as Record<string, unknown>)) {
    if (typeof v === 'number' || typeof v === 'boolean') out[k] = v;
    else if (typeof v === 'string') out[k] = v.length > MAX_TEXT ? v.slice(0, MAX_TEXT) + '…' : v;
    else if (typeof v === 'bigint') out[k] = '0x' + v.toString(16);
    else continue;
    any = true;
  }
  return any ? out : undefined;
}

/** 0x-prefixed hex of a zxid or session id. */
export function hex(n: number | bigint): string {
  return '0x' + n.toString(16);
}

/** How many transactions `behind` is behind `ahead`, when both are of the same epoch. */
export function zxidLag(ahead: number, behind: number): number | undefined {
  const epochA = Math.floor(ahead / 2 ** 32);
  const epochB = Math.floor(behind / 2 ** 32);
  if (epochA !== epochB) return undefined;
  return Math.max(0, ahead - behind);
}
