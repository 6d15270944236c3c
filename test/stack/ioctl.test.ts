import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ARPHRD, IFF } from '../../src/dev/flags.ts';
import { createDevice, devIoctl, IOCTL_NUMBERS, IOCTL_REQUESTS, NetStack, type IoctlRequest } from '../../src/stack/index.ts';
import type { NetDevice } from '../../src/dev/netdevice.ts';
import type { NetdevEvent } from '../../src/dev/notifier.ts';
import { throwsErrno } from '../helpers/errors.ts';

async function setup(): Promise<{ stack: NetStack; d: NetDevice; v: NetDevice; events: NetdevEvent[] }> {
  const stack = new NetStack();
  const [d] = await createDevice(stack, { kind: 'dummy', name: 'dum0', address: '02:00:00:00:00:01' });
  const [v] = await createDevice(stack, { kind: 'veth', name: 'v0', peer: 'v1', up: true });
  const events: NetdevEvent[] = [];
  stack.notifier.subscribe((e) => events.push(e));
  return { stack, d: d!, v: v!, events };
}

test('the request table matches linux/sockios.h', () => {
  assert.deepEqual([...IOCTL_REQUESTS].sort(), Object.keys(IOCTL_NUMBERS).sort());
  const want: Record<IoctlRequest, number> = {
    SIOCGIFFLAGS: 0x8913, SIOCSIFFLAGS: 0x8914, SIOCGIFMTU: 0x8921, SIOCSIFMTU: 0x8922, SIOCSIFNAME: 0x8923,
    SIOCSIFHWADDR: 0x8924, SIOCGIFHWADDR: 0x8927, SIOCADDMULTI: 0x8931, SIOCDELMULTI: 0x8932, SIOCGIFINDEX: 0x8933,
    SIOCGIFTXQLEN: 0x8942, SIOCSIFTXQLEN: 0x8943, SIOCGIFMAP: 0x8970, SIOCSIFMAP: 0x8971,
  };
  assert.deepEqual(IOCTL_NUMBERS, want);
});

test('every request on a missing device is ENODEV', async () => {
  const { stack } = await setup();
  for (const request of IOCTL_REQUESTS) throwsErrno(() => devIoctl(stack, 'nope0', { request }), 'ENODEV');
  stack.close();
});

test('every setter without its field is EINVAL and changes nothing', async () => {
  const { stack, d, events } = await setup();
  for (const request of ['SIOCSIFFLAGS', 'SIOCSIFMTU', 'SIOCSIFHWADDR', 'SIOCADDMULTI', 'SIOCDELMULTI', 'SIOCSIFTXQLEN', 'SIOCSIFNAME', 'SIOCSIFMAP'] as const) {
    throwsErrno(() => devIoctl(stack, d.name, { request }), 'EINVAL');
  }
  assert.deepEqual(events, []);
  stack.close();
});

test('SIOCGIFFLAGS / SIOCSIFFLAGS', async () => {
  const { stack, d } = await setup();
  const g = devIoctl(stack, 'dum0', { request: 'SIOCGIFFLAGS' });
  assert.equal(g.ifr_name, 'dum0');
  assert.equal(g.ifr_flags, IFF.BROADCAST | IFF.NOARP);
  assert.deepEqual(g.flags, ['BROADCAST', 'NOARP']);
  const s = devIoctl(stack, 'dum0', { request: 'SIOCSIFFLAGS', ifr_flags: g.ifr_flags! | IFF.UP });
  assert.ok(d.isUp());
  assert.deepEqual(s.flags, ['BROADCAST', 'NOARP', 'UP', 'LOWER_UP']);
  throwsErrno(() => devIoctl(stack, 'dum0', { request: 'SIOCSIFFLAGS', ifr_flags: 0x100000 }), 'EINVAL');
  stack.close();
});

test('SIOCGIFMTU / SIOCSIFMTU: within min..max, else EINVAL', async () => {
  const { stack, d, events } = await setup();
  assert.equal(devIoctl(stack, 'dum0', { request: 'SIOCGIFMTU' }).ifr_mtu, 1500);
  assert.equal(devIoctl(stack, 'dum0', { request: 'SIOCSIFMTU', ifr_mtu: 9000 }).ifr_mtu, 9000);
  assert.deepEqual(events, ['CHANGEMTU']);
  for (const bad of [67, 65536, 1500.5, -1]) throwsErrno(() => devIoctl(stack, 'dum0', { request: 'SIOCSIFMTU', ifr_mtu: bad }), 'EINVAL');
  assert.equal(d.mtu, 9000);
  assert.equal(devIoctl(stack, 'dum0', { request: 'SIOCSIFMTU', ifr_mtu: 68 }).ifr_mtu, 68);
  assert.equal(devIoctl(stack, 'lo', { request: 'SIOCSIFMTU', ifr_mtu: 65536 }).ifr_mtu, 65536);
  stack.close();
});

