// Makes the published shape of @zooid/client after `tsc`: the JavaScript of
// the package and of the @zooid/protocol code it uses, bundled into
// dist/bundle (one shared chunk, so `.` and `./recipes` share classes and
// `instanceof` works across them), and the declarations made
// self-contained by shipping protocol's .d.ts files in dist/protocol and
// pointing the imports there. The client imports `@zooid/protocol/wire`, not
// the bus messages, so msgpackr stays out of the bundle. The tarball then has no dependencies.
import { build } from 'esbuild';
import { cpSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');

rmSync(join(dist, 'bundle'), { recursive: true, force: true });
await build({
  entryPoints: { index: join(root, 'src/index.ts'), recipes: join(root, 'src/recipes/index.ts') },
  outdir: join(dist, 'bundle'),
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: 'shared-[hash]',
  logLevel: 'warning',
});

const protocolTypes = join(dist, 'protocol');
rmSync(protocolTypes, { recursive: true, force: true });
cpSync(join(root, '../protocol/dist'), protocolTypes, { recursive: true, filter: (f) => !/\.(js|map)$/.test(f) });

function rewrite(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, entry.name);
    if (entry.isDirectory()) {
      if (p !== protocolTypes && p !== join(dist, 'bundle')) rewrite(p);
    } else if (entry.name.endsWith('.d.ts')) {
      const spec = relative(dir, join(protocolTypes, 'wire.js'));
      const text = readFileSync(p, 'utf8');
      const next = text.replaceAll("'@zooid/protocol/wire'", `'${spec.startsWith('.') ? spec : './' + spec}'`);
      if (next !== text) writeFileSync(p, next);
    }
  }
}
rewrite(dist);
