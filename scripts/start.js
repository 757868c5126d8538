#!/usr/bin/env node
// `npm start` on a fresh clone: install dependencies if they are missing,
// build, then run Zooid in the foreground. Uses only Node's built-ins, since
// nothing else is installed yet when it starts.
import { spawnSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};

if (!existsSync(`${root}/node_modules/.package-lock.json`)) run(npm, ['ci', '--no-audit', '--no-fund']);
run(npm, ['run', 'build', '--silent']);

const args = process.argv.slice(2);
const child = spawn(process.execPath, [`${root}/bin/zooid.js`, 'standalone', ...args], { cwd: root, stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 1)));
