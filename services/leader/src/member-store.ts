import { setImmediate as nextTurn } from 'node:timers/promises';
import { DataTree, MemberConfig, SnapshotDecoder, SnapshotEncoder, decodeTxn, type Ensemble } from '@zooid/tree';
import { CommittedConfigFile, recover, type EpochFiles, type SnapshotStore, type TxnLog } from '@zooid/store';
import { History, hexZxid } from '@zooid/zab';
import type { LogEntry } from '@zooid/protocol';
import { startProgress, type Logger } from '@zooid/runtime';
import { PROGRESS_MIN_BYTES, SNAPSHOT_SLICE_MS, SNAPSHOT_STEP_NODES, SnapshotAbandoned, inSlices } from './snapshot-slices.js';
import { SnapshotReceiver } from './snapshot-receiver.js';

export interface StoreOptions {
  /** Transactions between snapshots. */
  snapCount: number;
  /** Snapshots kept by a purge (autopurge.snapRetainCount). */
  snapRetain: number;
  /** Applied transactions whose payloads stay in memory to sync learners from (zookeeper.commitLogCount); History's default when absent. */
  commitLogCount?: number;
  /** ms between purges (autopurge.purgeInterval); 0 or absent purges right after every snapshot. */
  purgeIntervalMs?: number;
}

/** A periodic snapshot goes to its file in parts of this size: all of it a member holds at once. */
const SNAPSHOT_PART_BYTES = 1024 * 1024;

/** A SNAP's snapshot once all of it was handed to the learner: its zxid, and the hold on the history after it (see snapshotToLearner). */
export interface SentSnapshot {
  zxid: number;
  bytes: number;
  release: () => void;
}

/**
 * A member's durable state and what is derived from it: the transaction log,
 * snapshots, epoch files, the tree they rebuild, and the recent history the
 * member would sync learners from if it led. The tree holds every logged
 * transaction once recovered, as ZooKeeper's does; Zab's TRUNC removes a tail
 * the ensemble never committed, and the tree is rebuilt without it.
 */
export class MemberStore {
  tree!: DataTree;
  history!: History;
  log!: TxnLog;
  snapshots!: SnapshotStore;
  epochs!: EpochFiles;
  /** The last configuration this member knows committed, and what it logged beyond it: see MemberConfig. */
  config!: MemberConfig;
  private sinceSnapshot = 0;
  /** Transactions after which the next snapshot is taken: see roll(). */
  private snapAt = 0;
  /** A periodic snapshot is being encoded or written. */
  private snapshotting = false;
  /** The walk of the tree under way (a periodic snapshot's or a SNAP's): one at a time. */
  private walking?: Promise<unknown>;
  /** The periodic snapshot's walk, told to give way when a learner needs a SNAP. */
  private periodic?: { giveWay: boolean };
  /** Zxids after which the history keeps its payloads in memory, with how many hold each (holdHistory). */
  private readonly holds = new Map<number, number>();
  private closed = false;
  private purgeTimer?: NodeJS.Timeout;

  private constructor(
    private readonly dataDir: string,
    private readonly opts: StoreOptions,
    private readonly logger: Logger,
  ) {}

  static async open(dataDir: string, opts: StoreOptions, logger: Logger): Promise<MemberStore> {
    const s = new MemberStore(dataDir, opts, logger);
    s.roll();
    await s.load();
    if (opts.purgeIntervalMs) {
      s.purgeTimer = setInterval(() => void s.purge(), opts.purgeIntervalMs);
      s.purgeTimer.unref();
    }
    return s;
  }

