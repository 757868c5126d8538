/**
 * What apply verifies before it changes anything. Prep has already checked
 * all of this against the same state, so these only fail when a txn was not
 * prepared against the state it lands on — a leader-originated clean-up or
 * session close racing a prepared request. Failing them is deterministic
 * (every member applies the same txn to the same state) and leaves the tree
 * untouched, where ZooKeeper would half-apply or orphan nodes.
 */
import { Err } from '@zooid/protocol';
import { isSpecialPath, parentOf } from './paths.js';
import type { SubTxn, Txn } from './txn.js';
import { copyView, type Overlay, type PendingNode, type ViewSource } from './view.js';

export function checkTxn(txn: SubTxn | Txn, src: ViewSource): number {
  switch (txn.type) {
    case 'create': {
      const parentPath = parentOf(txn.path);
      if (parentPath === null) return Err.BADARGUMENTS;
      const parent = src.getNode(parentPath);
      if (parent === undefined) return Err.NONODE;
      if (src.getNode(txn.path) !== undefined) return Err.NODEEXISTS;
      if (parent.kind === 'ephemeral') return Err.NOCHILDRENFOREPHEMERALS;
      if (txn.kind === 'ephemeral' && !src.sessionAlive(txn.ephemeralOwner)) return Err.SESSIONEXPIRED;
      return Err.OK;
    }
    case 'delete':
    case 'deleteContainer': {
      const parentPath = parentOf(txn.path);
      if (parentPath === null || isSpecialPath(txn.path)) return Err.BADARGUMENTS;
      const node = src.getNode(txn.path);
      if (node === undefined || src.getNode(parentPath) === undefined) return Err.NONODE;
      if (node.numChildren > 0) return Err.NOTEMPTY;
      // Only empty containers and TTL nodes are reaped; a node that is neither is not a candidate.
      if (txn.type === 'deleteContainer' && node.kind !== 'container' && node.kind !== 'ttl') return Err.BADVERSION;
      return Err.OK;
    }
    case 'setData':
    case 'setACL':
    case 'check':
      return src.getNode(txn.path) === undefined ? Err.NONODE : Err.OK;
    default:
      return Err.OK;
  }
}

/** Records in `view` the structural effect of a txn that passed checkTxn, for checking the next one. */
export function simulate(txn: SubTxn, view: Overlay): void {
  if (txn.type === 'create') {
    const parentPath = parentOf(txn.path)!;
    const parent = copyView(view.getNode(parentPath)!);
    parent.numChildren++;
    view.setNode(parentPath, parent, 0);
    const node: PendingNode = {
      kind: txn.kind,
      owner: txn.ephemeralOwner,
      numChildren: 0,
      version: 0,
      cversion: 0,
      aversion: 0,
      acl: txn.acl,
      mtime: 0,
    };
    view.setNode(txn.path, node, 0);
  } else if (txn.type === 'delete') {
    const parentPath = parentOf(txn.path)!;
    const parent = copyView(view.getNode(parentPath)!);
    parent.numChildren--;
    view.setNode(parentPath, parent, 0);
    view.setNode(txn.path, null, 0);
  }
}
