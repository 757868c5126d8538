/**
 * ZooKeeper recipes for @zooid/client, each safe under connection loss and
 * session expiry in the way Curator documents its own.
 */
export { Mutex, type AcquireOptions } from './mutex.js';
export { LeaderLatch, type LeaderLatchEvents } from './leader-latch.js';
export { SharedCounter } from './shared-counter.js';
export { Queue } from './queue.js';
export { GroupMembership } from './group-membership.js';
export { Barrier } from './barrier.js';
export { SequentialLock, type Ranker } from './mutex.js';
export { Semaphore, type Lease } from './semaphore.js';
export { ReadWriteLock } from './read-write-lock.js';
export { LeaderElection, type LeaderElectionOptions } from './leader-election.js';
export { TreeCache, type CachedNode, type TreeCacheEvent, type TreeCacheEvents } from './tree-cache.js';
export { DoubleBarrier } from './double-barrier.js';
