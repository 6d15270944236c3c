// netstackd's command line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_HOST, DEFAULT_PORT, UsageError, isLoopbackHost, parseListen, parseServiceArgs } from '../../src/config/args.ts';

test('defaults: 127.0.0.1:8470, info, no files, no token', () => {
  const o = parseServiceArgs([]);
  assert.equal(o.host, DEFAULT_HOST);
  assert.equal(o.port, DEFAULT_PORT);
  assert.equal(DEFAULT_HOST, '127.0.0.1');
  assert.equal(DEFAULT_PORT, 8470);
  assert.equal(o.logLevel, 'info');
  assert.equal(o.configFile, undefined);
  assert.equal(o.stateFile, undefined);
  assert.equal(o.token, undefined);
  assert.equal(o.help, false);
});

test('every option is read', () => {
  const o = parseServiceArgs([
    '--listen', '0.0.0.0:9000', '--config', 'c.yaml', '--state=s.json', '--token', 'sesame', '--log-level', 'debug',
    '--max-devices', '10', '--max-sockets', '0', '--max-ws-clients', '3', '--max-captures', '4',
    '--max-connections', '100', '--max-connections-per-address', '10', '--request-timeout-ms', '5000',
  ]);
  assert.deepEqual(o, {
    host: '0.0.0.0', port: 9000, configFile: 'c.yaml', stateFile: 's.json', token: 'sesame', logLevel: 'debug',
    maxDevices: 10, maxSockets: 0, maxWsClients: 3, maxCaptures: 4, maxConnections: 100, maxConnectionsPerAddress: 10,
    requestTimeoutMs: 5000, help: false,
  });
  assert.throws(() => parseServiceArgs(['--max-connections', '0']), /expected an integer >= 1/);
  assert.equal(parseServiceArgs(['-h']).help, true);
  assert.equal(parseServiceArgs(['--help']).help, true);
});

test('the token comes from NETSTACK_TOKEN unless --token is given', () => {
  assert.equal(parseServiceArgs([], { NETSTACK_TOKEN: 'env' }).token, 'env');
  assert.equal(parseServiceArgs(['--token', 'flag'], { NETSTACK_TOKEN: 'env' }).token, 'flag');
  assert.equal(parseServiceArgs([], { NETSTACK_TOKEN: '' }).token, undefined);
});

test('listen addresses: host:port, [v6]:port, port 0', () => {
  assert.deepEqual(parseListen('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
  assert.deepEqual(parseListen('[::1]:8470'), { host: '::1', port: 8470 });
  assert.deepEqual(parseListen('[::]:1'), { host: '::', port: 1 });
  assert.deepEqual(parseListen('localhost:65535'), { host: 'localhost', port: 65535 });
});

test('bad arguments are UsageErrors that say what is wrong', () => {
  const cases: [string[], RegExp][] = [
    [['--listen', '::1:8470'], /expected HOST:PORT \(write IPv6 addresses in brackets/],
    [['--listen', '127.0.0.1'], /expected HOST:PORT/],
    [['--listen', '127.0.0.1:70000'], /port must be within 0\.\.65535/],
    [['--listen', '[nothost]:80'], /not an IPv6 address/],
    [['--listen'], /argument missing/],
    [['--bogus'], /Unknown option '--bogus'/],
    [['extra'], /Unexpected argument 'extra'/],
    [['--log-level', 'loud'], /--log-level "loud": expected one of fatal, error/],
    [['--max-devices', '0'], /--max-devices "0": expected an integer >= 1/],
    [['--max-sockets', '-1'], /--max-sockets/],
    [['--max-ws-clients', '1.5'], /--max-ws-clients "1\.5"/],
    [['--token', ''], /--token: must not be empty/],
    [['--state', ''], /--state: must not be empty/],
  ];
  for (const [argv, why] of cases) {
    assert.throws(() => parseServiceArgs(argv), (err: unknown) => {
      assert.ok(err instanceof UsageError, `${argv.join(' ')}: ${String(err)}`);
      assert.match(err.message, why);
      assert.ok(!err.message.includes('\n'), 'one line');
      return true;
    });
  }
});

test('loopback hosts', () => {
  for (const h of ['127.0.0.1', '127.1.2.3', '::1', 'localhost', '::ffff:127.0.0.1']) assert.ok(isLoopbackHost(h), h);
  for (const h of ['0.0.0.0', '::', '10.0.0.1', 'example.org', '128.0.0.1']) assert.ok(!isLoopbackHost(h), h);
});
