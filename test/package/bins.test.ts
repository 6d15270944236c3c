// The bins run compiled JavaScript from dist/ (built by `npm ci` through
// `prepare`), not TypeScript through tsx, and netstackctl loads only the
// modules its command needs: `link show` loads no capture, send or pcap code.
// A module hook records every URL the process loads.

import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
let dir = '';

before(() => {
  if (!existsSync(path.join(root, 'dist/cli/main.js'))) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  dir = mkdtempSync(path.join(os.tmpdir(), `netstackd-bins-${process.pid}-`));
});
after(() => {
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

/** Runs a bin with a hook that appends each loaded URL to a file; returns the URLs and the output. */
function loaded(bin: string, args: string[]): { urls: string[]; stdout: string; stderr: string } {
  const log = path.join(dir, `${bin}-${args.join('_')}.log`);
  writeFileSync(path.join(dir, 'hooks.mjs'), `import { appendFileSync } from 'node:fs';
export async function load(url, context, next) { appendFileSync(${JSON.stringify(log)}, url + '\\n'); return next(url, context); }\n`);
  writeFileSync(path.join(dir, 'register.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(path.join(dir, 'hooks.mjs')).href)});\n`);
  const r = spawnSync(process.execPath, ['--import', pathToFileURL(path.join(dir, 'register.mjs')).href, path.join(root, 'bin', bin), ...args], {
    encoding: 'utf8',
    env: { ...process.env, NETSTACK_URL: 'http://127.0.0.1:1' },
  });
  const urls = existsSync(log) ? readFileSync(log, 'utf8').split('\n').filter((u) => u !== '') : [];
  return { urls, stdout: r.stdout, stderr: r.stderr };
}

test('netstackctl runs from dist/ without tsx, and link show loads no capture or send code', () => {
  const { urls, stdout, stderr } = loaded('netstackctl.js', ['link', 'show']);
  assert.match(stderr, /cannot reach netstackd/, 'it ran the command');
  void stdout;
  const ours = urls.filter((u) => u.startsWith(pathToFileURL(root).href) && !u.includes('/node_modules/'));
  assert.ok(ours.some((u) => u.endsWith('/dist/cli/commands/link.js')), 'the link command came from dist/');
  assert.deepEqual(ours.filter((u) => u.endsWith('.ts')), [], 'no TypeScript source is loaded');
  assert.ok(!urls.some((u) => u.includes('/node_modules/tsx/')), 'tsx is not loaded');
  for (const lazy of ['/dist/cli/commands/capture.js', '/dist/cli/commands/send.js', '/dist/wire/pcapng.js', '/dist/cli/capture/']) {
    assert.ok(!ours.some((u) => u.includes(lazy)), `${lazy} is not loaded by link show`);
  }
});

test('netstackd --help runs from dist/ without tsx', () => {
  const { urls } = loaded('netstackd.js', ['--help']);
  assert.ok(urls.some((u) => u.endsWith('/dist/main.js')));
  assert.ok(!urls.some((u) => u.includes('/node_modules/tsx/') || (u.endsWith('.ts') && !u.includes('/node_modules/'))));
});
