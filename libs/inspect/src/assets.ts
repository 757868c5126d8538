import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/**
 * The files the inspector page is made of, all served by the gateway from
 * this machine (no CDN): the page and its style, the compiled page scripts,
 * and elkjs's browser bundle from node_modules.
 */
export const inspectorAssets = {
  /** index.html, style.css */
  staticDir: join(here, '..', 'static'),
  /** app.js (dist/web) and the modules it imports (chart.js, values.js in dist) */
  scriptDir: here,
  elk: require.resolve('elkjs/lib/elk.bundled.js'),
};
