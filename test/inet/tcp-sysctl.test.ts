// TCP's sysctls live in the stack's one table: registered when TCP attaches,
// read by TCP from there (no copy of its own), and a change applies to the
// sockets made after it, as in Linux: the congestion control and tcp_rmem's
// default of new connections, the local port range of new connects.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NetError } from '../../src/errno.ts';
import { TCP_SYSCTLS } from '../../src/inet/tcp/sysctl.ts';
import { runFor } from '../helpers/inet.ts';
import { tcpHosts } from '../helpers/tcp-hosts.ts';

test('every net.ipv4.tcp_* sysctl is in the stack\'s table with Linux\'s default, and TCP reads that table', () => {
  const { a, b, ta } = tcpHosts();
  const snap = a.stack.sysctl.snapshot();
  for (const [name, spec] of Object.entries(TCP_SYSCTLS)) assert.deepEqual(snap[name], spec.default, name);
  assert.deepEqual(snap['net.ipv4.tcp_rmem'], [4096, 131072, 6291456]);
  assert.deepEqual(snap['net.ipv4.tcp_wmem'], [4096, 16384, 4194304]);
  assert.equal(snap['net.ipv4.tcp_congestion_control'], 'cubic');
  assert.deepEqual(snap['net.ipv4.ip_local_port_range'], [32768, 60999]);
  assert.equal(ta.tcpSysctl.table, a.stack.sysctl, 'one table, not a copy');
  a.stack.sysctl.set({ 'net.ipv4.tcp_fin_timeout': 5, 'net.ipv4.tcp_wmem': '4096 32768 4194304' });
  assert.equal(ta.tcpSysctl.get('net.ipv4.tcp_fin_timeout'), 5);
  assert.equal(ta.tcpSysctl.get('net.ipv4.tcp_wmem_default'), 32768);
  a.stack.close();
  b.stack.close();
});

test('tcp_congestion_control and tcp_rmem apply to connections made after the change; older ones keep theirs', async () => {
  const { clock, a, b, ta, tb } = tcpHosts();
  await tb.open({ bind: '0.0.0.0:7', listen: 16, service: 'echo' });
  const first = await runFor(clock, ta.open({ connect: '192.0.2.2:7' }));
  assert.equal(ta.describe(first).tcp_info?.congestion_control, 'cubic');
  assert.equal(first.sk.rcvbuf, 131072);

  a.stack.sysctl.set({ 'net.ipv4.tcp_congestion_control': 'reno', 'net.ipv4.tcp_rmem': [4096, 65536, 6291456] });
  const second = await runFor(clock, ta.open({ connect: '192.0.2.2:7' }));
  assert.equal(ta.describe(second).tcp_info?.congestion_control, 'reno');
  assert.equal(second.sk.rcvbuf, 65536);
  assert.equal(ta.describe(first).tcp_info?.congestion_control, 'cubic', 'a connection keeps the congestion control it was made with');
  assert.equal(first.sk.rcvbuf, 131072);
  // The other stack's table is its own.
  const served = tb.list().filter((e) => tb.describe(e).state === 'ESTAB');
  assert.equal(served.length, 2);
  for (const e of served) assert.equal(tb.describe(e).tcp_info?.congestion_control, 'cubic');

  // Both still work: bytes go round the echo service.
  for (const c of [first, second]) {
    void c.sk.write(Buffer.from('ping'));
    assert.deepEqual(await runFor(clock, c.sk.read(64)), Buffer.from('ping'));
  }
  a.stack.close();
  b.stack.close();
});

test('ip_local_port_range is the stack\'s, shared by UDP and TCP: a range of one port gives that port, then EADDRNOTAVAIL', async () => {
  const { clock, a, b, ta, tb } = tcpHosts();
  await tb.open({ bind: '0.0.0.0:9', listen: 16, service: 'discard' });
  a.stack.sysctl.set({ 'net.ipv4.ip_local_port_range': '40000 40000' });
  const c = await runFor(clock, ta.open({ connect: '192.0.2.2:9' }));
  assert.equal(ta.describe(c).local, '192.0.2.1:40000');
  await assert.rejects(runFor(clock, ta.open({ connect: '192.0.2.2:9' })), (e: unknown) => e instanceof NetError && e.errno === 'EADDRNOTAVAIL');
  // The older name of one end still writes it.
  a.stack.sysctl.set({ 'net.ipv4.ip_local_port_range_max': 40001 });
  assert.deepEqual(a.stack.sysctl.getVector('net.ipv4.ip_local_port_range'), [40000, 40001]);
  const d = await runFor(clock, ta.open({ connect: '192.0.2.2:9' }));
  assert.equal(ta.describe(d).local, '192.0.2.1:40001');
  a.stack.close();
  b.stack.close();
});
