import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isNotFound, writeAtomicallySync } from './fsutil.js';

const NAME = 'committedConfig';

/**
 * The last ensemble configuration this member knows a quorum committed, as
 * the text of /zookeeper/config (ZooKeeper keeps it in its dynamic config
 * file). It lives beside the log because the log, and the tree a restart
 * rebuilds from it, may end in a change that never committed: an election
 * must count that one as pending, not as who votes. Absent: no change this
 * member knows of has committed.
 */
export class CommittedConfigFile {
  constructor(readonly dir: string) {}

  read(): string | undefined {
    try {
      return readFileSync(join(this.dir, NAME), 'utf8');
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Durable when it returns: nothing may count on a configuration a crash could forget. */
  write(text: string): void {
    writeAtomicallySync(this.dir, NAME, text);
  }
}
