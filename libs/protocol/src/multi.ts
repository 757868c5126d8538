/**
 * Bodies of multi and multiRead: a run of MultiHeader-framed records ended by
 * MultiHeader{type: -1, done: true, err: -1}, as MultiOperationRecord and
 * MultiResponse serialize them.
 */
import { OpCode } from './constants.js';
import { JuteError, type JuteReader, type JuteWriter } from './jute.js';
import * as C from './record-codecs.js';
import type { MultiOp, MultiResult } from './records.js';

const END = { type: -1, done: true, err: -1 } as const;

type OpCodecs = Partial<Record<number, C.Codec<MultiOp['req']>>>;

/**
 * ZooKeeper refuses to mix transactions and reads in one request; we also hold
 * each opcode to its own kind, so a read inside `multi` or a write inside
 * `multiRead` is malformed. Inside a transaction `create2` travels as a plain
 * CreateRequest, exactly like `create`.
 */
const TXN_OPS: OpCodecs = {
  [OpCode.create]: C.createRequest,
  [OpCode.create2]: C.createRequest,
  [OpCode.createContainer]: C.createRequest,
  [OpCode.createTTL]: C.createTTLRequest,
  [OpCode.delete]: C.pathVersion,
  [OpCode.setData]: C.setDataRequest,
  [OpCode.check]: C.pathVersion,
};

const READ_OPS: OpCodecs = {
  [OpCode.getData]: C.pathWatch,
  [OpCode.getChildren]: C.pathWatch,
};

function multiOpsCodec(allowed: OpCodecs, name: string): C.Codec<MultiOp[]> {
  return {
    // Each round consumes at least a 9-byte header, so garbage ends in a JuteError, never a loop.
    read(r: JuteReader): MultiOp[] {
      const ops: MultiOp[] = [];
      for (let h = C.multiHeader.read(r); !h.done; h = C.multiHeader.read(r)) {
        const codec = allowed[h.type];
        if (!codec) throw new JuteError(`op type ${h.type} is not allowed in ${name}`);
        ops.push({ type: h.type, req: codec.read(r) } as MultiOp);
      }
      return ops;
    },
    write(w: JuteWriter, ops: MultiOp[]): void {
      for (const op of ops) {
        const codec = allowed[op.type];
        if (!codec) throw new Error(`op type ${op.type} is not allowed in ${name}`);
        C.multiHeader.write(w, { type: op.type, done: false, err: -1 });
        codec.write(w, op.req);
      }
      C.multiHeader.write(w, END);
    },
  };
}

export const multiRequest = multiOpsCodec(TXN_OPS, 'multi');
export const multiReadRequest = multiOpsCodec(READ_OPS, 'multiRead');

/** Result bodies by the type in their MultiHeader (-1: an ErrorResponse). */
const RESULT_BODIES: Partial<Record<number, C.Codec<object | undefined>>> = {
  [OpCode.create]: C.pathOnly,
  [OpCode.create2]: C.create2Response,
  [OpCode.delete]: C.empty,
  [OpCode.check]: C.empty,
  [OpCode.setData]: C.statOnly,
  [OpCode.getData]: C.getDataResponse,
  [OpCode.getChildren]: C.getChildrenResponse,
  [OpCode.error]: C.errorResponse,
};

/**
 * The server reports every create that returns a Stat (create2, container,
 * TTL) as create2: the only stat-carrying create tag clients can decode.
 */
function wireResultType(type: MultiResult['type']): number {
  return type === OpCode.createContainer || type === OpCode.createTTL ? OpCode.create2 : type;
}

function resultBody(type: number): C.Codec<object | undefined> {
  const codec = RESULT_BODIES[type];
  if (!codec) throw new JuteError(`result type ${type} is not valid in a multi response`);
  return codec;
}

/** MultiResponse: the same layout answers multi and multiRead. */
export const multiResponse: C.Codec<MultiResult[]> = {
  read(r) {
    const results: MultiResult[] = [];
    for (let h = C.multiHeader.read(r); !h.done; h = C.multiHeader.read(r)) {
      results.push({ type: h.type, ...resultBody(h.type).read(r) } as MultiResult);
    }
    return results;
  },
  write(w, results) {
    for (const res of results) {
      const type = wireResultType(res.type);
      C.multiHeader.write(w, { type, done: false, err: res.type === OpCode.error ? res.err : 0 });
      resultBody(type).write(w, res);
    }
    C.multiHeader.write(w, END);
  },
};
