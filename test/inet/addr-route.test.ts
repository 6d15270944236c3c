import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/clock.ts';
import { NetError } from '../../src/errno.ts';
import { NetStack, createDevice, setLink, deleteDevice } from '../../src/stack/index.ts';
import { attachInet, inetInternals, inetOf } from '../../src/inet/control.ts';
import { ETH_P_ARP } from '../../src/wire/eth.ts';
import { parseArp } from '../../src/wire/arp.ts';

const errno = (name: string) => (e: unknown) => e instanceof NetError && e.errno === name;

async function setup() {
  const stack = new NetStack({ clock: new VirtualClock() });
  const inet = attachInet(stack);
  await createDevice(stack, { kind: 'veth', name: 'v0', peer: 'v1', up: true });
  return { stack, inet };
}

test('attach: once per stack; lo has 127.0.0.1/8 as a local route, not in the main table', async () => {
  const { stack, inet } = await setup();
  assert.equal(inetOf(stack), inet);
  assert.throws(() => attachInet(stack), errno('EEXIST'));
  const lo = inet.addrList().find((d) => d.ifname === 'lo')!;
  assert.deepEqual(lo.addr_info, [{ family: 'inet', local: '127.0.0.1', prefixlen: 8, broadcast: '127.255.255.255', scope: 'host', label: 'lo' }]);
  assert.deepEqual(inet.routeList(), []);
  assert.equal(inet.routeGet('127.0.0.53').dev, 'lo');
  assert.equal(inet.routeGet('127.0.0.53').type, 'local');
  assert.equal(stack.sysctl.get('net.ipv4.ip_default_ttl'), 64);
  stack.close();
});

test('addresses: add makes the connected route, secondaries, labels, errors, delete takes routes along', async () => {
  const { stack, inet } = await setup();
  const v = inet.addrAdd('v0', '198.51.100.1/24');
  assert.deepEqual(v, { family: 'inet', local: '198.51.100.1', prefixlen: 24, broadcast: '198.51.100.255', scope: 'global', label: 'v0' });
  assert.deepEqual(inet.routeList(), [{ dst: '198.51.100.0/24', dev: 'v0', protocol: 'kernel', scope: 'link', prefsrc: '198.51.100.1', flags: [] }]);
  const sec = inet.addrAdd('v0', '198.51.100.2/24', { label: 'v0:1' });
  assert.equal(sec.secondary, true);
  assert.equal(sec.label, 'v0:1');
  assert.equal(inet.routeList().length, 1, 'a secondary adds no connected route');
  inet.addrAdd('v0', '192.0.2.1/32');
  assert.equal(inet.routeList().length, 1, 'a /32 has no subnet to route');
  assert.throws(() => inet.addrAdd('v0', '198.51.100.1/24'), errno('EEXIST'));
  assert.throws(() => inet.addrAdd('nope', '198.51.100.9/24'), errno('ENODEV'));
  assert.throws(() => inet.addrAdd('v0', '198.51.100.300/24'), errno('EINVAL'));
  assert.throws(() => inet.addrAdd('v0', '198.51.100.9/33'), errno('EINVAL'));
  assert.throws(() => inet.addrAdd('v0', '224.0.0.1/24'), errno('EINVAL'));
  assert.throws(() => inet.addrAdd('v0', '198.51.100.9/24', { label: 'other' }), errno('EINVAL'));
  const before = JSON.stringify(inet.addrList());
  assert.throws(() => inet.addrDel('v0', '203.0.113.1'), errno('EADDRNOTAVAIL'));
  assert.throws(() => inet.addrDel('v0', '198.51.100.1/25'), errno('EADDRNOTAVAIL'));
  assert.equal(JSON.stringify(inet.addrList()), before, 'a failed call changes nothing');
  inet.routeAdd({ dst: '203.0.113.0/24', gateway: '198.51.100.254', src: '198.51.100.1' });
  // Deleting the primary takes its secondary (no promote_secondaries) and routes from its source.
  inet.addrDel('v0', '198.51.100.1/24');
  const v0 = inet.addrList().find((d) => d.ifname === 'v0')!;
  assert.deepEqual(v0.addr_info.map((a) => a.local), ['192.0.2.1']);
  assert.deepEqual(inet.routeList(), []);
  assert.equal(inet.routeGet('192.0.2.1').type, 'local');
  stack.close();
});

