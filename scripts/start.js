#!/usr/bin/env node
// `npm start` on a fresh clone: install what is missing (npm dependencies;
// nats-server from Debian when we are root), build, then run a local cluster
// in the foreground: 3 voting members, 1 observer, 1 gateway on 2181.
// Uses only Node's built-ins, since nothing else is installed when it starts.
import { spawnSync, spawn } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
const onPath = (bin) =>
  [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin'].some((d) => {
    try {
      accessSync(join(d, bin), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });

if (!onPath('nats-server')) {
  if (process.getuid?.() === 0 && onPath('apt-get')) {
    console.log('installing nats-server from Debian packages');
    run('apt-get', ['update', '-qq']);
    run('apt-get', ['install', '-y', '-qq', 'nats-server']);
  } else {
    console.error('zooid needs nats-server: run `sudo apt-get install nats-server` (Debian/Ubuntu), then npm start again');
    process.exit(1);
  }
}
if (!existsSync(join(root, 'node_modules/.package-lock.json'))) run('npm', ['ci', '--no-audit', '--no-fund']);
run('npm', ['run', 'build', '--silent']);

const args = process.argv.slice(2);
const child = spawn(process.execPath, [join(root, 'bin/zooid.js'), 'up', ...args], { cwd: root, stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 1)));
