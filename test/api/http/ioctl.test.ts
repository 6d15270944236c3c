// POST /v1/devices/{name}/ioctl over a listening server: each request of
// linux/sockios.h the API takes, with the kernel's errnos.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertProblem, assertRejectedWithoutChange, startServer, type TestServer } from './server.ts';

type Ifreq = Record<string, unknown> & { request: string; ifr_name: string };

describe('ioctl', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
    const r = await server.request('POST', '/v1/devices', { body: { kind: 'veth', name: 'ia', peer: 'ib' } });
    assert.equal(r.status, 201, r.text);
    const d = await server.request('POST', '/v1/devices', { body: { kind: 'dummy', name: 'id0' } });
    assert.equal(d.status, 201, d.text);
  });
  after(async () => {
    await server.close();
    assert.equal(server.stack.pool.stats.inUse, 0);
  });

  const ioctl = async (name: string, body: Record<string, unknown>): Promise<Ifreq> => {
    const r = await server.request('POST', `/v1/devices/${name}/ioctl`, { body });
    assert.equal(r.status, 200, r.text);
    const out = r.json as Ifreq;
    assert.equal(out.request, body.request);
    return out;
  };

  it('gets and sets flags, by bits or by names', async () => {
    const got = await ioctl('ia', { request: 'SIOCGIFFLAGS' });
    assert.equal(got.ifr_name, 'ia');
    assert.equal(typeof got.ifr_flags, 'number');
    assert.ok(!(got.flags as string[]).includes('UP'));
    const up = await ioctl('ia', { request: 'SIOCSIFFLAGS', ifr_flags: ['UP', 'BROADCAST', 'MULTICAST'] });
    assert.ok((up.flags as string[]).includes('UP'));
    const bits = await ioctl('ia', { request: 'SIOCSIFFLAGS', ifr_flags: (up.ifr_flags as number) & ~1 });
    assert.ok(!(bits.flags as string[]).includes('UP'));
  });

  it('gets and sets mtu, txqlen, hardware address, index and name', async () => {
    assert.equal((await ioctl('ia', { request: 'SIOCSIFMTU', ifr_mtu: 1400 })).ifr_mtu, 1400);
    assert.equal((await ioctl('ia', { request: 'SIOCGIFMTU' })).ifr_mtu, 1400);
    assert.equal((await ioctl('ia', { request: 'SIOCSIFTXQLEN', ifr_qlen: 77 })).ifr_qlen, 77);
    assert.equal((await ioctl('ia', { request: 'SIOCGIFTXQLEN' })).ifr_qlen, 77);
    const hw = await ioctl('ia', { request: 'SIOCSIFHWADDR', ifr_hwaddr: { sa_family: 1, sa_data: '02:00:00:00:aa:01' } });
    assert.deepEqual(hw.ifr_hwaddr, { sa_family: 1, sa_data: '02:00:00:00:aa:01' });
    assert.deepEqual((await ioctl('ia', { request: 'SIOCGIFHWADDR' })).ifr_hwaddr, { sa_family: 1, sa_data: '02:00:00:00:aa:01' });
    const index = (await ioctl('ia', { request: 'SIOCGIFINDEX' })).ifr_ifindex;
    const shown = (await server.request('GET', '/v1/devices/ia')).json as { ifindex: number; mtu: number; txqlen: number; address: string };
    assert.deepEqual([shown.ifindex, shown.mtu, shown.txqlen, shown.address], [index, 1400, 77, '02:00:00:00:aa:01']);
    assert.equal((await ioctl('ia', { request: 'SIOCSIFNAME', ifr_newname: 'ia2' })).ifr_newname, 'ia2');
    assert.equal((await server.request('GET', '/v1/devices/ia2')).status, 200);
  });

  it('joins and leaves multicast groups', async () => {
    const add = await ioctl('ia2', { request: 'SIOCADDMULTI', ifr_hwaddr: { sa_family: 0, sa_data: '01:00:5E:00:00:05' } });
    assert.deepEqual(add.ifr_hwaddr, { sa_family: 0, sa_data: '01:00:5e:00:00:05' });
    let mc = ((await server.request('GET', '/v1/devices/ia2')).json as { multicast: { address: string }[] }).multicast;
    assert.ok(mc.some((m) => m.address === '01:00:5e:00:00:05'));
    await ioctl('ia2', { request: 'SIOCDELMULTI', ifr_hwaddr: { sa_data: '01:00:5e:00:00:05' } });
    mc = ((await server.request('GET', '/v1/devices/ia2')).json as { multicast: { address: string }[] }).multicast;
    assert.ok(!mc.some((m) => m.address === '01:00:5e:00:00:05'));
  });

  it('gets and sets the I/O map where the driver has one (dummy)', async () => {
    const set = await ioctl('id0', { request: 'SIOCSIFMAP', ifr_map: { irq: 5, base_addr: 0x300 } });
    assert.equal((set.ifr_map as { irq: number }).irq, 5);
    const got = await ioctl('id0', { request: 'SIOCGIFMAP' });
    assert.deepEqual(got.ifr_map, set.ifr_map);
  });

  it('answers with the kernel errnos, changing nothing', async () => {
    await assertRejectedWithoutChange(server, async () => {
      const req = (name: string, body: unknown) => server.request('POST', `/v1/devices/${name}/ioctl`, { body });
      assertProblem(await req('ia2', { request: 'SIOCSIFMTU', ifr_mtu: 10 }), 400, 'EINVAL');
      assertProblem(await req('ia2', { request: 'SIOCSIFMTU' }), 400, 'EINVAL');
      assertProblem(await req('ia2', { request: 'SIOCGIFMTU', ifr_mtu: 5 }), 400, 'EINVAL');
      assertProblem(await req('ia2', { request: 'SIOCNOTHING' }), 400, 'EINVAL');
      assertProblem(await req('ia2', { request: 'SIOCSIFFLAGS', ifr_flags: ['UP', 'FAST'] }), 400, 'EINVAL');
      assertProblem(await req('ia2', { request: 'SIOCSIFHWADDR', ifr_hwaddr: { sa_family: 1, sa_data: '01:00:00:00:00:01' } }), 422, 'EADDRNOTAVAIL');
      assertProblem(await req('ia2', { request: 'SIOCSIFHWADDR', ifr_hwaddr: { sa_family: 772, sa_data: '02:00:00:00:00:01' } }), 400, 'EINVAL');
      assertProblem(await req('ia2', { request: 'SIOCADDMULTI', ifr_hwaddr: { sa_data: '02:00:00:00:00:01' } }), 400, 'EINVAL');
      assertProblem(await req('ia2', { request: 'SIOCDELMULTI', ifr_hwaddr: { sa_data: '01:00:5e:00:00:77' } }), 404, 'ENOENT');
      assertProblem(await req('ia2', { request: 'SIOCSIFNAME', ifr_newname: 'ib' }), 409, 'EEXIST');
      assertProblem(await req('ia2', { request: 'SIOCSIFNAME', ifr_newname: 'has space' }), 400, 'EINVAL');
      assertProblem(await req('ia2', { request: 'SIOCSIFMAP', ifr_map: { irq: 1 } }), 501, 'EOPNOTSUPP');
      assertProblem(await req('nosuch', { request: 'SIOCGIFFLAGS' }), 404, 'ENODEV');
    });
    // Renaming a device that is up is EBUSY, as before Linux 6.2.
    await ioctl('ib', { request: 'SIOCSIFFLAGS', ifr_flags: ['UP'] });
    await assertRejectedWithoutChange(server, async () => {
      assertProblem(await server.request('POST', '/v1/devices/ib/ioctl', { body: { request: 'SIOCSIFNAME', ifr_newname: 'ib2' } }), 409, 'EBUSY');
    });
  });
});
