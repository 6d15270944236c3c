// /v1/devices over a listening server: ip link show/add/set/del, and every
// error DESIGN §3 names, each leaving the stack as it was.

import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertProblem, assertRejectedWithoutChange, startServer, type TestServer } from './server.ts';

interface DeviceJson {
  ifindex: number;
  ifname: string;
  link?: string;
  flags: string[];
  mtu: number;
  operstate: string;
  txqlen: number;
  link_type: string;
  address: string;
  broadcast: string;
  kind: string;
  promiscuity: number;
  allmulti: number;
  qdisc: string;
  netem: null | Record<string, unknown>;
  multicast: { address: string; users: number }[];
  stats64?: { rx: Record<string, number>; tx: Record<string, number> };
  linkinfo: { info_kind: string; info_data?: Record<string, unknown> };
}

describe('devices', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    await server.close();
    assert.equal(server.stack.pool.stats.inUse, 0);
  });

  const create = async (body: Record<string, unknown>): Promise<DeviceJson[]> => {
    const r = await server.request('POST', '/v1/devices', { body });
    assert.equal(r.status, 201, r.text);
    return r.json as DeviceJson[];
  };

  it('lists lo in the shape of ip -j -s link', async () => {
    const r = await server.request('GET', '/v1/devices');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
    const lo = (r.json as DeviceJson[]).find((d) => d.ifname === 'lo');
    assert.ok(lo);
    assert.equal(lo.ifindex, 1);
    assert.equal(lo.mtu, 65536);
    assert.equal(lo.link_type, 'loopback');
    assert.ok(lo.flags.includes('LOOPBACK') && lo.flags.includes('UP'));
    for (const k of ['bytes', 'packets', 'errors', 'dropped', 'multicast']) assert.equal(typeof lo.stats64?.rx[k], 'number', k);
    for (const k of ['bytes', 'packets', 'errors', 'dropped', 'collisions']) assert.equal(typeof lo.stats64?.tx[k], 'number', k);
    const brief = (await server.request('GET', '/v1/devices?stats=0')).json as DeviceJson[];
    assert.equal(brief[0]?.stats64, undefined);
    assert.equal(brief[0]?.ifname, 'lo');
    assertProblem(await server.request('GET', '/v1/devices?stats=maybe'), 400, 'EINVAL');
  });

  it('creates a veth pair: 201, both ends, Location', async () => {
    const r = await server.request('POST', '/v1/devices', {
      body: { kind: 'veth', name: 'va', peer: 'vb', mtu: 1400, txqlen: 50, address: '02:00:00:00:00:0a', up: true },
    });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.headers.get('location'), '/v1/devices/va');
    const made = r.json as DeviceJson[];
    assert.deepEqual(made.map((d) => d.ifname), ['va', 'vb']);
    assert.equal(made[0]?.link, 'vb');
    assert.equal(made[0]?.mtu, 1400);
    assert.equal(made[0]?.txqlen, 50);
    assert.equal(made[0]?.address, '02:00:00:00:00:0a');
    assert.ok(made[0]?.flags.includes('UP'));
    const shown = await server.request('GET', '/v1/devices/vb');
    assert.equal(shown.status, 200);
    assert.equal((shown.json as DeviceJson).kind, 'veth');
    assert.equal((shown.json as DeviceJson).link, 'va');
  });

  it('creates a dummy named by pattern, and a VLAN channel on a parent', async () => {
    const [dummy] = await create({ kind: 'dummy' });
    assert.match(dummy!.ifname, /^dummy\d+$/);
    const [vlan] = await create({ kind: 'vlan', link: 'va', id: 10 });
    assert.equal(vlan!.ifname, 'va.10');
    assert.equal(vlan!.link, 'va');
    assert.equal(vlan!.linkinfo.info_data?.id, 10);
  });

  it('creates a vxlan device bound on loopback (remote as a string or a list)', async () => {
    const [vx] = await create({ kind: 'vxlan', name: 'vx0', vni: 42, local: '127.0.0.1:0', remote: '127.0.0.1:4790', learning: false });
    assert.equal(vx!.kind, 'vxlan');
    await assertRejectedWithoutChange(server, async () => {
      assertProblem(await server.request('POST', '/v1/devices', { body: { kind: 'vxlan', vni: 1 << 24, local: '127.0.0.1:0' } }), 400, 'EINVAL');
      assertProblem(await server.request('POST', '/v1/devices', { body: { kind: 'vxlan', vni: 7, local: '127.0.0.1:0', remote: ['127.0.0.1:1', '127.0.0.1:1'] } }), 409, 'EEXIST');
      assertProblem(await server.request('POST', '/v1/devices', { body: { kind: 'vxlan', vni: 7, local: 'not a host' } }), 400, 'EINVAL');
      assertProblem(await server.request('POST', '/v1/devices', { body: { kind: 'vxlan', vni: 7, local: '127.0.0.1:0', id: 3 } }), 400, 'EINVAL');
    });
    const del = await server.request('DELETE', '/v1/devices/vx0');
    assert.deepEqual(del.json, { deleted: ['vx0'] });
  });

  it('applies netem and multicast at creation, netem in snake_case', async () => {
    const [d] = await create({
      kind: 'veth',
      name: 'nm0',
      peer: 'nm1',
      netem: { delay_ms: 5, loss: 1.5, rate_bps: 1_000_000 },
      multicast: { add: ['01:00:5e:00:00:01'] },
    });
    assert.equal(d!.qdisc, 'netem');
    assert.equal(d!.netem?.delay_ms, 5);
    assert.equal(d!.netem?.loss, 1.5);
    assert.equal(d!.netem?.rate_bps, 1_000_000);
    assert.equal(d!.netem?.limit, 1000);
    assert.ok(d!.multicast.some((m) => m.address === '01:00:5e:00:00:01'));
  });

  it('refuses a taken name with 409 EEXIST, changing nothing', async () => {
    await assertRejectedWithoutChange(server, async () => {
      const p = assertProblem(await server.request('POST', '/v1/devices', { body: { kind: 'dummy', name: 'va' } }), 409, 'EEXIST');
      assert.match(p.detail, /va/);
      assert.equal(p.instance, '/v1/devices');
      assertProblem(await server.request('POST', '/v1/devices', { body: { kind: 'veth', name: 'fresh0', peer: 'vb' } }), 409, 'EEXIST');
    });
  });

  it('refuses bad names with 400 EINVAL: 16 bytes, "/", ":", whitespace, multi-byte over 15 bytes', async () => {
    await assertRejectedWithoutChange(server, async () => {
      for (const name of ['abcdefghijklmnop', 'a/b', 'eth0:1', 'a b', '', 'ééééééééé']) {
        const p = assertProblem(await server.request('POST', '/v1/devices', { body: { kind: 'dummy', name } }), 400, 'EINVAL');
        assert.match(p.detail, /body\/name/, p.detail);
      }
      assertProblem(await server.request('POST', '/v1/devices', { body: { kind: 'veth', name: 'ok0', peer: 'bad:peer' } }), 400, 'EINVAL');
      assertProblem(await server.request('GET', '/v1/devices/abcdefghijklmnop'), 400, 'EINVAL');
    });
  });

  it('refuses unknown fields, unknown kinds and wrong types with 400 EINVAL naming the path', async () => {
    await assertRejectedWithoutChange(server, async () => {
      const unknown = assertProblem(await server.request('POST', '/v1/devices', { body: { kind: 'dummy', name: 'u0', colour: 'red' } }), 400, 'EINVAL');
      assert.match(unknown.detail, /colour/);
      assertProblem(await server.request('POST', '/v1/devices', { body: { kind: 'router' } }), 400, 'EINVAL');
      const mtu = assertProblem(await server.request('POST', '/v1/devices', { body: { kind: 'dummy', mtu: 'big' } }), 400, 'EINVAL');
      assert.match(mtu.detail, /^body\/mtu: /);
      assertProblem(await server.request('POST', '/v1/devices', { body: { kind: 'dummy', netem: { loss: 101 } } }), 400, 'EINVAL');
      assertProblem(await server.request('POST', '/v1/devices', { body: { kind: 'dummy', netem: { lost: 1 } } }), 400, 'EINVAL');
      assertProblem(await server.request('POST', '/v1/devices', { body: [] }), 400, 'EINVAL');
      // Valid JSON, refused by the core: each check comes before any change.
      assertProblem(await server.request('POST', '/v1/devices', { body: { kind: 'dummy', name: 'm0', mtu: 10 } }), 400, 'EINVAL');
      assertProblem(await server.request('POST', '/v1/devices', { body: { kind: 'veth', name: 'm1', peer: 'm2', address: '01:00:5e:00:00:01' } }), 422, 'EADDRNOTAVAIL');
      assertProblem(await server.request('POST', '/v1/devices', { body: { kind: 'vlan', link: 'nosuch', id: 5 } }), 404, 'ENODEV');
      assertProblem(await server.request('POST', '/v1/devices', { body: { kind: 'vlan', link: 'va', id: 4095 } }), 400, 'ERANGE');
      assertProblem(await server.request('POST', '/v1/devices', { body: { kind: 'vlan', link: 'va', id: 10 } }), 409, 'EEXIST');
    });
  });

  it('reports 404 ENODEV for an unknown device on every verb', async () => {
    await assertRejectedWithoutChange(server, async () => {
      const p = assertProblem(await server.request('GET', '/v1/devices/nosuch0'), 404, 'ENODEV');
      assert.equal(p.instance, '/v1/devices/nosuch0');
      assertProblem(await server.request('PATCH', '/v1/devices/nosuch0', { body: { up: true } }), 404, 'ENODEV');
      assertProblem(await server.request('DELETE', '/v1/devices/nosuch0'), 404, 'ENODEV');
      assertProblem(await server.request('POST', '/v1/devices/nosuch0/ioctl', { body: { request: 'SIOCGIFMTU' } }), 404, 'ENODEV');
    });
  });

  it('changes a device with PATCH like ip link set', async () => {
    await create({ kind: 'veth', name: 'p0', peer: 'p0peer' });
    const r = await server.request('PATCH', '/v1/devices/p0', {
      body: { up: true, mtu: 9000, address: '02:00:00:00:01:01', promisc: true, allmulti: true, txqlen: 10, netem: { delay_ms: 2, jitter_ms: 1, duplicate: 5, corrupt: 1, reorder: 3, limit: 50, seed: 7 } },
    });
    assert.equal(r.status, 200, r.text);
    const d = r.json as DeviceJson;
    assert.equal(d.mtu, 9000);
    assert.equal(d.address, '02:00:00:00:01:01');
    assert.equal(d.txqlen, 10);
    assert.ok(d.flags.includes('UP') && d.flags.includes('PROMISC') && d.flags.includes('ALLMULTI'), d.flags.join());
    assert.equal(d.promiscuity, 1);
    assert.deepEqual(
      { delay: d.netem?.delay_ms, jitter: d.netem?.jitter_ms, dup: d.netem?.duplicate, limit: d.netem?.limit, seed: d.netem?.seed },
      { delay: 2, jitter: 1, dup: 5, limit: 50, seed: 7 },
    );
    const removed = await server.request('PATCH', '/v1/devices/p0', { body: { netem: null, promisc: false, multicast: { add: ['33:33:00:00:00:01'] } } });
    assert.equal(removed.status, 200, removed.text);
    assert.equal((removed.json as DeviceJson).netem, null);
    assert.ok(!(removed.json as DeviceJson).flags.includes('PROMISC'));
    assert.ok((removed.json as DeviceJson).multicast.some((m) => m.address === '33:33:00:00:00:01'));
    const left = await server.request('PATCH', '/v1/devices/p0', { body: { multicast: { del: ['33:33:00:00:00:01'] } } });
    assert.equal(left.status, 200, left.text);
    assert.ok(!(left.json as DeviceJson).multicast.some((m) => m.address === '33:33:00:00:00:01'));
  });

  it('refuses a rename while up with 409 EBUSY, and renames when down (Content-Location)', async () => {
    await assertRejectedWithoutChange(server, async () => {
      assertProblem(await server.request('PATCH', '/v1/devices/p0', { body: { name: 'p1' } }), 409, 'EBUSY');
      // One bad field makes the whole change void: the mtu is not applied either.
      assertProblem(await server.request('PATCH', '/v1/devices/p0', { body: { mtu: 1000, name: 'p1' } }), 409, 'EBUSY');
      assertProblem(await server.request('PATCH', '/v1/devices/p0', { body: { mtu: 1000, address: 'ff:ff:ff:ff:ff:ff' } }), 422, 'EADDRNOTAVAIL');
      assertProblem(await server.request('PATCH', '/v1/devices/p0', { body: { mtu: 1000, name: 'va' } }), 409, 'EEXIST');
      assertProblem(await server.request('PATCH', '/v1/devices/p0', { body: { mtu: 1000, multicast: { del: ['01:00:5e:00:00:09'] } } }), 404, 'ENOENT');
      assertProblem(await server.request('PATCH', '/v1/devices/p0', { body: { mtu: 1000, address: 'zz' } }), 400, 'EINVAL');
      assertProblem(await server.request('PATCH', '/v1/devices/p0', { body: { mtu: 1000, bogus: 1 } }), 400, 'EINVAL');
      assertProblem(await server.request('PATCH', '/v1/devices/p0', { body: { mtu: 1000, name: 'x/y' } }), 400, 'EINVAL');
      assertProblem(await server.request('PATCH', '/v1/devices/p0', { body: { mtu: 70000 } }), 400, 'EINVAL');
    });
    const down = await server.request('PATCH', '/v1/devices/p0', { body: { up: false } });
    assert.equal(down.status, 200);
    const renamed = await server.request('PATCH', '/v1/devices/p0', { body: { name: 'p1' } });
    assert.equal(renamed.status, 200, renamed.text);
    assert.equal((renamed.json as DeviceJson).ifname, 'p1');
    assert.equal(renamed.headers.get('content-location'), '/v1/devices/p1');
    assertProblem(await server.request('GET', '/v1/devices/p0'), 404, 'ENODEV');
    assert.equal((await server.request('GET', '/v1/devices/p1')).status, 200);
  });

  it('refuses to delete lo with 400 EOPNOTSUPP', async () => {
    await assertRejectedWithoutChange(server, async () => {
      assertProblem(await server.request('DELETE', '/v1/devices/lo'), 400, 'EOPNOTSUPP');
    });
  });

  it('deletes a veth with its peer and VLANs: 200 with the names', async () => {
    const r = await server.request('DELETE', '/v1/devices/vb');
    assert.equal(r.status, 200, r.text);
    assert.deepEqual([...(r.json as { deleted: string[] }).deleted].sort(), ['va', 'va.10', 'vb']);
    const names = ((await server.request('GET', '/v1/devices')).json as DeviceJson[]).map((d) => d.ifname);
    for (const gone of ['va', 'vb', 'va.10']) assert.ok(!names.includes(gone), gone);
    assertProblem(await server.request('DELETE', '/v1/devices/va'), 404, 'ENODEV');
  });
});
