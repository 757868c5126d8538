import { readBusRecord, STATUS_TOOL } from '@zooid/cli';
import { pack, subjects, unpack, type AdminAsk, type Presence } from '@zooid/protocol';
import { closeBus, connectBus, createLogger, type NatsConnection } from '@zooid/runtime';

/** A connection to the bus of a `zooid up` on dataDir, as `zooid status` makes one: its bus record, the status tool's identity. */
export async function statusBus(dataDir: string): Promise<NatsConnection> {
  const record = readBusRecord(dataDir);
  return connectBus({ servers: record.servers.map((s) => s.url).join(','), ...record.credentials }, STATUS_TOOL, createLogger('bench'));
}

/** Asks each of `ids` the same admin question over the bus of a `zooid up` on dataDir, as `zooid status` would. */
export async function askMembers<T>(dataDir: string, ids: string[], ask: AdminAsk, timeoutMs = 3000): Promise<T[]> {
  const nc = await statusBus(dataDir);
  try {
    return await Promise.all(ids.map(async (id) => unpack<T>((await nc.request(subjects().admin(id), pack(ask), { timeout: timeoutMs })).data)));
  } finally {
    await closeBus(nc);
  }
}

/** One announcement, with when it was heard. */
export interface Heard extends Presence {
  at: number;
}

/**
 * Every presence announcement of a `zooid up` cluster, heard as `zooid
 * status` hears them (its bus record and the status tool's identity): who
 * leads, who serves, and how long each member's event loop stalled between
 * two announcements.
 */
export class PresenceBoard {
  private readonly heard: Heard[] = [];

  private constructor(private readonly nc: NatsConnection) {}

  static async open(dataDir: string, cluster = 'zooid'): Promise<PresenceBoard> {
    const nc = await statusBus(dataDir);
    const board = new PresenceBoard(nc);
    nc.subscribe(subjects(cluster).presenceAll, {
      callback: (err, msg) => {
        if (err) return;
        try {
          board.heard.push({ ...unpack<Presence>(msg.data), at: Date.now() });
        } catch {
          // not an announcement
        }
      },
    });
    await nc.flush();
    return board;
  }

  /** The latest announcement of a member or observer heard since `since`. */
  latest(id: string, since = 0): Heard | undefined {
    for (let i = this.heard.length - 1; i >= 0; i--) {
      const h = this.heard[i]!;
      if (h.at < since) return undefined;
      if (h.kind !== 'gateway' && h.id === id) return h;
    }
    return undefined;
  }

  /** The member leading most recently. */
  leader(): Heard | undefined {
    for (let i = this.heard.length - 1; i >= 0; i--) if (this.heard[i]!.role === 'leading') return this.heard[i];
    return undefined;
  }

  /**
   * The longest event-loop stall a member reported for [from, to]: each
   * announcement covers the second before it, so one heard up to 1.5 s after
   * `to` counts.
   */
  maxStall(id: string, from: number, to: number): number {
    let max = 0;
    for (const h of this.heard) if (h.id === id && h.kind !== 'gateway' && h.at >= from && h.at <= to + 1500) max = Math.max(max, h.stallMs ?? 0);
    return max;
  }

  close(): Promise<void> {
    return closeBus(this.nc);
  }
}