  private async load(): Promise<void> {
    const r = await recover(this.dataDir, {
      retain: this.opts.snapRetain,
      pruneOnWrite: !this.opts.purgeIntervalMs,
      log: (msg, fields) => this.logger.warn(fields ?? {}, msg),
    });
    this.log = r.log;
    this.snapshots = r.snapshots;
    this.epochs = r.epochs;
    if (r.snapshot) this.logger.info({ zxid: hexZxid(r.snapshot.zxid), bytes: r.snapshot.bytes.length }, 'loading snapshot');
    this.tree = r.snapshot ? await this.decode(r.snapshot.bytes, `loading snapshot ${hexZxid(r.snapshot.zxid)}`) : new DataTree();
    this.history = new History(this.tree.lastZxid, { window: this.opts.commitLogCount });
    // A snapshot holds only committed transactions (members take them of what they applied after a commit, or
    // install the leader's): its configuration counts as committed.
    const file = new CommittedConfigFile(this.epochs.dir);
    this.config = new MemberConfig(file.read(), this.tree, (text, e, how) => {
      file.write(text);
      this.logger.info({ version: hexZxid(e.version), how }, 'configuration committed');
    });
    const { replay } = r;
    const progress = replay.totalBytes >= PROGRESS_MIN_BYTES ? startProgress({ label: 'replaying transaction log', total: replay.totalBytes, unit: 'bytes', logger: this.logger }) : undefined;
    let replayed = 0;
    for await (const rec of replay) {
      const { hdr, txn } = decodeTxn(rec.payload);
      this.tree.apply(hdr, txn);
      this.history.append([rec.zxid, rec.payload]);
      this.history.release(rec.zxid);
      replayed++;
      progress?.update(replay.bytesRead);
    }
    progress?.end();
    this.sinceSnapshot = replayed;
    this.logger.info({ snapshot: r.snapshot ? hexZxid(r.snapshot.zxid) : null, replayed, lastZxid: hexZxid(this.tree.lastZxid), nodes: this.tree.nodeCount }, 'recovered');
  }

  /** The last configuration this member knows committed; undefined while that is the static one it was started with. */
  get committedConfig(): Ensemble | undefined {
    return this.config.committed;
  }

  /** A change logged beyond the committed configuration (in the tree a restart replayed, or in the log's tail): pending. */
  pendingConfig(): Ensemble | undefined {
    return this.config.pending(this.tree, this.history.after(this.tree.lastZxid));
  }

  noteCommitted(zxid: number): void {
    this.config.noteCommitted(this.tree, zxid);
  }

  adoptConfig(text: string): boolean {
    return this.config.adopt(text);
  }

  /**
   * A snapshot's tree, decoded a slice at a time between turns of the event
   * loop (a million znodes take seconds), with a progress report when it is
   * large.
   */
  private async decode(bytes: Uint8Array, label: string): Promise<DataTree> {
    const dec = new SnapshotDecoder(bytes);
    const progress = bytes.length >= PROGRESS_MIN_BYTES ? startProgress({ label, total: dec.nodes ?? 0, unit: 'znodes', logger: this.logger }) : undefined;
    try {
      await inSlices(
        () => dec.step(SNAPSHOT_STEP_NODES),
        () => {
          progress?.update(dec.done);
          if (this.closed) throw new SnapshotAbandoned('the store closed');
        },
      );
      progress?.update(dec.done);
    } finally {
      progress?.end();
    }
    return dec.finish();
  }

  /**
   * The last zxid this member holds durably or is about to: its log's last
   * record, or the snapshot a SNAP installed when no record followed it yet
   * (the log is empty then, and 0 would understate the member's history).
   */
  get lastLogged(): number {
    return this.history.last;
  }

  /** Zab TRUNC: forget everything after zxid, on disk and in memory. */
  async truncateAfter(zxid: number): Promise<void> {
    this.logger.warn({ to: hexZxid(zxid), from: hexZxid(this.log.lastZxid) }, 'truncating log (TRUNC)');
    await this.log.truncateAfter(zxid);
    await this.snapshots.removeAfter(zxid);
    await this.log.close();
    await this.load();
  }

  /**
   * Zab SNAP as it arrives: the leader's snapshot, a part at a time, is
   * written to a new snapshot file and decoded into a new tree while the next
   * parts come in; install() then makes it durable and swaps it in. Given up
   * (`wanted` turns false, or abandon()), the store is as it was.
   */
  receiveSnapshot(wanted: () => boolean): SnapshotReceiver {
    return new SnapshotReceiver({
      snapshots: this.snapshots,
      logger: this.logger,
      gone: () => (this.closed ? 'the store closed' : wanted() ? undefined : 'the sync it came with was abandoned'),
      swap: async (tree) => {
        await this.log.truncateAfter(0);
        this.tree = tree;
        this.history = new History(tree.lastZxid, { window: this.opts.commitLogCount });
        this.sinceSnapshot = 0;
      },
    });
  }

  /** Appends proposals to the log (not yet durable) and to the history. */
  append(entries: LogEntry[]): void {
    this.log.append(entries.map(([zxid, payload]) => ({ zxid, payload })));
    for (const e of entries) this.history.append(e);
  }

