#!/usr/bin/env node
import { main } from '../libs/cli/dist/main.js';

main(process.argv.slice(2)).catch((err) => {
  process.stderr.write(`zooid: ${err?.stack ?? err}\n`);
  process.exit(1);
});
