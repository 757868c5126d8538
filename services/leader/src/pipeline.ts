import { Err, OpCode, JuteReader, decodeRequest, type Forwarded, type Id } from '@zooid/protocol';
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
  now: () => number;
  /** A failed fsync leaves the log's state unknown: the member must stop. */
  fatal: (err: unknown) => void;
}

interface Proposed {
  hdr: TxnHeader;
  txn: Txn;
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
        this.propose(e[2], 0, now, { type: 'createSession', sessionId: e[2], timeout: e[3], passwd: e[4] });
        continue;
      }
      const [, , sessionId, cxid, op, body, auth] = e;
      this.propose(sessionId, cxid, now, this.prepare(sessionId, op, body, auth, now));
    }
  }

  /** Transactions the leader itself originates: expiry, container and TTL clean-up. */
  submitInternal(sessionId: bigint, txn: Txn): void {
    this.propose(sessionId, 0, this.deps.now(), txn);
  }

  private prepare(sessionId: bigint, op: number, body: Uint8Array, auth: [string, string][], now: number): Txn {
    let req: unknown;
    try {
      req = decodeRequest(op, new JuteReader(body)).req;
    } catch {
      return { type: 'error', err: Err.MARSHALLINGERROR };
    }
    if (op === OpCode.reconfig) return { type: 'error', err: Err.RECONFIGDISABLED };
    const ids: Id[] = auth.map(([scheme, id]) => ({ scheme, id }));
    return this.deps.preparer.prepare(op, req, { sessionId, ids }, this.lastZxid + 1, now);
  }

  private propose(sessionId: bigint, cxid: number, time: number, txn: Txn): void {
    const zxid = this.lastZxid + 1;
    assert(zxid % 2 ** 32 !== 0, 'zxid counter overflowed its epoch');
    this.lastZxid = zxid;
    const hdr: TxnHeader = { sessionId, cxid, zxid, time, type: txnType(txn) };
    this.deps.log.append([{ zxid, payload: encodeTxn(hdr, txn) }]);
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
      this.deps.commit(p.hdr, p.txn);
      this.deps.preparer.applied(p.hdr.zxid);
    }
    this.committedCount += batch.length;
    this.flushing = false;
    if (this.batch.length > 0) this.schedule();
  }
}