test('SIOCGIFHWADDR / SIOCSIFHWADDR: sa_family must match, multicast is EADDRNOTAVAIL, lo has none to set', async () => {
  const { stack, d, events } = await setup();
  assert.deepEqual(devIoctl(stack, 'dum0', { request: 'SIOCGIFHWADDR' }).ifr_hwaddr, { sa_family: ARPHRD.ETHER, sa_data: '02:00:00:00:00:01' });
  const out = devIoctl(stack, 'dum0', { request: 'SIOCSIFHWADDR', ifr_hwaddr: { sa_family: ARPHRD.ETHER, sa_data: '02:AA:bb:cc:dd:ee' } });
  assert.deepEqual(out.ifr_hwaddr, { sa_family: 1, sa_data: '02:aa:bb:cc:dd:ee' });
  assert.deepEqual(events, ['CHANGEADDR']);
  throwsErrno(() => devIoctl(stack, 'dum0', { request: 'SIOCSIFHWADDR', ifr_hwaddr: { sa_family: 772, sa_data: '02:00:00:00:00:02' } }), 'EINVAL');
  throwsErrno(() => devIoctl(stack, 'dum0', { request: 'SIOCSIFHWADDR', ifr_hwaddr: { sa_family: 1, sa_data: '01:00:5e:00:00:01' } }), 'EADDRNOTAVAIL');
  throwsErrno(() => devIoctl(stack, 'dum0', { request: 'SIOCSIFHWADDR', ifr_hwaddr: { sa_family: 1, sa_data: '00:00:00:00:00:00' } }), 'EADDRNOTAVAIL');
  throwsErrno(() => devIoctl(stack, 'dum0', { request: 'SIOCSIFHWADDR', ifr_hwaddr: { sa_family: 1, sa_data: 'not-a-mac' } }), 'EINVAL');
  throwsErrno(() => devIoctl(stack, 'lo', { request: 'SIOCSIFHWADDR', ifr_hwaddr: { sa_family: 772, sa_data: '02:00:00:00:00:02' } }), 'EOPNOTSUPP');
  assert.equal(devIoctl(stack, 'dum0', { request: 'SIOCGIFHWADDR' }).ifr_hwaddr!.sa_data, '02:aa:bb:cc:dd:ee');
  assert.equal(events.length, 1);
  // Without sa_family the device's own type is assumed.
  devIoctl(stack, 'dum0', { request: 'SIOCSIFHWADDR', ifr_hwaddr: { sa_data: '02:00:00:00:00:03' } });
  assert.equal(d.devAddr.toString('hex'), '020000000003');
  stack.close();
});

test('SIOCADDMULTI / SIOCDELMULTI: AF_UNSPEC, a group address, ENOENT for one not on the list', async () => {
  const { stack, v, events } = await setup();
  const m = { sa_family: 0, sa_data: '01:00:5E:00:00:01' };
  assert.deepEqual(devIoctl(stack, 'v0', { request: 'SIOCADDMULTI', ifr_hwaddr: m }).ifr_hwaddr, { sa_family: 0, sa_data: '01:00:5e:00:00:01' });
  assert.deepEqual(events, ['CHANGEMULTI']);
  throwsErrno(() => devIoctl(stack, 'v0', { request: 'SIOCADDMULTI', ifr_hwaddr: { sa_family: 1, sa_data: m.sa_data } }), 'EINVAL');
  throwsErrno(() => devIoctl(stack, 'v0', { request: 'SIOCADDMULTI', ifr_hwaddr: { sa_family: 0, sa_data: '02:00:00:00:00:01' } }), 'EINVAL');
  throwsErrno(() => devIoctl(stack, 'v0', { request: 'SIOCADDMULTI', ifr_hwaddr: { sa_family: 0, sa_data: 'zz' } }), 'EINVAL');
  throwsErrno(() => devIoctl(stack, 'v0', { request: 'SIOCDELMULTI', ifr_hwaddr: { sa_family: 0, sa_data: '01:00:5e:00:00:02' } }), 'ENOENT');
  throwsErrno(() => devIoctl(stack, 'lo', { request: 'SIOCADDMULTI', ifr_hwaddr: m }), 'EINVAL'); // no ndo_set_rx_mode
  assert.equal(v.mc.size, 1);
  devIoctl(stack, 'v0', { request: 'SIOCDELMULTI', ifr_hwaddr: m });
  assert.equal(v.mc.size, 0);
  throwsErrno(() => devIoctl(stack, 'v0', { request: 'SIOCDELMULTI', ifr_hwaddr: m }), 'ENOENT');
  assert.deepEqual(events, ['CHANGEMULTI', 'CHANGEMULTI']);
  stack.close();
});

