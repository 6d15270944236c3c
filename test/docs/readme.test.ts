// The README's shell blocks (```sh) as a newcomer pastes them: against a
// netstackd started from this checkout (the compiled bin, on a free port),
// with this checkout's netstackctl on PATH, in an empty directory, run top to
// bottom twice (a second run must not fail on what the first one made).
// The address in the blocks (127.0.0.1:8470, localhost:8470) is rewritten to
// the test server's; netstackctl finds it through NETSTACK_URL.
//
// Blocks that install or start things (npm ci, npm start, npm test, docker)
// are not run here: SKIP names them, and a block that is neither run nor
// named fails the test, so a new block is never silently left out.

import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Blocks not run, by a word of their first line, and why. */
const SKIP: ReadonlyArray<[RegExp, string]> = [[/^npm ci && npm start/, 'installs and starts the service itself']];

function shellBlocks(markdown: string): string[] {
  const blocks: string[] = [];
  const re = /^```sh\n([\s\S]*?)^```$/gm;
  for (let m = re.exec(markdown); m !== null; m = re.exec(markdown)) blocks.push(m[1]!);
  return blocks;
}

const missing = ['tshark', 'jq', 'curl'].filter((cmd) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status !== 0);

let server: ChildProcess | null = null;
let base = '';
let dir = '';

before(async () => {
  if (!existsSync(path.join(root, 'dist/cli/main.js'))) execFileSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  dir = mkdtempSync(path.join(os.tmpdir(), `netstackd-readme-${process.pid}-`));
  // netstackctl on PATH as `npm link` would put it.
  mkdirSync(path.join(dir, 'bin'));
  symlinkSync(path.join(root, 'bin/netstackctl.js'), path.join(dir, 'bin/netstackctl'));
  mkdirSync(path.join(dir, 'work'));
  server = spawn(process.execPath, [path.join(root, 'bin/netstackd.js'), '--listen', '127.0.0.1:0'], { cwd: dir, stdio: ['ignore', 'pipe', 'inherit'] });
  base = await new Promise<string>((resolve, reject) => {
    let buf = '';
    server!.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const hit = /"address":"http:\/\/([^"]+)"/.exec(buf);
      if (hit) resolve(hit[1]!);
    });
    server!.once('exit', (code) => reject(new Error(`netstackd exited ${code} before listening`)));
  });
  server.stdout!.resume();
});

after(() => {
  server?.kill('SIGTERM');
  if (dir !== '') rmSync(dir, { recursive: true, force: true });
});

function run(block: string): { status: number | null; out: string } {
  const script = block.replace(/\b(?:127\.0\.0\.1|localhost):8470\b/g, base);
  const r = spawnSync('sh', ['-e', '-c', script], {
    cwd: path.join(dir, 'work'),
    env: { ...process.env, PATH: `${path.join(dir, 'bin')}:${process.env.PATH}`, NETSTACK_URL: `http://${base}` },
    encoding: 'utf8',
    // A block that hangs (a capture nobody feeds) fails instead of stalling the suite.
    timeout: 60_000,
  });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

test('the README has shell blocks, each either run here or named in SKIP', () => {
  const blocks = shellBlocks(readFileSync(path.join(root, 'README.md'), 'utf8'));
  assert.ok(blocks.length >= 3, `${blocks.length} sh blocks`);
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');
  assert.ok(!readme.includes('../shared'), 'no link outside the repository');
  // Every relative link names a file of the repository.
  for (const m of readme.matchAll(/\]\(([^)#\s]+)\)/g)) {
    const target = m[1]!;
    if (/^[a-z]+:/.test(target)) continue;
    assert.ok(existsSync(path.join(root, target)), `README links ${target}, which exists`);
  }
  assert.ok(existsSync(path.join(root, 'docs/architecture.md')));
});

test("the README's sh blocks run as pasted, twice, against a running service", { skip: missing.length > 0 ? `not installed: ${missing.join(', ')}` : false }, () => {
  const blocks = shellBlocks(readFileSync(path.join(root, 'README.md'), 'utf8')).filter((b) => !SKIP.some(([re]) => re.test(b)));
  for (const round of [1, 2]) {
    const outputs: string[] = [];
    for (const block of blocks) {
      const { status, out } = run(block);
      assert.equal(status, 0, `round ${round}, block:\n${block}\nexited ${status}:\n${out}`);
      outputs.push(out);
    }
    const all = outputs.join('\n');
    // What the blocks promise: the captured ARP request, in the CLI and in tshark.
    assert.match(outputs[0]!, /listening on veth1/);
    assert.match(outputs[0]!, /ARP \(0x0806\), length 42: Request who-has 192\.0\.2\.2 tell 192\.0\.2\.1/);
    assert.match(outputs[0]!, /1 packet captured, 0 dropped by socket/);
    assert.match(outputs[1]!, /Who has 192\.0\.2\.2\? Tell 192\.0\.2\.1/);
    assert.match(all, /netstack_network_transmit_packets_total\{device="veth0"\} 1/);
    // The bridge block: h0's address learned on p0 (bridge(8)'s line, no state word).
    assert.match(all, /^02:00:00:00:00:01 dev p0 master br0$/m);
    assert.doesNotMatch(all, /EEXIST|File exists|Cannot find|netstackctl: /, `round ${round}`);
  }
});
