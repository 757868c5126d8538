import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeAtomicallySync } from './fsutil.js';

/**
 * Zab's acceptedEpoch and currentEpoch, one small text file each (as in
 * ZooKeeper). The accepted epoch is followed by the id of the leader it was
 * accepted from (`5 2`): a member accepts an epoch from one leader only, a
 * restart included. Files written before that hold the epoch alone and read
 * with no leader. Synchronous on purpose: they change once per election, and the
 * member must not go on (ack a NEWEPOCH, send a NEWLEADER ack) before the new
 * value is durable, so blocking for a few fsyncs is the simple correct form.
 */
export class EpochFiles {
  constructor(readonly dir: string) {}

  /** The last epoch this member accepted from a prospective leader; 0 when never written. */
  readAccepted(): number {
    return this.read('acceptedEpoch').epoch;
  }

  /** The leader the accepted epoch was accepted from; undefined when never written or written without one. */
  readAcceptedLeader(): string | undefined {
    return this.read('acceptedEpoch').leader;
  }

  /** The epoch of the last leader this member synced with; 0 when never written. */
  readCurrent(): number {
    return this.read('currentEpoch').epoch;
  }

  writeAccepted(epoch: number, leader: string): void {
    if (!/^\S{1,255}$/.test(leader)) throw new RangeError(`bad leader id ${JSON.stringify(leader)}`);
    this.write('acceptedEpoch', epoch, ` ${leader}`);
  }

  writeCurrent(epoch: number): void {
    this.write('currentEpoch', epoch, '');
  }

  private read(name: string): { epoch: number; leader?: string } {
    let text: string;
    try {
      text = readFileSync(join(this.dir, name), 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { epoch: 0 };
      throw err;
    }
    // Unreadable is an error, never 0: forgetting an epoch would let this
    // member accept an older leader.
    const m = (name === 'acceptedEpoch' ? /^(\d{1,15})(?: (\S{1,255}))?\n?$/ : /^(\d{1,15})\n?$/).exec(text);
    if (!m) throw new Error(`${join(this.dir, name)}: not an epoch: ${JSON.stringify(text.slice(0, 40))}`);
    return m[2] === undefined ? { epoch: Number(m[1]) } : { epoch: Number(m[1]), leader: m[2] };
  }

  /** A crash leaves the old value or the new one. */
  private write(name: string, epoch: number, suffix: string): void {
    if (!Number.isSafeInteger(epoch) || epoch < 0) throw new RangeError(`bad epoch ${epoch}`);
    writeAtomicallySync(this.dir, name, `${epoch}${suffix}\n`);
  }
}
