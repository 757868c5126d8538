/**
 * A typed builder for `multi`: each call adds an op and records the shape of
 * its result, so `commit()` resolves to a tuple whose items are typed by
 * position (`const [c, s] = await zk.transaction().create(...).setData(...).commit()`).
 */
import type { Stat } from '@zooid/protocol/wire';
import { op, type CreateOptions, type Data, type MultiResultItem, type Op } from './types.js';

export type CreateResult = { type: 'create'; path: string; stat?: Stat };
export type DeleteResult = { type: 'delete' };
export type SetDataResult = { type: 'setData'; stat: Stat };
export type CheckResult = { type: 'check' };

export class Transaction<R extends MultiResultItem[] = []> {
  private readonly ops: Op[] = [];

  constructor(private readonly run: (ops: Op[]) => Promise<MultiResultItem[]>) {}

  create(path: string, data: Data = null, opts: CreateOptions = {}): Transaction<[...R, CreateResult]> {
    return this.add(op.create(path, data, opts));
  }

  delete(path: string, version = -1): Transaction<[...R, DeleteResult]> {
    return this.add(op.delete(path, version));
  }

  setData(path: string, data: Data, version = -1): Transaction<[...R, SetDataResult]> {
    return this.add(op.setData(path, data, version));
  }

  check(path: string, version: number): Transaction<[...R, CheckResult]> {
    return this.add(op.check(path, version));
  }

  /** The ops added so far, e.g. to pass to `multi` yourself. */
  toOps(): readonly Op[] {
    return this.ops;
  }

  /** Runs the ops all-or-nothing; rejects as `multi` does. */
  commit(): Promise<R> {
    return this.run(this.ops) as Promise<R>;
  }

  private add<T extends Transaction<MultiResultItem[]>>(o: Op): T {
    this.ops.push(o);
    return this as unknown as T;
  }
}
