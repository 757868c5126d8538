import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { removeDurably, type LogFn } from './fsutil.js';
import { cutSegment, scanSegment } from './segment.js';

/** A segment of the log as the TxnLog tracks it. */
export interface Segment {
  readonly firstZxid: number;
  readonly name: string;
  /** Offset after the last flushed record. */
  end: number;
  lastZxid: number;
}

/**
 * Checks the segments found in dir in zxid order and returns those that hold
 * a valid log. At the first torn or corrupt spot the log ends: later segments
 * are deleted (newest first), that segment is cut (or deleted when nothing
 * valid is left in it), and one line is logged. Deleting the later segments
 * before cutting means a crash part-way through cannot leave a log with a
 * hole in it.
 */
export async function recoverSegments(
  dir: string,
  found: readonly { name: string; firstZxid: number }[],
  segmentBytes: number,
  log: LogFn,
): Promise<Segment[]> {
  const segments: Segment[] = [];
  let prevZxid = 0;
  for (let i = 0; i < found.length; i++) {
    const { name, firstZxid } = found[i]!;
    const fh = await open(join(dir, name), 'r+');
    try {
      const scan = await scanSegment(fh, firstZxid, prevZxid);
      if (scan.records > 0 && scan.clean) {
        segments.push({ firstZxid, name, end: scan.end, lastZxid: scan.lastZxid });
        prevZxid = scan.lastZxid;
        continue;
      }
      const dropped = found.slice(i + 1).map((f) => f.name);
      for (const later of dropped.toReversed()) await removeDurably(dir, later);
      if (scan.records > 0) {
        await cutSegment(fh, scan.end, segmentBytes);
        segments.push({ firstZxid, name, end: scan.end, lastZxid: scan.lastZxid });
      } else {
        await removeDurably(dir, name);
      }
      log('txn log: cut a torn or corrupt tail', {
        segment: name,
        offset: scan.end,
        lastZxid: scan.lastZxid,
        droppedSegments: dropped.length + (scan.records > 0 ? 0 : 1),
      });
      break;
    } finally {
      await fh.close();
    }
  }
  return segments;
}
