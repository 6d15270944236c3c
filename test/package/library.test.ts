// The library entry point as a user gets it: a project whose node_modules
// holds netstackd (a symlink to this checkout, as `npm link` makes) imports
// `netstackd` by name. Plain node runs the README's example from dist/ (no
// tsx), and tsc type-checks a TypeScript consumer against the shipped .d.ts.

import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let dir = '';

before(() => {
  // `npm test` builds first; a lone run of this file builds if dist/ is missing.
  if (!existsSync(path.join(root, 'dist/index.js'))) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  dir = mkdtempSync(path.join(os.tmpdir(), `netstackd-lib-${process.pid}-`));
  mkdirSync(path.join(dir, 'node_modules'));
  symlinkSync(root, path.join(dir, 'node_modules/netstackd'), 'dir');
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
});

after(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

test('examples/library.mjs runs with plain node, importing netstackd by name', () => {
  copyFileSync(path.join(root, 'examples/library.mjs'), path.join(dir, 'library.mjs'));
  const out = execFileSync(process.execPath, ['library.mjs'], { cwd: dir, encoding: 'utf8' });
  const [first, second] = out.trim().split('\n');
  assert.equal(first, 'veth1 42 02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42: Request who-has 192.0.2.2 tell 192.0.2.1');
  assert.equal(second, 'drops: 0');
});

test('importing the package loads no HTTP, WebSocket or metrics library', () => {
  const script = `
    import { createRequire } from 'node:module';
    const lib = await import('netstackd');
    const loaded = Object.keys(createRequire(import.meta.url).cache);
    console.log(JSON.stringify({ names: Object.keys(lib).sort(), loaded }));
  `;
  writeFileSync(path.join(dir, 'probe.mjs'), script);
  const out = JSON.parse(execFileSync(process.execPath, ['probe.mjs'], { cwd: dir, encoding: 'utf8' })) as { names: string[]; loaded: string[] };
  for (const name of ['NetStack', 'createDevice', 'deleteDevice', 'setLink', 'NetError', 'describeFrame']) assert.ok(out.names.includes(name), name);
  for (const heavy of ['fastify', 'ws', 'zod', 'prom-client', 'pino']) {
    assert.ok(!out.loaded.some((f) => f.includes(`/node_modules/${heavy}/`)), `${heavy} is not loaded`);
  }
});

test('a TypeScript consumer type-checks against the shipped declarations', () => {
  writeFileSync(
    path.join(dir, 'consumer.ts'),
    `import { NetStack, createDevice, type NetDevice } from 'netstackd';
const stack = new NetStack();
const ends: NetDevice[] = await createDevice(stack, { kind: 'veth', name: 'a0', peer: 'a1', up: true });
const mtu: number = ends[0]!.mtu;
// @ts-expect-error: kind is checked against the device kinds
await createDevice(stack, { kind: 'nosuchkind' });
export { mtu };
`,
  );
  writeFileSync(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, types: ['node'], typeRoots: [path.join(root, 'node_modules/@types')], skipLibCheck: true, preserveSymlinks: false },
      files: ['consumer.ts'],
    }),
  );
  const tsc = path.join(root, 'node_modules/typescript/bin/tsc');
  try {
    execFileSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: dir, encoding: 'utf8' });
  } catch (err) {
    const e = err as { stdout?: string };
    assert.fail(`tsc found errors:\n${e.stdout ?? String(err)}`);
  }
});
