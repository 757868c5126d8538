// Run by crash.test.ts (transpiled): appends batches to the log in argv[2]
// forever, printing each zxid on stdout only after its flush resolved, until
// the parent kills it. Writes to a pipe are synchronous on Linux, so a printed
// zxid has left this process before the next flush starts.
import { TxnLog, type LogRecord } from '../src/index.js';
import { payloadFor } from './payload.js';

const [dir, segmentBytes] = process.argv.slice(2);
const log = await TxnLog.open(dir!, {
  segmentBytes: Number(segmentBytes),
  log: (msg, fields) => process.stderr.write(`${msg} ${JSON.stringify(fields)}\n`),
});
let zxid = log.lastZxid;
for (;;) {
  const batch: LogRecord[] = [];
  for (let n = 1 + Math.floor(Math.random() * 20); n > 0; n--) {
    zxid++;
    batch.push({ zxid, payload: payloadFor(zxid) });
  }
  log.append(batch);
  await log.flush();
  process.stdout.write(batch.map((r) => r.zxid).join('\n') + '\n');
}
