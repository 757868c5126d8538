import { OpCode } from '@zooid/protocol';

export type OpKind = 'write' | 'local' | 'invalid';

const writes = new Set<number>([
  OpCode.create,
  OpCode.create2,
  OpCode.createContainer,
  OpCode.createTTL,
  OpCode.delete,
  OpCode.setData,
  OpCode.setACL,
  OpCode.check,
  OpCode.multi,
  OpCode.sync,
  OpCode.closeSession,
  OpCode.reconfig,
]);

const locals = new Set<number>([
  OpCode.exists,
  OpCode.getData,
  OpCode.getACL,
  OpCode.getChildren,
  OpCode.getChildren2,
  OpCode.getAllChildrenNumber,
  OpCode.getEphemerals,
  OpCode.multiRead,
  OpCode.whoAmI,
  OpCode.auth,
  OpCode.sasl,
  OpCode.setWatches,
  OpCode.setWatches2,
  OpCode.addWatch,
  OpCode.checkWatches,
  OpCode.removeWatches,
]);

/** Writes go through the leader; everything else is answered by the learner. */
export function classify(op: number): OpKind {
  if (writes.has(op)) return 'write';
  if (locals.has(op)) return 'local';
  return 'invalid';
}
