import { setImmediate as nextTurn } from 'node:timers/promises';
import { SnapshotDecoder, type DataTree } from '@zooid/tree';
import type { SnapshotStore, SnapshotStream } from '@zooid/store';
import { hexZxid } from '@zooid/zab';
import { startProgress, type Logger, type Progress } from '@zooid/runtime';
import { PROGRESS_MIN_BYTES, SNAPSHOT_SLICE_MS, SNAPSHOT_STEP_NODES, SnapshotAbandoned } from './snapshot-slices.js';

export interface ReceiverHost {
  snapshots: SnapshotStore;
  logger: Logger;
  /** Why the snapshot is no longer wanted (the store closed, the sync was given up), or undefined while it is. */
  gone: () => string | undefined;
  /** Makes the decoded tree the store's, once its file is durable. */
  swap: (tree: DataTree) => Promise<void>;
}

/**
 * A SNAP's snapshot as its parts arrive (MemberStore.receiveSnapshot): each
 * part goes to a new snapshot file, in order, and into a decoder that builds
 * the new tree a slice at a time while the next parts are on their way, so
 * that installing waits for the last part's worth of decoding, not for the
 * whole snapshot's after it arrived. Neither the file nor the tree counts
 * until install(); abandoned, both are dropped.
 */
export class SnapshotReceiver {
  private readonly dec = new SnapshotDecoder();
  /** The file, opened once the header said which zxid it holds; parts that came before wait in `early`. */
  private out?: SnapshotStream;
  private early: Uint8Array[] = [];
  /** Appends to the file, in order. */
  private written: Promise<void> = Promise.resolve();
  private readonly decoding: Promise<void>;
  private wake?: () => void;
  private bytes = 0;
  private abandoned?: string;

  constructor(private readonly host: ReceiverHost) {
    this.decoding = this.decode();
    // install() awaits it; until then, a failure is not unhandled.
    this.decoding.catch(() => undefined);
  }

  /** Znodes decoded so far. */
  get nodesDecoded(): number {
    return this.dec.done;
  }

  /** The next part, in the order the leader sent them. */
  add(part: Uint8Array): void {
    if (this.abandoned !== undefined) return;
    this.dec.add(part);
    this.bytes += part.length;
    this.write(part);
    this.wakeUp();
  }

  /**
   * Every part has arrived (the sync said so): waits for the decoding to
   * finish, checks that the tree is the snapshot of `zxid`, makes the file
   * durable and swaps the tree in.
   */
  async install(zxid: number): Promise<void> {
    this.dec.end();
    this.wakeUp();
    try {
      await this.decoding;
      const tree = this.dec.finish();
      if (tree.lastZxid !== zxid) throw new RangeError(`the leader's snapshot holds ${hexZxid(tree.lastZxid)}, not ${hexZxid(zxid)}`);
      this.host.logger.info({ zxid: hexZxid(zxid), bytes: this.bytes, nodes: this.dec.nodes }, 'installing snapshot from leader (SNAP)');
      await this.written;
      await this.out!.finish();
      await this.host.swap(tree);
    } catch (err) {
      this.abandon(String(err));
      throw err;
    }
  }

  /** The sync is given up: stop decoding, and remove the file begun. */
  abandon(reason: string): void {
    if (this.abandoned !== undefined) return;
    this.abandoned = reason;
    this.wakeUp();
    this.written = this.written.catch(() => undefined).then(() => this.out?.abandon());
    this.written.catch((err: unknown) => this.host.logger.warn({ err }, 'removing an abandoned snapshot file failed'));
  }

  private write(part: Uint8Array): void {
    const out = this.out;
    if (out === undefined) {
      this.early.push(part);
      return;
    }
    this.written = this.written.then(() => out.append(part));
    // A failed append is install()'s to report.
    this.written.catch(() => undefined);
  }

  private wakeUp(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** Decodes what has arrived, SNAPSHOT_SLICE_MS per turn, and waits for more when that is used up. */
  private async decode(): Promise<void> {
    let progress: Progress | undefined;
    try {
      for (;;) {
        const until = performance.now() + SNAPSHOT_SLICE_MS;
        let complete: boolean;
        do complete = this.dec.step(SNAPSHOT_STEP_NODES);
        while (!complete && !this.dec.starved && performance.now() < until);
        const { zxid, nodes } = this.dec;
        if (this.out === undefined && zxid !== undefined) {
          this.out = this.host.snapshots.stream(zxid);
          for (const part of this.early.splice(0)) this.write(part);
        }
        if (progress === undefined && nodes !== undefined && this.bytes >= PROGRESS_MIN_BYTES) {
          progress = startProgress({ label: 'receiving snapshot from leader', total: nodes, unit: 'znodes', logger: this.host.logger });
        }
        progress?.update(this.dec.done);
        if (complete) return;
        if (this.dec.starved) await new Promise<void>((resolve) => (this.wake = resolve));
        else await nextTurn();
        const gone = this.abandoned ?? this.host.gone();
        if (gone !== undefined) throw new SnapshotAbandoned(gone);
      }
    } finally {
      progress?.end();
    }
  }
}
