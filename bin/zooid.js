#!/usr/bin/env node
import { main } from '../libs/cli/dist/main.js';

// A finished command exits even if a supervisor pipe still holds the loop open.
main(process.argv.slice(2)).then(() => process.exit(process.exitCode ?? 0), (err) => {
  process.stderr.write(`zooid: ${err?.stack ?? err}\n`);
  process.exit(1);
});
