import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ethTypeTrans } from '../../src/proto/eth.ts';
import { ETH_P_ALL, ProtocolTable, type PacketHandler } from '../../src/proto/ptype.ts';
import { allocSkbFrom, PacketType, type SkBuff } from '../../src/skb/index.ts';
import { createDevice, NetStack } from '../../src/stack/index.ts';
import { ETH_P_802_2, ETH_P_802_3 } from '../../src/wire/eth.ts';
import type { NetDevice } from '../../src/dev/netdevice.ts';
import { buildFrame, ETH_P_TEST } from '../helpers/frames.ts';

async function withDevice(fn: (stack: NetStack, dev: NetDevice, skbOf: (f: Buffer) => SkBuff) => void): Promise<void> {
  const stack = new NetStack();
  const [dev] = await createDevice(stack, { kind: 'dummy', address: '02:00:00:00:00:01' });
  const skbOf = (f: Buffer): SkBuff => {
    const skb = allocSkbFrom(stack.pool, f.length + 16);
    assert.ok(skb);
    skb.reserve(16);
    skb.putData(f);
    return skb;
  };
  fn(stack, dev!, skbOf);
  stack.close();
}

test('ethTypeTrans: pkt_type from the destination address', async () => {
  await withDevice((_stack, dev, skbOf) => {
    const cases: [string, PacketType][] = [
      ['02:00:00:00:00:01', PacketType.HOST],
      ['ff:ff:ff:ff:ff:ff', PacketType.BROADCAST],
      ['01:00:5e:00:00:01', PacketType.MULTICAST],
      ['33:33:00:00:00:01', PacketType.MULTICAST],
      ['ff:ff:ff:ff:ff:fe', PacketType.MULTICAST],
      ['02:00:00:00:00:02', PacketType.OTHERHOST],
      ['03:00:00:00:00:01', PacketType.MULTICAST],
    ];
    for (const [dst, want] of cases) {
      const skb = skbOf(buildFrame({ dst, type: 0x0800 }));
      assert.equal(ethTypeTrans(skb, dev), 0x0800);
      assert.equal(skb.pktType, want, dst);
      skb.free();
    }
  });
});

test('ethTypeTrans leaves data at the network header and macHeader at the Ethernet header', async () => {
  await withDevice((_stack, dev, skbOf) => {
    const skb = skbOf(buildFrame({ dst: dev, type: ETH_P_TEST, size: 60 }));
    const start = skb.data;
    const buf = skb.buf;
    assert.equal(ethTypeTrans(skb, dev), ETH_P_TEST);
    assert.equal(skb.macHeader, start);
    assert.equal(skb.data, start + 14);
    assert.equal(skb.networkHeader, start + 14);
    assert.equal(skb.len, 46);
    assert.equal(skb.dev, dev);
    assert.equal(skb.buf, buf, 'no copy');
    skb.free();
  });
});

test('ethTypeTrans: a length field is 802.3: raw (0xFFFF) or 802.2 LLC', async () => {
  await withDevice((_stack, dev, skbOf) => {
    const raw = skbOf(buildFrame({ dst: dev, type: 46, payload: Buffer.from([0xff, 0xff, 0, 0x2e, 0, 0]) }));
    assert.equal(ethTypeTrans(raw, dev), ETH_P_802_3);
    const llc = skbOf(buildFrame({ dst: dev, type: 46, payload: Buffer.from([0xaa, 0xaa, 0x03, 0, 0, 0]) }));
    assert.equal(ethTypeTrans(llc, dev), ETH_P_802_2);
    const shortLlc = skbOf(buildFrame({ dst: dev, type: 1, payload: Buffer.from([0xff]) }));
    assert.equal(ethTypeTrans(shortLlc, dev), ETH_P_802_2, 'one byte cannot be the 0xFFFF mark');
    const edge = skbOf(buildFrame({ dst: dev, type: 0x05ff, size: 60 }));
    assert.equal(ethTypeTrans(edge, dev), ETH_P_802_2, '0x05ff is still a length');
    const first = skbOf(buildFrame({ dst: dev, type: 0x0600, size: 60 }));
    assert.equal(ethTypeTrans(first, dev), 0x0600, '0x0600 is the first ethertype');
    for (const s of [raw, llc, shortLlc, edge, first]) s.free();
  });
});

test('the protocol table: taps, handlers by type, outgoing list of ETH_P_ALL taps only; remove takes a handler from all', () => {
  const t = new ProtocolTable();
  const mk = (type: number, extra: Partial<PacketHandler> = {}): PacketHandler => ({ type, dev: null, func: () => {}, ...extra });
  const tap = mk(ETH_P_ALL);
  const ip = mk(0x0800);
  const ip2 = mk(0x0800, { outgoing: true });
  const outOnly = mk(ETH_P_ALL, { incoming: false, outgoing: true });
  for (const h of [tap, ip, ip2, outOnly]) t.add(h);
  assert.deepEqual(t.all, [tap]);
  assert.deepEqual(t.base.get(0x0800), [ip, ip2]);
  assert.deepEqual(t.outgoing, [outOnly], 'a handler of one type never hears outgoing frames (dev_queue_xmit_nit)');
  t.remove(ip2);
  assert.deepEqual(t.base.get(0x0800), [ip]);
  assert.deepEqual(t.outgoing, [outOnly]);
  t.remove(ip);
  assert.equal(t.base.has(0x0800), false, 'an empty type list goes away');
  t.remove(outOnly);
  t.remove(tap);
  t.remove(tap);
  assert.deepEqual([t.all.length, t.outgoing.length, t.base.size], [0, 0, 0]);
});
