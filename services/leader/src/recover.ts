import { DataTree, decodeSnapshot, decodeTxn } from '@zooid/tree';
import { SnapshotStore, TxnLog } from '@zooid/store';
import type { Logger } from '@zooid/runtime';

export interface Recovered {
  tree: DataTree;
  log: TxnLog;
  snapshots: SnapshotStore;
  replayed: number;
}

/**
 * Start-up: the newest snapshot that verifies, then every logged transaction
 * after it. The log has already cut any torn tail when it opened.
 */
export async function recover(dataDir: string, log: Logger, snapRetain: number): Promise<Recovered> {
  const snapshots = new SnapshotStore(`${dataDir}/snapshots`, { retain: snapRetain });
  const txnLog = await TxnLog.open(`${dataDir}/log`, { log: (msg, fields) => log.warn(fields ?? {}, msg) });
  const snap = await snapshots.loadNewest();
  const tree = snap ? decodeSnapshot(snap.bytes) : new DataTree();
  if (snap) log.info({ zxid: hex(snap.zxid), nodes: tree.nodeCount }, 'loaded snapshot');
  let replayed = 0;
  for await (const rec of txnLog.read(tree.lastZxid)) {
    const { hdr, txn } = decodeTxn(rec.payload);
    tree.apply(hdr, txn);
    replayed++;
  }
  log.info({ lastZxid: hex(tree.lastZxid), replayed, nodes: tree.nodeCount }, 'recovered');
  return { tree, log: txnLog, snapshots, replayed };
}

export function hex(zxid: number): string {
  return '0x' + zxid.toString(16);
}
