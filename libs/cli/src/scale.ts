/**
 * `zooid scale`: asks the `zooid up` running on a data directory to grow or
 * shrink to a number of voters (and observers), waits for the outcome and
 * prints each step. The supervisor does the work (scaler.ts): it owns the
 * processes, the bus and the super user's password.
 */
import { resolve } from 'node:path';
import { intFlag, parseFlags, UsageError, type FlagSpec } from './args.js';
import { requestScale } from './scale-channel.js';

export const SCALE_SUMMARY = 'Grow or shrink a running `zooid up` (voters by reconfig, observers).';

export const scaleSpec: FlagSpec = {
  'data-dir': { type: 'string', default: './data', config: false, describe: 'data directory of the running `zooid up`' },
  followers: { type: 'string', describe: 'voting members wanted (required)' },
  observers: { type: 'string', describe: 'observers wanted (default: as they are)' },
  'timeout-ms': { type: 'string', default: '300000', describe: 'how long to wait for the whole change' },
};

export async function scale(argv: string[]): Promise<void> {
  const f = parseFlags(argv, scaleSpec);
  if (f.followers === undefined) throw new UsageError('--followers is required: the number of voting members wanted');
  const followers = intFlag(f, 'followers');
  const observers = f.observers === undefined ? undefined : intFlag(f, 'observers');
  if (followers < 1) throw new UsageError('--followers must be at least 1');
  if (observers !== undefined && observers < 0) throw new UsageError('--observers must be at least 0');
  const dataDir = resolve(String(f['data-dir']));
  const say = (line: string) => process.stdout.write(`zooid scale: ${line}\n`);
  try {
    const outcome = await requestScale(dataDir, { followers, observers }, say, intFlag(f, 'timeout-ms'));
    if (outcome.ok) say(`done: ${outcome.summary}`);
    else {
      process.stderr.write(`zooid scale: ${outcome.error}\n`);
      process.exitCode = 1;
    }
  } catch (err) {
    process.stderr.write(`zooid scale: ${(err as Error).message}\n`);
    process.exitCode = 1;
  }
}