test('routes: gateways must be connected, duplicates refused, delete by match, route get picks source and device', async () => {
  const { stack, inet } = await setup();
  inet.addrAdd('v0', '198.51.100.1/24');
  assert.throws(() => inet.routeAdd({ dst: '203.0.113.0/24', gateway: '192.0.2.1' }), errno('ENETUNREACH'));
  assert.throws(() => inet.routeAdd({ dst: '203.0.113.1/24', gateway: '198.51.100.2' }), errno('EINVAL'), 'host bits set');
  assert.throws(() => inet.routeAdd({ dst: '203.0.113.0/24' }), errno('EINVAL'), 'no device, no gateway');
  assert.throws(() => inet.routeAdd({ dst: '203.0.113.0/24', dev: 'nope' }), errno('ENODEV'));
  assert.throws(() => inet.routeAdd({ dst: '203.0.113.0/24', dev: 'v0', src: '192.0.2.77' }), errno('EINVAL'));
  const r = inet.routeAdd({ dst: 'default', gateway: '198.51.100.254' });
  assert.deepEqual(r, { dst: 'default', gateway: '198.51.100.254', dev: 'v0', protocol: 'static', scope: 'global', flags: [] });
  assert.throws(() => inet.routeAdd({ dst: 'default', gateway: '198.51.100.253' }), errno('EEXIST'));
  inet.routeAdd({ dst: 'default', gateway: '198.51.100.253', metric: 100 });
  inet.routeAdd({ dst: '203.0.113.0/25', dev: 'v0', metric: 5 });
  assert.deepEqual(inet.routeList().map((x) => `${x.dst} ${x.gateway ?? ''} ${x.metric ?? 0}`), [
    'default 198.51.100.254 0',
    'default 198.51.100.253 100',
    '198.51.100.0/24  0',
    '203.0.113.0/25  5',
  ]);
  assert.deepEqual(inet.routeGet('203.0.113.7'), { type: 'unicast', dst: '203.0.113.7', dev: 'v0', protocol: 'static', scope: 'link', prefsrc: '198.51.100.1', metric: 5, flags: [] });
  assert.equal(inet.routeGet('203.0.113.200').gateway, '198.51.100.254');
  inet.routeDel({ dst: 'default', gateway: '198.51.100.254' });
  assert.equal(inet.routeGet('203.0.113.200').gateway, '198.51.100.253', 'the next metric takes over');
  assert.throws(() => inet.routeDel({ dst: 'default', gateway: '198.51.100.254' }), errno('ESRCH'));
  inet.routeDel({ dst: 'default' });
  assert.throws(() => inet.routeGet('8.8.8.8'), errno('ENETUNREACH'));
  assert.throws(() => inet.routeGet('not-an-address'), errno('EINVAL'));
  stack.close();
});

test('link down removes the routes through it, up brings the kernel routes back; carrier loss marks linkdown', async () => {
  const { stack, inet } = await setup();
  inet.addrAdd('v0', '198.51.100.1/24');
  inet.routeAdd({ dst: '203.0.113.0/24', gateway: '198.51.100.254' });
  setLink(stack, 'v1', { up: false });
  assert.deepEqual(inet.routeList().map((r) => r.flags), [['linkdown'], ['linkdown']], 'no carrier: kept, marked linkdown');
  setLink(stack, 'v1', { up: true });
  setLink(stack, 'v0', { up: false });
  assert.deepEqual(inet.routeList(), [], 'down: every route through v0 is gone (fib_sync_down_dev)');
  assert.throws(() => inet.routeGet('198.51.100.2'), errno('ENETUNREACH'));
  assert.equal(inet.addrList().find((d) => d.ifname === 'v0')!.addr_info.length, 1, 'the address stays');
  setLink(stack, 'v0', { up: true });
  assert.deepEqual(inet.routeList().map((r) => r.dst), ['198.51.100.0/24'], 'up: the connected route is back, the static one is not');
  assert.equal(inet.routeGet('198.51.100.1').type, 'local');
  setLink(stack, 'v0', { up: false });
  setLink(stack, 'v0', { name: 'lan0' });
  assert.equal(inet.addrList().find((d) => d.ifname === 'lan0')!.addr_info[0]!.label, 'lan0', 'labels follow a rename');
  deleteDevice(stack, 'lan0');
  assert.equal(inet.addrList().find((d) => d.ifname === 'lan0'), undefined);
  stack.close();
});

