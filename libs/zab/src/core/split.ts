/**
 * Consecutive runs of `items` whose sizes add up to at most `limit` each; an
 * item larger than the limit goes alone in its own run (nothing is dropped:
 * the bus refuses it, which is the host's to report).
 */
export function splitBySize<T>(items: readonly T[], sizeOf: (item: T) => number, limit: number): T[][] {
  const parts: T[][] = [];
  let part: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (part.length > 0 && bytes + size > limit) {
      parts.push(part);
      part = [];
      bytes = 0;
    }
    part.push(item);
    bytes += size;
  }
  if (part.length > 0) parts.push(part);
  return parts;
}