test('SIOCGIFTXQLEN / SIOCSIFTXQLEN', async () => {
  const { stack, v, events } = await setup();
  assert.equal(devIoctl(stack, 'v0', { request: 'SIOCGIFTXQLEN' }).ifr_qlen, 1000);
  assert.equal(devIoctl(stack, 'v0', { request: 'SIOCSIFTXQLEN', ifr_qlen: 10 }).ifr_qlen, 10);
  assert.deepEqual(events, ['CHANGETXQLEN']);
  for (const bad of [-1, 2 ** 32, 1.5]) throwsErrno(() => devIoctl(stack, 'v0', { request: 'SIOCSIFTXQLEN', ifr_qlen: bad }), 'EINVAL');
  assert.equal(v.txQueueLen, 10);
  stack.close();
});

test('SIOCSIFNAME: EEXIST, EBUSY while up, EINVAL for a bad name', async () => {
  const { stack, d, events } = await setup();
  assert.equal(devIoctl(stack, 'dum0', { request: 'SIOCSIFNAME', ifr_newname: 'net0' }).ifr_newname, 'net0');
  assert.equal(d.name, 'net0');
  assert.deepEqual(events, ['CHANGENAME']);
  throwsErrno(() => devIoctl(stack, 'net0', { request: 'SIOCSIFNAME', ifr_newname: 'v1' }), 'EEXIST');
  throwsErrno(() => devIoctl(stack, 'v0', { request: 'SIOCSIFNAME', ifr_newname: 'v9' }), 'EBUSY');
  throwsErrno(() => devIoctl(stack, 'net0', { request: 'SIOCSIFNAME', ifr_newname: 'a:b' }), 'EINVAL');
  throwsErrno(() => devIoctl(stack, 'net0', { request: 'SIOCSIFNAME', ifr_newname: 'x'.repeat(16) }), 'EINVAL');
  throwsErrno(() => devIoctl(stack, 'lo', { request: 'SIOCSIFNAME', ifr_newname: 'lo9' }), 'EBUSY');
  assert.equal(events.length, 1);
  stack.close();
});

test('SIOCGIFINDEX', async () => {
  const { stack, d, v } = await setup();
  assert.equal(devIoctl(stack, 'lo', { request: 'SIOCGIFINDEX' }).ifr_ifindex, 1);
  assert.equal(devIoctl(stack, 'dum0', { request: 'SIOCGIFINDEX' }).ifr_ifindex, d.ifindex);
  assert.equal(devIoctl(stack, 'v0', { request: 'SIOCGIFINDEX' }).ifr_ifindex, v.ifindex);
  stack.close();
});

test('SIOCGIFMAP / SIOCSIFMAP: only drivers with set_config, only while down; -1 leaves a field', async () => {
  const { stack, d, events } = await setup();
  const zero = { mem_start: 0, mem_end: 0, base_addr: 0, irq: 0, dma: 0, port: 0 };
  assert.deepEqual(devIoctl(stack, 'dum0', { request: 'SIOCGIFMAP' }).ifr_map, zero);
  const out = devIoctl(stack, 'dum0', { request: 'SIOCSIFMAP', ifr_map: { base_addr: 0x300, irq: 5, dma: -1 } });
  assert.deepEqual(out.ifr_map, { ...zero, base_addr: 0x300, irq: 5 });
  assert.deepEqual(events, ['CHANGE']);
  devIoctl(stack, 'dum0', { request: 'SIOCSIFMAP', ifr_map: { irq: -1, dma: 3 } });
  assert.deepEqual(d.map, { memStart: 0, memEnd: 0, baseAddr: 0x300, irq: 5, dma: 3, port: 0 });
  throwsErrno(() => devIoctl(stack, 'v0', { request: 'SIOCSIFMAP', ifr_map: { irq: 5 } }), 'EOPNOTSUPP');
  throwsErrno(() => devIoctl(stack, 'lo', { request: 'SIOCSIFMAP', ifr_map: { irq: 5 } }), 'EOPNOTSUPP');
  throwsErrno(() => devIoctl(stack, 'dum0', { request: 'SIOCSIFMAP', ifr_map: { irq: -2 } }), 'EINVAL');
  throwsErrno(() => devIoctl(stack, 'dum0', { request: 'SIOCSIFMAP', ifr_map: { irq: 2 ** 32 } }), 'EINVAL');
  throwsErrno(() => devIoctl(stack, 'dum0', { request: 'SIOCSIFMAP', ifr_map: { irq: 7, port: 0.5 } }), 'EINVAL');
  assert.equal(d.map.irq, 5, 'a bad field anywhere changes nothing');
  devIoctl(stack, 'dum0', { request: 'SIOCSIFFLAGS', ifr_flags: IFF.UP });
  throwsErrno(() => devIoctl(stack, 'dum0', { request: 'SIOCSIFMAP', ifr_map: { irq: 7 } }), 'EBUSY');
  assert.deepEqual(devIoctl(stack, 'v0', { request: 'SIOCGIFMAP' }).ifr_map, zero);
  stack.close();
});
