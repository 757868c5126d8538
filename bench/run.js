#!/usr/bin/env node
// `npm run bench`: Zooid against Apache ZooKeeper on this machine. See --help.
import { main } from '../libs/bench/dist/main.js';

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`bench: ${err?.stack ?? err}\n`);
    process.exit(1);
  },
);