test('gratuitous ARP on address add and on link up', async () => {
  const { stack, inet } = await setup();
  const sock = stack.openPacketSocket({ dev: stack.getDevice('v1'), protocol: ETH_P_ARP, direction: 'in' });
  inet.addrAdd('v0', '198.51.100.1/24');
  setLink(stack, 'v0', { up: false });
  setLink(stack, 'v0', { up: true });
  stack.drain();
  const got = [];
  for (let f = sock.recvFrame(); f !== null; f = sock.recvFrame()) got.push(parseArp(f.data, 14)!);
  assert.equal(got.length, 2);
  for (const a of got) {
    assert.equal(a.senderIp, '198.51.100.1');
    assert.equal(a.targetIp, '198.51.100.1');
  }
  sock.close();
  stack.close();
});

test('snapshot and restore: addresses, static routes, permanent neighbours, service sockets', async () => {
  const { stack, inet } = await setup();
  inet.addrAdd('v0', '198.51.100.1/24', { label: 'v0:lan' });
  inet.routeAdd({ dst: '203.0.113.0/24', gateway: '198.51.100.254', metric: 7 });
  inet.neighAdd({ dst: '198.51.100.254', dev: 'v0', lladdr: '02:00:5e:00:53:fe' });
  inet.udpOpen({ bind: '0.0.0.0:7', service: 'echo' });
  const snap = inet.snapshot();
  assert.deepEqual(snap, {
    addresses: [{ ifname: 'v0', cidr: '198.51.100.1/24', label: 'v0:lan' }],
    routes: [{ dst: '203.0.113.0/24', dev: 'v0', gateway: '198.51.100.254', metric: 7 }],
    neighbours: [{ dst: '198.51.100.254', dev: 'v0', lladdr: '02:00:5e:00:53:fe' }],
    sockets: [{ bind: '0.0.0.0:7', service: 'echo' }],
  });
  stack.close();
  const s2 = new NetStack({ clock: new VirtualClock() });
  const i2 = attachInet(s2);
  await createDevice(s2, { kind: 'veth', name: 'v0', peer: 'v1', up: true });
  i2.restore(JSON.parse(JSON.stringify(snap)));
  assert.deepEqual(i2.snapshot(), snap);
  i2.restore(snap);
  assert.deepEqual(i2.snapshot().addresses, snap.addresses, 'restoring twice changes nothing');
  s2.close();
});

test('events: address, route and neighbour changes are told as ip monitor would print them', async () => {
  const clock = new VirtualClock();
  const stack = new NetStack({ clock });
  attachInet(stack);
  const inet = inetInternals(stack)!;
  await createDevice(stack, { kind: 'veth', name: 'v0', peer: 'v1', up: true });
  // Down, so v1 does not hear v0's gratuitous ARP and learn 198.51.100.1: the
  // events are the ones asked for.
  setLink(stack, 'v1', { up: false });
  const seen: string[] = [];
  const off = inet.subscribe((e) => seen.push(`${e.type} ${e.action} ${'local' in e.object ? e.object.local : e.object.dst}${e.type === 'neigh' ? ` ${e.object.state.join(',')}` : ''}`));
  inet.addrAdd('v0', '198.51.100.1/24');
  inet.routeAdd({ dst: '203.0.113.0/24', gateway: '198.51.100.254' });
  inet.neighAdd({ dst: '198.51.100.254', dev: 'v0', lladdr: '02:00:5e:00:53:fe' });
  inet.routeDel({ dst: '203.0.113.0/24' });
  inet.addrDel('v0', '198.51.100.1');
  inet.neighDel({ dst: '198.51.100.254', dev: 'v0' });
  assert.deepEqual(seen, [
    'addr new 198.51.100.1',
    'route new 198.51.100.0/24',
    'route new 203.0.113.0/24',
    'neigh new 198.51.100.254 PERMANENT',
    'route del 203.0.113.0/24',
    'route del 198.51.100.0/24',
    'addr del 198.51.100.1',
    'neigh del 198.51.100.254 PERMANENT',
  ]);
  off();
  inet.addrAdd('v0', '198.51.100.1/24');
  assert.equal(seen.length, 8, 'an unsubscribed listener hears nothing');
  stack.close();
});
