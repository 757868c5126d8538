// A group member in its own process, for tests that kill a client outright.
// Usage: node nzk-member.cjs <connectString> <path> <mode> [sessionTimeoutMs]
//   mode: ephemeral | ephemeral_sequential
// Connects with node-zookeeper-client, creates <path> (mkdirp for the parent),
// prints one JSON line {sessionId, password, path, timeout} and stays connected.
// When its stdin closes (the parent ended it, or went away) it closes its
// session (closeSession) and exits 0; SIGKILL leaves the session to expire.
// It gives up after 120 s.
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
process.stdin.on('end', () => {
  // Exit once the server has answered the closeSession and dropped the connection.
  setTimeout(() => fail('closeSession was not answered within 5 s'), 5000);
  client.once('disconnected', () => process.exit(0));
  client.close();
});
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
