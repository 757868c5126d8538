/**
 * The published shape of @zooid/client: `npm pack` of the built package,
 * installed offline from the tarball alone into an empty project, imports
 * as ESM (`.` and `./recipes`) and type-checks against its own
 * declarations. No network: the tarball has no dependencies to fetch.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, expect, it } from 'vitest';

const pkgDir = join(dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = join(pkgDir, '../..');
const work = mkdtempSync(join(tmpdir(), 'client-pack-'));

afterAll(() => rmSync(work, { recursive: true, force: true }));

it('packs, installs offline into an empty project, imports and type-checks', () => {
  const packed = JSON.parse(execFileSync('npm', ['pack', '--json', '--pack-destination', work], { cwd: pkgDir, encoding: 'utf8' })) as {
    filename: string;
    files: { path: string }[];
  }[];
  const files = packed[0]!.files.map((f) => f.path);
  expect(files).toContain('dist/bundle/index.js');
  expect(files).toContain('dist/recipes/index.d.ts');
  expect(files.filter((f) => f.endsWith('.js') && !f.startsWith('dist/bundle/'))).toEqual([]);

  const app = join(work, 'app');
  execFileSync('mkdir', ['-p', app]);
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', type: 'module', private: true }));
  execFileSync('npm', ['install', '--offline', '--no-audit', '--no-fund', join(work, packed[0]!.filename)], { cwd: app, encoding: 'utf8' });
  expect(readdirSync(join(app, 'node_modules')).filter((d) => !d.startsWith('.'))).toEqual(['@zooid']);

  writeFileSync(
    join(app, 'main.ts'),
    [
      "import { ZooKeeperClient, NoNodeError, type WatchedEvent } from '@zooid/client';",
      "import { Mutex, LeaderLatch, SharedCounter, Queue, GroupMembership, Barrier, Semaphore, ReadWriteLock, LeaderElection, DoubleBarrier, TreeCache } from '@zooid/client/recipes';",
      'const zk: ZooKeeperClient = new ZooKeeperClient("127.0.0.1:1");',
      'const recipes = [new Mutex(zk, "/l"), new LeaderLatch(zk, "/e"), new SharedCounter(zk, "/c"), new Queue(zk, "/q"), new GroupMembership(zk, "/g"), new Barrier(zk, "/b"), new Semaphore(zk, "/s", 2), new ReadWriteLock(zk, "/rw"), new LeaderElection(zk, "/le", async () => {}), new DoubleBarrier(zk, "/d", 2, "m"), new TreeCache(zk, "/t")];',
      'const e: WatchedEvent | undefined = undefined;',
      'console.log(JSON.stringify({ client: typeof ZooKeeperClient, err: new NoNodeError("/x").code, recipes: recipes.map((r) => r.constructor.name), e }));',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        skipLibCheck: false,
        outDir: 'out',
        types: ['node'],
        typeRoots: [join(repoRoot, 'node_modules/@types')],
      },
      files: ['main.ts'],
    }),
  );
  execFileSync(process.execPath, [join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.json'], { cwd: app, encoding: 'utf8' });
  const out = JSON.parse(execFileSync(process.execPath, [join(app, 'out/main.js')], { cwd: app, encoding: 'utf8' }));
  expect(out).toEqual({ client: 'function', err: 'NoNode', recipes: ['Mutex', 'LeaderLatch', 'SharedCounter', 'Queue', 'GroupMembership', 'Barrier', 'Semaphore', 'ReadWriteLock', 'LeaderElection', 'DoubleBarrier', 'TreeCache'] });
});
