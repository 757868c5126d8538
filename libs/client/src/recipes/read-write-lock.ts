/**
 * A read-write lock (Curator's InterProcessReadWriteLock): readers share,
 * a writer excludes everyone. Readers and writers queue in one sequence: a
 * writer holds when it is first; a reader holds when no writer is ahead of
 * it, and otherwise waits for the last writer ahead. Both locks are
 * reentrant per instance and lost on a lost connection, as Mutex is. Unlike
 * Curator, the write lock's holder does not also get the read lock.
 */
import type { ZooKeeperClient } from '../client.js';
import { SequentialLock } from './mutex.js';

const KINDS = ['read-', 'write-'];

export class ReadWriteLock {
  readonly readLock: SequentialLock;
  readonly writeLock: SequentialLock;

  constructor(zk: ZooKeeperClient, readonly path: string) {
    this.writeLock = new SequentialLock(zk, path, 'write-', (c, i) => (i === 0 ? null : c[i - 1]!), KINDS);
    this.readLock = new SequentialLock(
      zk,
      path,
      'read-',
      (c, i) => {
        for (let j = i - 1; j >= 0; j--) if (c[j]!.includes('write-')) return c[j]!;
        return null;
      },
      KINDS,
    );
  }
}
