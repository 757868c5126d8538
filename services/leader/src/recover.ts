import { DataTree, decodeSnapshot, decodeTxn } from '@zooid/tree';
import { recover as openDataDir, type EpochFiles, type SnapshotStore, type TxnLog } from '@zooid/store';
import type { Logger } from '@zooid/runtime';

export interface Recovered {
  tree: DataTree;
  log: TxnLog;
  snapshots: SnapshotStore;
  epochs: EpochFiles;
  replayed: number;
}

/**
 * Start-up: the newest snapshot that verifies, then every logged transaction
 * after it. The log has already cut any torn tail when it opened.
 */
export async function recover(dataDir: string, log: Logger, snapRetain: number): Promise<Recovered> {
  const r = await openDataDir(dataDir, { retain: snapRetain, log: (msg, fields) => log.warn(fields ?? {}, msg) });
  const tree = r.snapshot ? decodeSnapshot(r.snapshot.bytes) : new DataTree();
  if (r.snapshot) log.info({ zxid: hex(r.snapshot.zxid), nodes: tree.nodeCount }, 'loaded snapshot');
  let replayed = 0;
  for await (const rec of r.replay) {
    const { hdr, txn } = decodeTxn(rec.payload);
    tree.apply(hdr, txn);
    replayed++;
  }
  log.info({ lastZxid: hex(tree.lastZxid), replayed, nodes: tree.nodeCount }, 'recovered');
  return { tree, log: r.log, snapshots: r.snapshots, epochs: r.epochs, replayed };
}

export function hex(zxid: number): string {
  return '0x' + zxid.toString(16);
}
