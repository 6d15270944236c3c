// netstackctl monitor: the service's changes in ip monitor's layout, from
// the /v1/events stream, until Ctrl-C.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { until } from '../helpers/wait.ts';
import { createDevice, deleteDevice, setLink } from '../../src/stack/index.ts';
import { inetOf } from '../../src/inet/control.ts';
import { tcpOf } from '../../src/inet/tcp-glue.ts';
import { formatEvent } from '../../src/cli/commands/monitor.ts';
import { Ctl, ctl, startServer, type TestServer } from './harness.ts';

let srv: TestServer;
before(async () => {
  srv = await startServer({ token: 'mon-token' });
});
after(() => srv.close());

const lines = (s: string): string[] => s.split('\n').filter((l) => l !== '');

describe('netstackctl monitor', () => {
  it('prints link changes as ip monitor does, Deleted for a removal, until Ctrl-C', async () => {
    const c = new Ctl(['monitor', 'link'], { url: srv.url, env: { NETSTACK_TOKEN: 'mon-token' } });
    await until(() => srv.stack.events.listening, 'the monitor listening');
    await createDevice(srv.stack, { kind: 'dummy', name: 'mon0' });
    setLink(srv.stack, 'mon0', { mtu: 1400 });
    deleteDevice(srv.stack, 'mon0');
    await c.until((x) => lines(x.stdout).length >= 6, 'three events');
    c.child.kill('SIGINT');
    const r = await c.done();
    assert.equal(r.code, 0, r.stderr);
    const out = lines(r.stdout);
    assert.match(out[0]!, /^\d+: mon0: <BROADCAST,NOARP> mtu 1500 qdisc \S+ state DOWN /);
    assert.match(out[1]!, /^ {4}link\/ether [0-9a-f:]{17} brd ff:ff:ff:ff:ff:ff$/);
    assert.match(out[2]!, /^\d+: mon0: <.*> mtu 1400 /);
    assert.match(out[4]!, /^Deleted \d+: mon0: <.*> mtu 1400 /);
    assert.equal(out.length, 6);
  });

  it('refuses words it does not know, and a wrong token', async () => {
    const r = await ctl(['monitor', 'links'], { url: srv.url, env: { NETSTACK_TOKEN: 'mon-token' } });
    assert.notEqual(r.code, 0);
    const bad = await ctl(['monitor'], { url: srv.url, env: { NETSTACK_TOKEN: 'wrong' } });
    assert.notEqual(bad.code, 0, bad.stderr);
    assert.match(bad.stderr, /EACCES|token/i);
  });

  it('prints UDP and TCP sockets in ss columns: opened, each TCP state, Deleted when gone', async () => {
    const c = new Ctl(['monitor', 'socket'], { url: srv.url, env: { NETSTACK_TOKEN: 'mon-token' } });
    await until(() => srv.stack.events.listening, 'the monitor listening');
    const inet = inetOf(srv.stack)!;
    const tcp = tcpOf(inet)!;
    const u = inet.udpOpen({ bind: '127.0.0.1:0' });
    const port = Number(u.describe().local.split(':')[1]);
    u.close();
    const l = await tcp.open({ bind: '127.0.0.1:7070', listen: 1, service: 'echo' });
    const conn = await tcp.open({ connect: '127.0.0.1:7070' });
    tcp.close(conn, true);
    tcp.close(l);
    // Four sockets gone: the UDP one, the connection, the echo child (reset), the listener.
    await c.until((x) => lines(x.stdout).filter((line) => line.startsWith('Deleted ')).length >= 4, 'the events');
    c.child.kill('SIGINT');
    const r = await c.done();
    assert.equal(r.code, 0, r.stderr);
    const out = lines(r.stdout);
    assert.deepEqual(out.slice(0, 3), [
      `socket ${u.id}: udp UNCONN 127.0.0.1:${port} 0.0.0.0:*`,
      `Deleted socket ${u.id}: udp UNCONN 127.0.0.1:${port} 0.0.0.0:*`,
      `socket ${l.id}: tcp LISTEN 127.0.0.1:7070 0.0.0.0:* service echo`,
    ]);
    const cl = conn.describe().local;
    assert.ok(out.includes(`socket ${conn.id}: tcp SYN-SENT ${cl} 127.0.0.1:7070`), out.join('\n'));
    assert.ok(out.includes(`socket ${conn.id}: tcp ESTAB ${cl} 127.0.0.1:7070`), out.join('\n'));
    assert.ok(out.includes(`Deleted socket ${conn.id}: tcp UNCONN ${cl} 127.0.0.1:7070`), out.join('\n'));
    assert.ok(out.some((x) => new RegExp(`^socket \\d+: tcp ESTAB 127\\.0\\.0\\.1:7070 ${cl.replace(/\./g, '\\.')} service echo$`).test(x)), out.join('\n'));
    assert.ok(out.includes(`Deleted socket ${l.id}: tcp UNCONN 127.0.0.1:7070 0.0.0.0:* service echo`), out.join('\n'));
  });

  it('labels and prints sockets', () => {
    const line = formatEvent({ type: 'socket', action: 'del', object: { id: 7, device: 'veth0', protocol: 'all', owner: 'ws 127.0.0.1:1' } }, new Map(), true);
    assert.equal(line, '[SOCKET]Deleted socket 7: packet dev veth0 protocol all owner "ws 127.0.0.1:1"\n');
  });
});
