import { Err, OpCode, JuteReader, decodeRequest, type AuthId, type Forwarded, type Id, type LogEntry } from '@zooid/protocol';
import { Preparer, Slabs, encodeTxn, parseConfig, txnType, voterIds, type Txn, type TxnHeader } from '@zooid/tree';
import type { LogRecord } from '@zooid/store';
import { assert, makeZxid } from '@zooid/zab';

export interface DurableLog {
  append(records: LogRecord[]): void;
  flush(): Promise<void>;
}

export interface PipelineDeps {
  log: DurableLog;
  preparer: Preparer;
  /**
   * A new proposal, in zxid order, as soon as it is appended (before fsync);
   * `voters` when it is a reconfig: the core then needs both quorums from it on.
   */
  proposed: (entry: LogEntry, voters?: string[]) => void;
  /** Every proposal up to zxid is on the leader's own disk: the leader's ack. */
  durable: (zxid: number) => void;
  /** A committed transaction, in zxid order. */
  commit: (hdr: TxnHeader, txn: Txn) => void;
  /** A sync, once every transaction proposed before it is committed. */
  synced: (mark: SyncMark) => void;
  now: () => number;
  /** Runs the group commit once the current turn's requests are in (setImmediate unless a simulator drives it). */
  defer?: (fn: () => void) => void;
  /** A failed fsync leaves the log's state unknown: the member must stop. */
  fatal: (err: unknown) => void;
  /** One group commit: `records` transactions made durable in `ms` (metrics). */
  flushed?: (records: number, ms: number) => void;
  /** Bad input from a client (undecodable body, invalid path): one line each (promise 9). */
  warn?: (fields: object, msg: string) => void;
}

type InFlight = { hdr: TxnHeader; txn: Txn; sync?: undefined } | { sync: SyncMark };

export interface SyncMark {
  learner: string;
  sessionId: bigint;
  cxid: number;
  path: string;
}

/**
 * The leader's write path: validate → zxid → log (+ propose) → fsync → ack →
 * commit once a quorum has it. Every request of a turn of the event loop is
 * prepared against the tree plus the transactions still in flight and made
 * durable by one fdatasync (group commit). Plain code: no per-request timer,
 * promise or log line.
 */
export class WritePipeline {
  private lastZxid: number;
  private counter = 0;
  private readonly inflight: InFlight[] = [];
  private appended = 0;
  private flushing = false;
  private scheduled = false;
  /** Where proposals' bytes live: they stay in the broadcast window and the history, and leave in order. */
  private readonly payloads = new Slabs();
  /** Counters for four-letter words and metrics. */
  committedCount = 0;
  lastBatchSize = 0;

  constructor(
    private readonly deps: PipelineDeps,
    lastZxid: number,
    private readonly epoch: number,
  ) {
    assert(makeZxid(epoch, 0) > lastZxid, 'a new epoch must start above the last zxid');
    this.lastZxid = lastZxid;
  }

  get zxid(): number {
    return this.lastZxid;
  }

  get outstanding(): number {
    return this.inflight.length;
  }

  /** Writes forwarded by learners. */
  submit(learner: string, entries: Forwarded[]): void {
    const now = this.deps.now();
    for (const e of entries) {
      if (e[0] === 's') {
        this.propose(e[2], 0, now, OpCode.createSession, { timeout: e[3], verifier: e[4] }, []);
        continue;
      }
      const [, , sessionId, cxid, op, body, auth] = e;
      let req: unknown;
      try {
        req = decodeRequest(op, new JuteReader(body)).req;
      } catch (err) {
        this.deps.warn?.({ sessionId: sessionId.toString(16), op, err: String(err) }, 'malformed request; answering MARSHALLINGERROR');
        this.enqueue({ sessionId, cxid, zxid: this.nextZxid(), time: now, type: OpCode.error }, { type: 'error', err: Err.MARSHALLINGERROR });
        continue;
      }
      if (op === OpCode.sync) {
        // Not a transaction: its answer only has to follow the writes ahead of it.
        const mark = { learner, sessionId, cxid, path: (req as { path: string }).path };
        if (this.inflight.length === 0) this.deps.synced(mark);
        else this.inflight.push({ sync: mark });
        continue;
      }
      this.propose(sessionId, cxid, now, op, req, auth);
    }
  }

  /** Requests the leader itself originates: session expiry, container and TTL clean-up, a voter that asked to be added. */
  submitInternal(sessionId: bigint, op: number, req: unknown, auth: AuthId[] = []): void {
    this.propose(sessionId, 0, this.deps.now(), op, req, auth);
  }

  /** A transaction the leader makes whole, with no request to prepare (the static configuration it shows). */
  submitTxn(txn: Txn): void {
    this.enqueue({ sessionId: 0n, cxid: 0, zxid: this.nextZxid(), time: this.deps.now(), type: txnType(txn) }, txn);
  }

  /** A quorum has everything up to zxid: commit it in order. */
  commitUpTo(zxid: number): void {
    let n = 0;
    while (this.inflight.length > 0) {
      const head = this.inflight[0]!;
      if (head.sync) {
        this.inflight.shift();
        this.deps.synced(head.sync);
        continue;
      }
      if (head.hdr.zxid > zxid) break;
      this.inflight.shift();
      this.deps.commit(head.hdr, head.txn);
      this.deps.preparer.applied(head.hdr.zxid);
      n++;
    }
    this.committedCount += n;
  }

  private propose(sessionId: bigint, cxid: number, time: number, op: number, req: unknown, auth: AuthId[]): void {
    const zxid = this.nextZxid();
    const ids: Id[] = auth.map(([scheme, id]) => ({ scheme, id }));
    const txn = this.deps.preparer.prepare(op, req, { sessionId, ids }, zxid, time);
    if (txn.type === 'error' && txn.err === Err.BADARGUMENTS) {
      this.deps.warn?.({ sessionId: sessionId.toString(16), op, path: (req as { path?: unknown } | undefined)?.path }, 'bad arguments (invalid path, data or flags); answering BADARGUMENTS');
    }
    this.enqueue({ sessionId, cxid, zxid, time, type: txnType(txn) }, txn);
  }

  private nextZxid(): number {
    this.counter++;
    const zxid = makeZxid(this.epoch, this.counter);
    assert(zxid > this.lastZxid, 'zxid must increase');
    this.lastZxid = zxid;
    return zxid;
  }

  private enqueue(hdr: TxnHeader, txn: Txn): void {
    const payload = this.payloads.copy(encodeTxn(hdr, txn));
    this.deps.log.append([{ zxid: hdr.zxid, payload }]);
    this.deps.proposed([hdr.zxid, payload], txn.type === 'reconfig' ? voterIds(parseConfig(Buffer.from(txn.data).toString('utf8'))) : undefined);
    this.inflight.push({ hdr, txn });
    this.appended++;
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.flushing) return;
    this.scheduled = true;
    (this.deps.defer ?? setImmediate)(() => void this.flush());
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    if (this.appended === 0) return;
    this.flushing = true;
    this.lastBatchSize = this.appended;
    this.appended = 0;
    const upTo = this.lastZxid;
    const started = performance.now();
    try {
      await this.deps.log.flush();
    } catch (err) {
      this.deps.fatal(err);
      return;
    }
    this.flushing = false;
    this.deps.flushed?.(this.lastBatchSize, performance.now() - started);
    this.deps.durable(upTo);
    if (this.appended > 0) this.schedule();
  }
}
