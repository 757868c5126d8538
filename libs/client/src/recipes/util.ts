/**
 * What the recipes share: retrying an idempotent call across connection
 * losses, creating parents, waiting on a one-shot watch, ordering
 * sequential children, and Curator's protected create for sequential nodes
 * whose create may have succeeded without the client hearing of it.
 */
import { randomUUID } from 'node:crypto';
import type { ZooKeeperClient } from '../client.js';
import { isZooKeeperError, zkError } from '../errors.js';
import type { CreateMode, Data, KeeperStateName } from '../types.js';

/** Session events that end a session: nothing a recipe holds survives them. */
export function isTerminalState(s: KeeperStateName): boolean {
  return s === 'Expired' || s === 'Closed' || s === 'AuthFailed';
}

/**
 * The client is done: closed, refused, or expired without `renewOnExpiry`.
 * Read in an `Expired` listener, false means a new session is on its way.
 */
export function clientEnded(zk: ZooKeeperClient): boolean {
  return zk.state === 'closed' || zk.state === 'expired' || zk.state === 'authFailed';
}

/** Resolves once the client is connected; rejects if the session ends or `signal` aborts first. */
export function whenConnected(zk: ZooKeeperClient, signal?: AbortSignal): Promise<void> {
  if (zk.state === 'connected') return Promise.resolve();
  if (zk.state !== 'connecting') return Promise.reject(zkError(zk.state === 'expired' ? 'SessionExpired' : 'ConnectionLoss', undefined, `client is ${zk.state}`));
  return new Promise((resolve, reject) => {
    const onState = (s: KeeperStateName) => {
      if (s === 'SyncConnected') done(resolve);
      else if (isTerminalState(s)) done(() => reject(zkError(s === 'Expired' ? 'SessionExpired' : 'ConnectionLoss')));
    };
    const onAbort = () => done(() => reject(signal!.reason));
    const done = (f: () => void) => {
      zk.off('state', onState);
      signal?.removeEventListener('abort', onAbort);
      f();
    };
    zk.on('state', onState);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs an idempotent call, again after each ConnectionLoss once the client
 * has reconnected; any other error, and the end of the session, reject.
 */
export async function retrying<T>(zk: ZooKeeperClient, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
  for (;;) {
    signal?.throwIfAborted();
    try {
      return await fn();
    } catch (err) {
      if (!isZooKeeperError(err, 'ConnectionLoss')) throw err;
      await whenConnected(zk, signal);
    }
  }
}

/** Creates `path` and its missing ancestors as persistent nodes. */
export async function ensurePath(zk: ZooKeeperClient, path: string): Promise<void> {
  if (path === '/') return;
  if (await retrying(zk, () => zk.exists(path))) return;
  const parts = path.split('/').filter(Boolean);
  for (let i = 1; i <= parts.length; i++) {
    const p = '/' + parts.slice(0, i).join('/');
    try {
      await retrying(zk, () => zk.create(p));
    } catch (err) {
      if (!isZooKeeperError(err, 'NodeExists')) throw err;
    }
  }
}

/** Deletes `path`, retrying across connection losses; a node already gone is fine. */
export async function deleteIfExists(zk: ZooKeeperClient, path: string, version = -1): Promise<void> {
  try {
    await retrying(zk, () => zk.delete(path, version));
  } catch (err) {
    if (!isZooKeeperError(err, 'NoNode')) throw err;
  }
}

/** The sequence number ZooKeeper appended to a sequential node's name (its last ten digits). */
export function sequenceOf(name: string): number {
  return Number(name.slice(-10));
}

/** Children in sequence order; names that are not sequential are left out. */
export function bySequence(children: string[], infix: string): string[] {
  return children.filter((c) => c.includes(infix) && /\d{10}$/.test(c)).sort((a, b) => sequenceOf(a) - sequenceOf(b));
}

/**
 * Curator's protected create: the node's name starts with `_c_<uuid>-`, so
 * after a ConnectionLoss the client can look for its node among the
 * parent's children instead of creating a second one, which (for an
 * ephemeral) would hold a lock or a leadership nobody knows about until
 * the session ends.
 */
export async function protectedCreate(zk: ZooKeeperClient, parent: string, prefix: string, data: Data, mode: CreateMode): Promise<string> {
  const tag = `_c_${randomUUID()}-`;
  for (;;) {
    try {
      return await zk.create(`${parent}/${tag}${prefix}`, data, { mode });
    } catch (err) {
      if (isZooKeeperError(err, 'NoNode')) {
        await ensurePath(zk, parent);
        continue;
      }
      if (!isZooKeeperError(err, 'ConnectionLoss')) throw err;
      await whenConnected(zk);
      const found = (await retrying(zk, () => zk.getChildren(parent))).find((c) => c.startsWith(tag));
      if (found) return `${parent}/${found}`;
    }
  }
}

/**
 * Waits for the next event of a one-shot watch that `arm` sets (arm returns
 * false when the condition already holds and there is nothing to wait
 * for). Rejects when the session ends or `signal` aborts; a mere
 * disconnection keeps waiting, as the client re-registers the watch.
 */
export function waitForWatch(zk: ZooKeeperClient, arm: (wake: () => void) => Promise<boolean>, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const done = (f: () => void) => {
      if (settled) return;
      settled = true;
      zk.off('state', onState);
      signal?.removeEventListener('abort', onAbort);
      f();
    };
    const onState = (s: KeeperStateName) => {
      if (isTerminalState(s)) done(() => reject(zkError(s === 'Expired' ? 'SessionExpired' : 'ConnectionLoss', undefined, `session ${s}`)));
    };
    const onAbort = () => done(() => reject(signal!.reason));
    if (signal?.aborted) return onAbort();
    zk.on('state', onState);
    signal?.addEventListener('abort', onAbort, { once: true });
    retrying(zk, () => arm(() => done(resolve)), signal).then(
      (armed) => {
        if (!armed) done(resolve);
      },
      (err: unknown) => done(() => reject(err)),
    );
  });
}

/** One signal for a caller's signal and a timeout, either of which may be absent. */
export function callSignal(opts: { signal?: AbortSignal; timeout?: number }): AbortSignal | undefined {
  const signals: AbortSignal[] = [];
  if (opts.signal) signals.push(opts.signal);
  if (opts.timeout !== undefined) signals.push(AbortSignal.timeout(opts.timeout));
  return signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals);
}
