import { Err, OpCode, JuteReader, decodeRequest, type AuthId, type Forwarded, type Id } from '@zooid/protocol';
import { Preparer, encodeTxn, txnType, type Txn, type TxnHeader } from '@zooid/tree';
import type { LogRecord } from '@zooid/store';
import { assert } from './assert.js';

export interface DurableLog {
  append(records: LogRecord[]): void;
  flush(): Promise<void>;
}

export interface PipelineDeps {
  log: DurableLog;
  preparer: Preparer;
  /** Called for each transaction, in zxid order, once it is durable. */
  commit: (hdr: TxnHeader, txn: Txn) => void;
  /** Called for a sync once every transaction proposed before it has been committed. */
  synced: (mark: SyncMark) => void;
  now: () => number;
  /** A failed fsync leaves the log's state unknown: the member must stop. */
  fatal: (err: unknown) => void;
}

type Proposed = { hdr: TxnHeader; txn: Txn; sync?: undefined } | { sync: SyncMark };

export interface SyncMark {
  sessionId: bigint;
  cxid: number;
  path: string;
}

/**
 * The leader's write path: validate → zxid → log → fsync → commit. Every
 * request of a turn of the event loop is prepared against the tree plus the
 * transactions still in flight, appended to the log, and made durable by one
 * fdatasync (group commit); commits then go out in zxid order. Plain code: no
 * per-request timer, promise or log line.
 */
export class WritePipeline {
  private lastZxid: number;
  private batch: Proposed[] = [];
  private flushing = false;
  private scheduled = false;
  /** Counters for four-letter words and metrics. */
  committedCount = 0;
  lastBatchSize = 0;

  constructor(private readonly deps: PipelineDeps, lastZxid: number, private readonly epoch: number) {
    assert(epoch > 0 && epoch < 2 ** 20, 'epoch out of range');
    // A new epoch starts its counter at zero; zxids never go back.
    const first = epoch * 2 ** 32;
    assert(first > lastZxid, 'new epoch must start above the last zxid');
    this.lastZxid = first;
  }

  get zxid(): number {
    return this.lastZxid;
  }

  /** Writes forwarded by learners. */
  submit(entries: Forwarded[]): void {
    const now = this.deps.now();
    for (const e of entries) {
      if (e[0] === 's') {
        this.propose(e[2], 0, now, OpCode.createSession, { timeout: e[3], passwd: e[4] }, []);
        continue;
      }
      const [, , sessionId, cxid, op, body, auth] = e;
      let req: unknown;
      try {
        req = decodeRequest(op, new JuteReader(body)).req;
      } catch {
        this.enqueue({ sessionId, cxid, zxid: this.nextZxid(), time: now, type: OpCode.error }, { type: 'error', err: Err.MARSHALLINGERROR });
        continue;
      }
      if (op === OpCode.sync) {
        // Not a transaction: its answer only has to wait for the writes ahead of it.
        this.batch.push({ sync: { sessionId, cxid, path: (req as { path: string }).path } });
        this.schedule();
        continue;
      }
      this.propose(sessionId, cxid, now, op, req, auth);
    }
  }

  /** Requests the leader itself originates: session expiry, container and TTL clean-up. */
  submitInternal(sessionId: bigint, op: number, req: unknown): void {
    this.propose(sessionId, 0, this.deps.now(), op, req, []);
  }

  private propose(sessionId: bigint, cxid: number, time: number, op: number, req: unknown, auth: AuthId[]): void {
    const zxid = this.nextZxid();
    const ids: Id[] = auth.map(([scheme, id]) => ({ scheme, id }));
    const txn = this.deps.preparer.prepare(op, req, { sessionId, ids }, zxid, time);
    this.enqueue({ sessionId, cxid, zxid, time, type: txnType(txn) }, txn);
  }

  private nextZxid(): number {
    const zxid = this.lastZxid + 1;
    assert(zxid % 2 ** 32 !== 0, 'zxid counter overflowed its epoch');
    this.lastZxid = zxid;
    return zxid;
  }

  private enqueue(hdr: TxnHeader, txn: Txn): void {
    this.deps.log.append([{ zxid: hdr.zxid, payload: encodeTxn(hdr, txn) }]);
    this.batch.push({ hdr, txn });
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.flushing) return;
    this.scheduled = true;
    setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    if (this.batch.length === 0) return;
    this.flushing = true;
    const batch = this.batch;
    this.batch = [];
    try {
      await this.deps.log.flush();
    } catch (err) {
      this.deps.fatal(err);
      return;
    }
    this.lastBatchSize = batch.length;
    for (const p of batch) {
      if (p.sync) {
        this.deps.synced(p.sync);
        continue;
      }
      this.deps.commit(p.hdr, p.txn);
      this.deps.preparer.applied(p.hdr.zxid);
      this.committedCount++;
    }
    this.flushing = false;
    if (this.batch.length > 0) this.schedule();
  }
}
