// A group member in its own process, for tests that kill a client outright.
// Usage: node nzk-member.cjs <connectString> <path> <mode> [sessionTimeoutMs]
//   mode: ephemeral | ephemeral_sequential
// Connects with node-zookeeper-client, creates <path> (mkdirp for the parent),
// prints one JSON line {sessionId, password, path, timeout} and stays connected
// until killed, until its stdin closes (the parent went away) or after 120 s.
'use strict';
const zookeeper = require('node-zookeeper-client');

const [connectString, path, mode = 'ephemeral', timeout = '4000'] = process.argv.slice(2);
const fail = (msg) => {
  process.stderr.write(`nzk-member: ${msg}\n`);
  process.exit(1);
};
if (!connectString || !path) fail('usage: nzk-member.cjs <connectString> <path> <mode> [timeout]');
const modes = { ephemeral: zookeeper.CreateMode.EPHEMERAL, ephemeral_sequential: zookeeper.CreateMode.EPHEMERAL_SEQUENTIAL };
if (!(mode in modes)) fail(`unknown mode ${mode}`);

const guard = setTimeout(() => fail('connect/create did not finish within 15 s'), 15_000);
setTimeout(() => process.exit(0), 120_000).unref();
process.stdin.on('end', () => process.exit(0));
process.stdin.resume();

const client = zookeeper.createClient(connectString, { sessionTimeout: Number(timeout), spinDelay: 100 });
client.once('connected', () => {
  const parent = path.slice(0, path.lastIndexOf('/')) || '/';
  const create = () =>
    client.create(path, Buffer.from(String(process.pid)), modes[mode], (err, created) => {
      if (err) fail(`create ${path}: ${err}`);
      clearTimeout(guard);
      process.stdout.write(
        JSON.stringify({
          sessionId: client.getSessionId().toString('hex'),
          password: client.getSessionPassword().toString('hex'),
          timeout: client.getSessionTimeout(),
          path: created,
        }) + '\n',
      );
    });
  if (parent === '/') create();
  else client.mkdirp(parent, (err) => (err ? fail(`mkdirp ${parent}: ${err}`) : create()));
});
client.on('expired', () => fail('session expired'));
client.connect();
