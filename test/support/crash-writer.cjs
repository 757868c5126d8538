#!/usr/bin/env node
/**
 * A client process for the crash test: writes without pause through
 * node-zookeeper-client and reports on stdout (a pipe: synchronous on Linux,
 * so a line printed is in the parent's hands even if we are SIGKILLed next):
 *
 *   TRY seq <i>            before create <base>/n- with data "<i>" is sent
 *   ACK seq <i> <path>     once the server acknowledged it
 *   TRY ctr <i>            before setData <base> to "<i>" is sent
 *   ACK ctr <i>            once acknowledged
 *   ERR <kind> <i> <msg>   a failed write (the test fails on any before the kill)
 *
 * usage: crash-writer.cjs <connectString> <base> [window]
 */
const zookeeper = require('node-zookeeper-client');

const [connectString, base, windowArg] = process.argv.slice(2);
const window = Number(windowArg ?? 8);
const out = (line) => process.stdout.write(line + '\n');

const client = zookeeper.createClient(connectString, { sessionTimeout: 10000, spinDelay: 100, retries: 0 });
client.once('connected', () => {
  client.mkdirp(base, (err) => {
    if (err) {
      out(`ERR setup 0 ${err}`);
      process.exit(2);
    }
    out('READY');
    let next = 0;
    const issue = () => {
      const i = next++;
      out(`TRY seq ${i}`);
      client.create(`${base}/n-`, Buffer.from(String(i)), zookeeper.CreateMode.PERSISTENT_SEQUENTIAL, (e, path) => {
        if (e) out(`ERR seq ${i} ${e}`);
        else out(`ACK seq ${i} ${path}`);
        issue();
      });
    };
    for (let k = 0; k < window; k++) issue();
    let ctr = 0;
    const count = () => {
      const i = ++ctr;
      out(`TRY ctr ${i}`);
      client.setData(base, Buffer.from(String(i)), -1, (e) => {
        if (e) out(`ERR ctr ${i} ${e}`);
        else out(`ACK ctr ${i}`);
        count();
      });
    };
    count();
  });
});
client.connect();
