// POST /v1/devices/{name}/frames over a listening server: raw send through the
// HTTP layer's packet socket, its flow control (a slow link throttles the
// sender; nonblock gives 503 EAGAIN), and every refusal changing nothing.

import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { assertProblem, assertRejectedWithoutChange, startServer, testFrame, until, type TestServer } from './server.ts';
import type { PacketSocket } from '../../../src/packet/socket.ts';

interface SendJson {
  sent: number;
  dropped: number;
}

function httpSocketOf(server: TestServer, ifname: string): PacketSocket | undefined {
  return server.stack.packetSockets().find((s) => s.owner === 'http' && s.dev?.name === ifname);
}

describe('frames', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
    for (const body of [
      { kind: 'veth', name: 'fa', peer: 'fb', up: true },
      { kind: 'dummy', name: 'down0' },
    ]) {
      const r = await server.request('POST', '/v1/devices', { body });
      assert.equal(r.status, 201, r.text);
    }
  });
  afterEach(() => server.stack.drain());
  after(async () => {
    await server.close();
    assert.equal(server.stack.pool.stats.inUse, 0);
    assert.equal(server.stack.sockets.size, 0);
  });

  const txPackets = async (name: string): Promise<number> => {
    const r = await server.request('GET', `/v1/devices/${name}`);
    return (r.json as { stats64: { tx: { packets: number } } }).stats64.tx.packets;
  };

  it('sends one application/octet-stream frame: 202 {sent, dropped}', async () => {
    const before = await txPackets('fa');
    const r = await server.request('POST', '/v1/devices/fa/frames', { raw: testFrame(60), contentType: 'application/octet-stream' });
    assert.equal(r.status, 202, r.text);
    assert.deepEqual(r.json, { sent: 1, dropped: 0 });
    server.stack.drain();
    assert.equal(await txPackets('fa'), before + 1);
    const sock = httpSocketOf(server, 'fa');
    assert.ok(sock, 'the HTTP layer opened a packet socket for fa');
    assert.equal(sock.protocol, 0, 'the send socket never receives');
    const listed = (await server.request('GET', '/v1/sockets')).json as { id: number; owner: string; device: string; protocol: string; sent: number }[];
    const entry = listed.find((s) => s.id === sock.id);
    assert.deepEqual({ owner: entry?.owner, device: entry?.device, protocol: entry?.protocol, sent: entry?.sent }, { owner: 'http', device: 'fa', protocol: '0x0000', sent: 1 });
  });

  it('sends a JSON batch of hex and base64 frames in order, on the same socket', async () => {
    const sock = httpSocketOf(server, 'fa');
    const before = await txPackets('fa');
    // A tap on the peer sees the frames in the order they were sent.
    const tap = server.stack.openPacketSocket({ dev: server.stack.devices.require('fb'), direction: 'in' });
    try {
      const frames = [testFrame(60, 1).toString('hex'), testFrame(64, 2).toString('base64'), testFrame(100, 3).toString('hex').toUpperCase()];
      const r = await server.request('POST', '/v1/devices/fa/frames', { body: { frames } });
      assert.equal(r.status, 202, r.text);
      assert.deepEqual(r.json, { sent: 3, dropped: 0 });
      server.stack.drain();
      assert.equal(await txPackets('fa'), before + 3);
      const got: Buffer[] = [];
      for (let f = tap.recvFrame(); f !== null; f = tap.recvFrame()) got.push(f.data);
      assert.deepEqual(got.map((b) => b.readUInt32BE(14)), [1, 2, 3]);
      assert.deepEqual(got[1], testFrame(64, 2));
      assert.equal(httpSocketOf(server, 'fa'), sock, 'one socket per device');
    } finally {
      tap.close();
    }
  });

  it('refuses a send on a down device with 409 ENETDOWN', async () => {
    await assertRejectedWithoutChange(server, async () => {
      assertProblem(await server.request('POST', '/v1/devices/down0/frames', { raw: testFrame(), contentType: 'application/octet-stream' }), 409, 'ENETDOWN');
      assertProblem(await server.request('POST', '/v1/devices/down0/frames', { body: { frames: [testFrame().toString('hex')] } }), 409, 'ENETDOWN');
    });
  });

  it('refuses a frame over mtu + 14 with 413 EMSGSIZE, and a runt with 400 EINVAL', async () => {
    await assertRejectedWithoutChange(server, async () => {
      assertProblem(await server.request('POST', '/v1/devices/fa/frames', { raw: testFrame(1515), contentType: 'application/octet-stream' }), 413, 'EMSGSIZE');
      assertProblem(await server.request('POST', '/v1/devices/fa/frames', { raw: testFrame(13), contentType: 'application/octet-stream' }), 400, 'EINVAL');
    });
    // Exactly mtu + 14 passes.
    const r = await server.request('POST', '/v1/devices/fa/frames', { raw: testFrame(1514), contentType: 'application/octet-stream' });
    assert.equal(r.status, 202, r.text);
  });

  it('takes a 1518-byte frame with an 802.1Q tag, as a packet socket does (one length rule)', async () => {
    const tagged = testFrame(1518);
    tagged.writeUInt16BE(0x8100, 12);
    const r = await server.request('POST', '/v1/devices/fa/frames', { raw: tagged, contentType: 'application/octet-stream' });
    assert.equal(r.status, 202, r.text);
    const sock = server.stack.openPacketSocket({ dev: server.stack.getDevice('fa'), protocol: 0 });
    assert.equal(sock.send(tagged), 'sent');
    sock.close();
    // One byte more is too long for both.
    const over = testFrame(1519);
    over.writeUInt16BE(0x8100, 12);
    await assertRejectedWithoutChange(server, async () => {
      assertProblem(await server.request('POST', '/v1/devices/fa/frames', { raw: over, contentType: 'application/octet-stream' }), 413, 'EMSGSIZE');
    });
  });

  it('checks every frame of a batch before sending any', async () => {
    await assertRejectedWithoutChange(server, async () => {
      const ok = testFrame().toString('hex');
      const big = assertProblem(await server.request('POST', '/v1/devices/fa/frames', { body: { frames: [ok, ok, testFrame(2000).toString('hex')] } }), 413, 'EMSGSIZE');
      assert.match(big.detail, /frame 2/);
      assertProblem(await server.request('POST', '/v1/devices/fa/frames', { body: { frames: [ok, 'abcd'] } }), 400, 'EINVAL');
      const odd = assertProblem(await server.request('POST', '/v1/devices/fa/frames', { body: { frames: [ok, 'abc'] } }), 400, 'EINVAL');
      assert.match(odd.detail, /^body\/frames\/1: /);
      assertProblem(await server.request('POST', '/v1/devices/fa/frames', { body: { frames: [ok, 'not base64!'] } }), 400, 'EINVAL');
      assertProblem(await server.request('POST', '/v1/devices/fa/frames', { body: { frames: [] } }), 400, 'EINVAL');
      assertProblem(await server.request('POST', '/v1/devices/fa/frames', { body: { frames: [ok], extra: 1 } }), 400, 'EINVAL');
      assertProblem(await server.request('POST', '/v1/devices/fa/frames', { body: { frames: ok } }), 400, 'EINVAL');
      assertProblem(await server.request('POST', '/v1/devices/fa/frames?nonblock=yes', { body: { frames: [ok] } }), 400, 'EINVAL');
      assertProblem(await server.request('POST', '/v1/devices/fa/frames?timeout_ms=-1', { body: { frames: [ok] } }), 400, 'EINVAL');
      assertProblem(await server.request('POST', '/v1/devices/fa/frames', { raw: 'ffff', contentType: 'text/plain' }), 415, 'EINVAL');
      assertProblem(await server.request('POST', '/v1/devices/fa/frames', { raw: new Uint8Array(0), contentType: 'application/octet-stream' }), 400, 'EINVAL');
      // No body at all (found by the fuzz test: it once answered 500).
      assertProblem(await server.request('POST', '/v1/devices/fa/frames'), 400, 'EINVAL');
      assertProblem(await server.request('POST', '/v1/devices/nosuch/frames', { body: { frames: [ok] } }), 404, 'ENODEV');
    });
  });

  describe('on a slow link', () => {
    // 60-byte frames cost 768 bytes of truesize; with wmem_default at its
    // minimum (4608) the socket holds 6 of them, and the device's low link
    // speed keeps them charged until they have left the wire.
    before(async () => {
      const s = await server.request('PATCH', '/v1/stack/sysctl', { body: { 'net.core.wmem_default': 4608 } });
      assert.equal(s.status, 200, s.text);
    });

    it('answers 503 EAGAIN with nonblock once the send buffer is full, with the count sent', async () => {
      const r = await server.request('POST', '/v1/devices', { body: { kind: 'dummy', name: 'slow0', up: true, speed_mbps: 0.0008 } });
      assert.equal(r.status, 201, r.text);
      const frames = Array.from({ length: 20 }, (_, i) => testFrame(60, i).toString('hex'));
      const partial = await server.request('POST', '/v1/devices/slow0/frames?nonblock=1', { body: { frames } });
      const p = assertProblem(partial, 503, 'EAGAIN');
      assert.equal(partial.headers.get('retry-after'), '1');
      const sock = httpSocketOf(server, 'slow0');
      assert.ok(sock);
      assert.ok((p.sent as number) > 0 && (p.sent as number) < 20, `sent ${String(p.sent)}`);
      assert.equal(p.at, p.sent);
      assert.equal(sock.sent, p.sent);
      assert.ok(sock.sk.wmemAlloc >= sock.sk.sndbuf);
      // Nothing more fits: the next one is refused at once, nothing sent.
      await assertRejectedWithoutChange(server, async () => {
        const full = assertProblem(
          await server.request('POST', '/v1/devices/slow0/frames?nonblock=true', { raw: testFrame(), contentType: 'application/octet-stream' }),
          503,
          'EAGAIN',
        );
        assert.equal(full.sent, 0);
        assertProblem(await server.request('POST', '/v1/devices/slow0/frames?timeout_ms=0', { raw: testFrame(), contentType: 'application/octet-stream' }), 503, 'EAGAIN');
      });
      // SO_SNDTIMEO: a short wait that ends without space is EAGAIN too.
      assertProblem(await server.request('POST', '/v1/devices/slow0/frames?timeout_ms=5', { raw: testFrame(), contentType: 'application/octet-stream' }), 503, 'EAGAIN');
      assert.equal(sock.sk.waitingSenders, 0);
    });

    it('makes a blocking sender wait for space and then sends everything', async () => {
      const r = await server.request('POST', '/v1/devices', { body: { kind: 'dummy', name: 'slow1', up: true, speed_mbps: 0.2 } });
      assert.equal(r.status, 201, r.text);
      const frames = Array.from({ length: 40 }, (_, i) => testFrame(60, i).toString('hex'));
      const sent = await server.request('POST', '/v1/devices/slow1/frames', { body: { frames } });
      assert.equal(sent.status, 202, sent.text);
      assert.deepEqual(sent.json as SendJson, { sent: 40, dropped: 0 });
      const sock = httpSocketOf(server, 'slow1');
      assert.ok(sock);
      assert.ok(sock.sk.sndbuf < 40 * 768, 'the batch did not fit the send buffer: the request had to wait');
    });

    it('stops waiting when the client goes away, leaving no waiter behind', async () => {
      const r = await server.request('POST', '/v1/devices', { body: { kind: 'dummy', name: 'slow2', up: true, speed_mbps: 0.00008 } });
      assert.equal(r.status, 201, r.text);
      const ac = new AbortController();
      const frames = Array.from({ length: 30 }, (_, i) => testFrame(60, i).toString('hex'));
      const pending = server.request('POST', '/v1/devices/slow2/frames', { body: { frames }, signal: ac.signal });
      pending.catch(() => {});
      await until(() => (httpSocketOf(server, 'slow2')?.sk.waitingSenders ?? 0) > 0);
      const sock = httpSocketOf(server, 'slow2')!;
      const sentBefore = sock.sent;
      ac.abort();
      await assert.rejects(pending);
      await until(() => sock.sk.waitingSenders === 0);
      assert.equal(sock.sent, sentBefore, 'nothing sent after the client left');
    });

    it('fails a waiting send with 409 ENETDOWN when the device is deleted, and closes its socket', async () => {
      const r = await server.request('POST', '/v1/devices', { body: { kind: 'dummy', name: 'slow3', up: true, speed_mbps: 0.00008 } });
      assert.equal(r.status, 201, r.text);
      const frames = Array.from({ length: 30 }, (_, i) => testFrame(60, i).toString('hex'));
      const pending = server.request('POST', '/v1/devices/slow3/frames', { body: { frames } });
      await until(() => (httpSocketOf(server, 'slow3')?.sk.waitingSenders ?? 0) > 0);
      const sock = httpSocketOf(server, 'slow3')!;
      const del = await server.request('DELETE', '/v1/devices/slow3');
      assert.equal(del.status, 200, del.text);
      const p = assertProblem(await pending, 409, 'ENETDOWN');
      assert.equal(p.sent, sock.sent);
      assert.ok(sock.closed, 'the HTTP socket of a deleted device is closed');
      assert.equal(httpSocketOf(server, 'slow3'), undefined);
      // A new device of the same name gets a new socket.
      const again = await server.request('POST', '/v1/devices', { body: { kind: 'dummy', name: 'slow3', up: true } });
      assert.equal(again.status, 201);
      assert.equal((await server.request('POST', '/v1/devices/slow3/frames', { raw: testFrame(), contentType: 'application/octet-stream' })).status, 202);
      assert.notEqual(httpSocketOf(server, 'slow3'), sock);
    });
  });
});

