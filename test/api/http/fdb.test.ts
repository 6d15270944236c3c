// A bridge over HTTP (DESIGN §3.0): POST {kind: "bridge"}, ports join with
// PATCH {master} and leave with {master: null}; GET/POST/DELETE
// /v1/devices/{name}/fdb in `bridge -j fdb show`'s shape; bad requests are
// problem+json and change nothing.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { assertProblem, assertRejectedWithoutChange, startServer, type TestServer } from './server.ts';

interface FdbRow {
  mac: string;
  ifname: string;
  state: string;
  flags: string[];
  age_s?: number;
}

describe('bridge and fdb routes', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
    assert.equal((await server.request('POST', '/v1/devices', { body: { kind: 'bridge', name: 'br0', up: true } })).status, 201);
    for (const i of [0, 1]) {
      const r = await server.request('POST', '/v1/devices', { body: { kind: 'veth', name: `h${i}`, peer: `p${i}`, up: true } });
      assert.equal(r.status, 201);
    }
  });
  after(() => server.close());

  it('PATCH {master} joins a port, shown as master; {master: null} leaves', async () => {
    const r = await server.request('PATCH', '/v1/devices/p0', { body: { master: 'br0' } });
    assert.equal(r.status, 200, r.text);
    assert.equal((r.json as { master?: string }).master, 'br0');
    assert.equal((await server.request('PATCH', '/v1/devices/p1', { body: { master: 'br0' } })).status, 200);
    const br = (await server.request('GET', '/v1/devices/br0')).json as { kind: string; linkinfo: { info_data: Record<string, unknown> } };
    assert.equal(br.kind, 'bridge');
    assert.deepEqual(br.linkinfo.info_data, { ageing_time: 30000, stp_state: 0 });
    const off = await server.request('PATCH', '/v1/devices/p1', { body: { master: null } });
    assert.equal((off.json as { master?: string }).master, undefined);
    assert.equal((await server.request('PATCH', '/v1/devices/p1', { body: { master: 'br0' } })).status, 200);
  });

  it('GET fdb lists permanent entries, then learned ones after traffic; POST adds a static entry; DELETE removes it', async () => {
    const rows = async (): Promise<FdbRow[]> => (await server.request('GET', '/v1/devices/br0/fdb')).json as FdbRow[];
    const permanent = await rows();
    assert.deepEqual(permanent.map((e) => e.ifname).sort(), ['br0', 'p0', 'p1']);
    assert.ok(permanent.every((e) => e.state === 'permanent' && e.flags.length === 0 && e.age_s === undefined));
    // h0 sends a broadcast: its address is learned on p0.
    const h0 = ((await server.request('GET', '/v1/devices/h0')).json as { address: string }).address;
    const frame = `ffffffffffff${h0.replace(/:/g, '')}88b5` + '00'.repeat(46);
    assert.equal((await server.request('POST', '/v1/devices/h0/frames', { body: { frames: [frame] } })).status, 202);
    server.stack.drain();
    assert.deepEqual((await rows()).find((e) => e.mac === h0), { mac: h0, ifname: 'p0', state: 'learned', flags: [], age_s: 0 });

    const add = await server.request('POST', '/v1/devices/br0/fdb', { body: { mac: '02:00:00:00:00:aa', ifname: 'p1' } });
    assert.equal(add.status, 200, add.text);
    assert.deepEqual((add.json as FdbRow[]).find((e) => e.mac === '02:00:00:00:00:aa'), { mac: '02:00:00:00:00:aa', ifname: 'p1', state: 'static', flags: [] });
    const del = await server.request('DELETE', '/v1/devices/br0/fdb?mac=02:00:00:00:00:aa');
    assert.equal(del.status, 200, del.text);
    assert.equal((del.json as FdbRow[]).find((e) => e.mac === '02:00:00:00:00:aa'), undefined);
  });

  it('bad requests: problem+json with an errno, nothing changed', async () => {
    await assertRejectedWithoutChange(server, async () => {
      assertProblem(await server.request('PATCH', '/v1/devices/h1', { body: { master: 'nosuch' } }), 404, 'ENODEV');
      assertProblem(await server.request('PATCH', '/v1/devices/h1', { body: { master: 'h0' } }), 501, 'EOPNOTSUPP');
      assertProblem(await server.request('PATCH', '/v1/devices/p0', { body: { mtu: 1400, master: 'nosuch' } }), 404, 'ENODEV');
      assertProblem(await server.request('GET', '/v1/devices/h0/fdb'), 400, 'EOPNOTSUPP');
      assertProblem(await server.request('GET', '/v1/devices/nosuch/fdb'), 404, 'ENODEV');
      assertProblem(await server.request('POST', '/v1/devices/br0/fdb', { body: { mac: '02:00:00:00:00:bb', ifname: 'h0' } }), 400, 'EINVAL');
      assertProblem(await server.request('POST', '/v1/devices/br0/fdb', { body: { mac: 'nonsense', ifname: 'p0' } }), 400, 'EINVAL');
      assertProblem(await server.request('POST', '/v1/devices/br0/fdb', { body: { mac: '01:00:5e:00:00:01', ifname: 'p0' } }), 400, 'EINVAL');
      const p0 = ((await server.request('GET', '/v1/devices/p0')).json as { address: string }).address;
      assertProblem(await server.request('POST', '/v1/devices/br0/fdb', { body: { mac: p0, ifname: 'p1' } }), 409, 'EEXIST');
      assertProblem(await server.request('DELETE', '/v1/devices/br0/fdb?mac=02:00:00:00:00:cc'), 404, 'ENOENT');
      assertProblem(await server.request('DELETE', '/v1/devices/br0/fdb'), 400, 'EINVAL');
    });
  });
});
