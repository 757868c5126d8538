#!/usr/bin/env node
// `npm run soak`: Zooid under load, abuse and faults for a long while. See --help.
import { soakMain } from '../libs/bench/dist/soak.js';

soakMain(process.argv.slice(2)).then(
  (converged) => process.exit(converged ? 0 : 1),
  (err) => {
    process.stderr.write(`soak: ${err?.stack ?? err}\n`);
    process.exit(2);
  },
);