describe('frames at shutdown', () => {
  it('does not let a send waiting for buffer space hold up app.close(): the sender is answered', { timeout: 20_000 }, async () => {
    const server = await startServer();
    try {
      assert.equal((await server.request('PATCH', '/v1/stack/sysctl', { body: { 'net.core.wmem_default': 4608 } })).status, 200);
      const r = await server.request('POST', '/v1/devices', { body: { kind: 'dummy', name: 'slow9', up: true, speed_mbps: 0.00008 } });
      assert.equal(r.status, 201, r.text);
      const frames = Array.from({ length: 30 }, (_, i) => testFrame(60, i).toString('hex'));
      const pending = server.request('POST', '/v1/devices/slow9/frames', { body: { frames } });
      await until(() => (httpSocketOf(server, 'slow9')?.sk.waitingSenders ?? 0) > 0);
      const sock = httpSocketOf(server, 'slow9')!;
      // Without the preClose hook this waits for the send, which waits forever.
      await server.app.close();
      assert.equal(sock.sk.waitingSenders, 0);
      assert.ok(sock.closed);
      const answer = await pending.then(
        (reply) => reply.status,
        () => 'connection closed',
      );
      assert.ok(answer === 409 || answer === 'connection closed', `answered ${String(answer)}`);
    } finally {
      await server.close();
    }
  });
});