  /**
   * Applies to the tree every logged transaction it does not hold yet: a
   * tail this member logged but never saw committed (it led or followed in
   * an epoch that ended first). A leader calls this once a quorum has its
   * history, which is what commits that tail in the new epoch.
   */
  applyLogged(): number {
    let n = 0;
    for (const [, payload] of this.history.after(this.tree.lastZxid)) {
      const { hdr, txn } = decodeTxn(payload);
      this.tree.apply(hdr, txn);
      this.applied();
      n++;
    }
    return n;
  }

  /** Whether a snapshot is being encoded (for the disk or a SNAP) or written. */
  get snapshotInProgress(): boolean {
    return this.snapshotting || this.walking !== undefined;
  }

  /** Counts an applied transaction; snapshots every snapCount, off the request path. */
  applied(): void {
    // A SNAP sends the transactions after its snapshot from memory: keep them while one is encoded or sent.
    let upTo = this.tree.lastZxid;
    for (const zxid of this.holds.keys()) upTo = Math.min(upTo, zxid);
    this.history.release(upTo);
    if (++this.sinceSnapshot < this.snapAt) return;
    this.sinceSnapshot = 0;
    this.roll();
    // As ZooKeeper's SyncRequestProcessor does: one due while the last is still taken is skipped, not
    // queued behind it. Queued, a tree that takes longer to walk than snapCount transactions take to
    // arrive (millions of znodes under load) keeps its member walking it all the time.
    if (this.snapshotting) {
      this.logger.warn({ snapCount: this.opts.snapCount }, 'too busy to snapshot, skipping');
      return;
    }
    this.snapshotting = true;
    this.writeSnapshot()
      .then((w) => this.logger.info({ ...w, zxid: hexZxid(w.zxid) }, 'snapshot written'))
      .then(() => (this.opts.purgeIntervalMs ? undefined : this.purge()))
      .catch((err) => {
        if (err instanceof SnapshotAbandoned) this.logger.info({ reason: err.message }, 'snapshot abandoned');
        else this.logger.error({ err }, 'snapshot failed');
      })
      .finally(() => (this.snapshotting = false));
  }

  /**
   * Somewhere between half of snapCount and snapCount, as ZooKeeper's
   * SyncRequestProcessor rolls it: members apply the same log, and with one
   * fixed count they would all start a snapshot of the same large tree at
   * the same transaction, on machines (or cores) they may share.
   */
  private roll(): void {
    const half = Math.floor(this.opts.snapCount / 2);
    this.snapAt = Math.max(1, this.opts.snapCount - Math.floor(Math.random() * (half + 1)));
  }

  /**
   * A snapshot for a learner (SNAP), walked as a periodic one is, each part
   * handed to `send` as it is made: the learner decodes it while the rest is
   * encoded, and the leader never holds a whole one. `send` paces the walk;
   * false from it gives the walk up (SnapshotAbandoned). Resolves once every
   * part went out, holding the history after the snapshot's zxid until
   * `release` is called: the sync that follows carries those transactions.
   */
  snapshotToLearner(send: (part: Buffer) => Promise<boolean>): Promise<SentSnapshot> {
    // A learner waiting longer than initLimit for its first part gives up; the next periodic snapshot will do.
    if (this.periodic) this.periodic.giveWay = true;
    return this.walk(async (tree, enc) => {
      const release = this.holdHistory(enc.zxid);
      let bytes = 0;
      try {
        await this.encodeParts(tree, enc, async (part) => {
          if (!(await send(part))) throw new SnapshotAbandoned('the learner is no longer taking it');
          bytes += part.length;
        });
      } catch (err) {
        release();
        throw err;
      }
      return { zxid: enc.zxid, bytes, release };
    });
  }

  /**
   * A periodic snapshot, written to its file a part at a time as it is
   * encoded: a member never holds a whole one (at a million znodes, about
   * 90 MiB more at every snapshot).
   */
  private writeSnapshot(): Promise<{ zxid: number; bytes: number; encodeMs: number; writeMs: number }> {
    return this.walk(async (tree, enc) => {
      const out = this.snapshots.stream(enc.zxid);
      const started = performance.now();
      const periodic = (this.periodic = { giveWay: false });
      let writing = 0;
      let bytes = 0;
      try {
        await this.encodeParts(
          tree,
          enc,
          async (part) => {
            const t = performance.now();
            await out.append(part);
            writing += performance.now() - t;
            bytes += part.length;
          },
          () => periodic.giveWay,
        );
        const t = performance.now();
        await out.finish();
        writing += performance.now() - t;
      } catch (err) {
        await out.abandon();
        throw err;
      } finally {
        if (this.periodic === periodic) this.periodic = undefined;
      }
      return { zxid: enc.zxid, bytes, encodeMs: Math.round(performance.now() - started - writing), writeMs: Math.round(writing) };
    });
  }

