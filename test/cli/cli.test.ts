// netstackctl as a program: the installed launcher, where the server and the
// token come from, what an unreachable server looks like, help and version,
// and iproute2's exit statuses for the top-level mistakes.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { closedPort, ctl, startServer, type TestServer } from './harness.ts';

let srv: TestServer;
let locked: TestServer;

before(async () => {
  srv = await startServer();
  locked = await startServer({ token: 's3cret' });
});
after(async () => {
  await srv.close();
  await locked.close();
});

describe('the executable', () => {
  it('bin/netstackctl.js runs the CLI without --import flags (npx netstackctl)', async () => {
    const bin = fileURLToPath(new URL('../../bin/netstackctl.js', import.meta.url));
    const child = spawn(process.execPath, [bin, '-br', 'link', 'show', 'lo'], { env: { ...process.env, NETSTACK_URL: srv.url } });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    const [code] = await once(child, 'close');
    assert.equal(code, 0);
    assert.equal(out, 'lo               UNKNOWN        00:00:00:00:00:00 <LOOPBACK,UP,LOWER_UP> \n');
  });

  it('--version and help exit 0; no command prints the usage and exits 255', async () => {
    let r = await ctl(['--version']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^netstackctl, netstackd \d+\.\d+\.\d+\n$/);
    r = await ctl(['help']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: netstackctl \[ OPTIONS \] OBJECT/);
    r = await ctl(['link', '-h']);
    assert.equal(r.code, 0);
    assert.match(r.stdout, /^Usage: netstackctl link show/);
    r = await ctl([]);
    assert.equal(r.code, 255);
    assert.match(r.stderr, /^Usage: netstackctl/);
    assert.equal(r.stdout, '');
  });

  it('an unknown object or global option value is exit 255', async () => {
    let r = await ctl(['frobnicate'], { url: srv.url });
    assert.deepEqual([r.code, r.stderr], [255, 'Object "frobnicate" is unknown, try "netstackctl help".\n']);
    r = await ctl(['link', '--server'], { url: srv.url });
    assert.equal(r.code, 255);
    assert.match(r.stderr, /option "--server" needs a value/);
  });
});

describe('where the server is', () => {
  it('takes NETSTACK_URL, and --server (with or without a scheme) over it', async () => {
    const port = await closedPort();
    let r = await ctl(['link', 'show', 'lo'], { url: srv.url });
    assert.equal(r.code, 0, r.stderr);
    r = await ctl(['--server', srv.url, 'link', 'show', 'lo'], { url: `http://127.0.0.1:${port}` });
    assert.equal(r.code, 0, r.stderr);
    r = await ctl(['link', 'show', 'lo', `--server=${srv.url.replace('http://', '')}`]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^1: lo: /);
  });

  it('an unreachable server is one clear line and exit 1', async () => {
    const port = await closedPort();
    let r = await ctl(['link', 'show'], { url: `http://127.0.0.1:${port}` });
    assert.deepEqual([r.code, r.stderr, r.stdout], [1, `netstackctl: cannot reach netstackd at http://127.0.0.1:${port}: connection refused\n`, '']);
    r = await ctl(['capture', 'dev', 'lo', '-c', '1'], { url: `http://127.0.0.1:${port}` });
    assert.deepEqual([r.code, r.stderr], [1, `netstackctl: cannot reach netstackd at http://127.0.0.1:${port}: connection refused\n`]);
  });
});

describe('bearer token', () => {
  it('without the token the server\'s 401 is exit 1 with a hint', async () => {
    const r = await ctl(['link', 'show'], { url: locked.url });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /HTTP 401; give the token with --token or NETSTACK_TOKEN/);
  });

  it('--token and NETSTACK_TOKEN both authenticate, REST and WebSocket alike', async () => {
    let r = await ctl(['--token', 's3cret', 'link', 'show', 'lo'], { url: locked.url });
    assert.equal(r.code, 0, r.stderr);
    r = await ctl(['link', 'set', 'dev', 'lo', 'mtu', '65535'], { url: locked.url, env: { NETSTACK_TOKEN: 's3cret' } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(locked.stack.devices.get('lo')!.mtu, 65535);
    r = await ctl(['--token', 'wrong', 'capture', 'dev', 'lo', '-c', '1'], { url: locked.url });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /wrong bearer token/);
  });
});