  /**
   * Runs `body` on an encoder of the tree as of when it starts: after the
   * walk under way, if any, since the tree keeps one frozen walk at a time.
   * A body that fails gives its walk up.
   */
  private walk<T>(body: (tree: DataTree, enc: SnapshotEncoder) => Promise<T>): Promise<T> {
    const start = async () => {
      if (this.closed) throw new SnapshotAbandoned('the store closed');
      const tree = this.tree;
      const enc = new SnapshotEncoder(tree, SNAPSHOT_PART_BYTES);
      try {
        return await body(tree, enc);
      } catch (err) {
        enc.abandon();
        throw err;
      }
    };
    // With none under way, the tree is frozen now: a periodic snapshot is of the transaction it fell due at.
    const walking = this.walking ? this.walking.catch(() => undefined).then(start) : start();
    this.walking = walking;
    const done = () => {
      if (this.walking === walking) this.walking = undefined;
    };
    walking.then(done, done);
    return walking;
  }

  /**
   * Encodes the whole tree, SNAPSHOT_SLICE_MS per turn of the event loop,
   * handing each part of about SNAPSHOT_PART_BYTES to `put` (awaited) as it
   * fills; gives up if the store closes, a sync replaces the tree, or
   * `giveWay` says a SNAP needs the walk.
   */
  private async encodeParts(tree: DataTree, enc: SnapshotEncoder, put: (part: Buffer) => Promise<void>, giveWay = () => false): Promise<void> {
    for (let done = false; !done; ) {
      const until = performance.now() + SNAPSHOT_SLICE_MS;
      do {
        done = enc.step(SNAPSHOT_STEP_NODES);
      } while (!done && enc.buffered < SNAPSHOT_PART_BYTES && performance.now() < until);
      // The last part is whatever is left: nothing, when the walk ended right after a full one.
      if (done ? enc.buffered > 0 : enc.buffered >= SNAPSHOT_PART_BYTES) await put(enc.take());
      else if (!done) await nextTurn();
      if (this.closed) throw new SnapshotAbandoned('the store closed');
      if (this.tree !== tree) throw new SnapshotAbandoned('the tree was replaced by a sync');
      if (!done && giveWay()) throw new SnapshotAbandoned('a learner needs a snapshot (SNAP), which walks the tree first');
    }
  }

  /**
   * Keeps the history's payloads after zxid in memory until the returned
   * function is called: a SNAP's snapshot goes out over several turns, and
   * the sync that follows it carries every transaction after its zxid.
   */
  holdHistory(zxid: number): () => void {
    this.holds.set(zxid, (this.holds.get(zxid) ?? 0) + 1);
    let held = true;
    return () => {
      if (!held) return;
      held = false;
      const n = this.holds.get(zxid)! - 1;
      if (n === 0) this.holds.delete(zxid);
      else this.holds.set(zxid, n);
    };
  }

  /**
   * Deletes the snapshots beyond snapRetain, then the log segments wholly
   * below the oldest snapshot kept: loading may fall back to it. After every
   * snapshot, or every purgeIntervalMs when that is set.
   */
  async purge(): Promise<void> {
    try {
      const kept = await this.snapshots.prune();
      await this.log.purge(kept.at(-1) ?? 0, 2);
      // A DIFF reads what left memory back from the log: only what it still holds.
      this.history.forgetBefore(this.log.firstZxid);
    } catch (err) {
      this.logger.error({ err }, 'purge failed');
    }
  }

  /**
   * The logged entries after `from` read back from the log, for a DIFF from
   * further back than the history keeps payloads (the caller tops them up
   * from memory). Null when a snapshot is the better sync: the log no longer
   * holds them all, or they weigh more than the tree's data (as ZooKeeper's
   * snapshotSizeFactor).
   */
  async logEntriesAfter(from: number): Promise<LogEntry[] | null> {
    const expected = this.history.next(from);
    const reading = this.log.read(from);
    if (expected === undefined || reading.totalBytes > Math.max(this.tree.approximateDataSize, PROGRESS_MIN_BYTES)) return null;
    const entries: LogEntry[] = [];
    for await (const rec of reading) entries.push([rec.zxid, rec.payload]);
    return entries[0]?.[0] === expected ? entries : null;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.purgeTimer);
    await this.log.close();
  }
}
