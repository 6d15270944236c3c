// The bridge device (net/bridge): ports join and leave, the forwarding table
// learns sources and ages them out on the stack's clock, unknown unicast,
// broadcast and multicast are flooded, known unicast goes to one port only,
// the bridge's own frames go up the stack, and every frame is accounted for.
//
//   h0 --veth-- p0 \
//   h1 --veth-- p1 -- br0
//   h2 --veth-- p2 /

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createDevice, deleteDevice, setLink, type NetStack } from '../../src/stack/index.ts';
import type { NetDevice } from '../../src/dev/netdevice.ts';
import type { PacketSocket } from '../../src/packet/socket.ts';
import { formatMac } from '../../src/wire/mac.ts';
import { virtualStack } from '../helpers/stack.ts';
import { assertQuiet } from '../helpers/conservation.ts';
import { isNetError } from '../../src/errno.ts';

interface Lab {
  stack: NetStack;
  clock: ReturnType<typeof virtualStack>['clock'];
  br: NetDevice;
  hosts: NetDevice[];
  ports: NetDevice[];
  /** A socket on each host end, receiving what arrives there (direction in). */
  rx: PacketSocket[];
  /** A socket on each host end, for sending. */
  tx: PacketSocket[];
  brRx: PacketSocket;
}

async function lab(): Promise<Lab> {
  const { stack, clock } = virtualStack();
  const [br] = await createDevice(stack, { kind: 'bridge', name: 'br0', up: true });
  const hosts: NetDevice[] = [];
  const ports: NetDevice[] = [];
  for (let i = 0; i < 3; i++) {
    const [h, p] = await createDevice(stack, { kind: 'veth', name: `h${i}`, peer: `p${i}`, up: true });
    hosts.push(h!);
    ports.push(p!);
    setLink(stack, `p${i}`, { master: 'br0' });
  }
  // Promiscuous, so a host sees a flooded frame for another address (what crossed the wire).
  const rx = hosts.map((dev) => stack.openPacketSocket({ dev, direction: 'in', promisc: true }));
  const tx = hosts.map((dev) => stack.openPacketSocket({ dev, direction: 'in' }));
  const brRx = stack.openPacketSocket({ dev: br!, direction: 'in' });
  return { stack, clock, br: br!, hosts, ports, rx, tx, brRx };
}

function frame(dst: Buffer | string, src: Buffer, tag: number): Buffer {
  const f = Buffer.alloc(60);
  (typeof dst === 'string' ? Buffer.from(dst.replace(/:/g, ''), 'hex') : dst).copy(f, 0);
  src.copy(f, 6);
  f.writeUInt16BE(0x88b5, 12);
  f.writeUInt32BE(tag, 14);
  return f;
}

/** Tags received on each host, and on br0, since the last call. */
function received(l: Lab): { hosts: number[][]; br: number[] } {
  l.stack.drain();
  const take = (s: PacketSocket): number[] => {
    const out: number[] = [];
    for (let f = s.recvFrame(); f !== null; f = s.recvFrame()) out.push(f.data.readUInt32BE(14));
    return out;
  };
  return { hosts: l.rx.map(take), br: take(l.brRx) };
}

function close(l: Lab): void {
  for (const s of [...l.rx, ...l.tx, l.brRx]) s.close();
  l.stack.drain();
  assertQuiet(l.stack);
  l.stack.close();
}

test('ports join with master and are promiscuous; the table holds the ports\' and the bridge\'s own addresses as permanent', async () => {
  const l = await lab();
  for (const p of l.ports) {
    assert.equal(p.master, l.br);
    assert.ok(p.promiscuity > 0, `${p.name} promiscuous`);
  }
  const fdb = l.br.ops.fdbDump!(l.br);
  assert.deepEqual(
    fdb.map((e) => [e.ifname, e.mac, e.state]).sort(),
    [['br0', formatMac(l.br.devAddr), 'permanent'], ...l.ports.map((p) => [p.name, formatMac(p.devAddr), 'permanent'])].sort(),
  );
  setLink(l.stack, 'p2', { master: null });
  assert.equal(l.ports[2]!.master, null);
  assert.equal(l.ports[2]!.promiscuity, 0);
  assert.ok(!l.br.ops.fdbDump!(l.br).some((e) => e.ifname === 'p2'), 'a port that leaves takes its entries along');
  close(l);
});

test('unknown unicast and broadcast flood to every other port; a learned address is then reached through its port only', async () => {
  const l = await lab();
  const [h0, h1] = l.hosts;
  // h0 -> h1, h1 not yet known: flooded to h1 and h2, not back to h0, not up on br0.
  l.tx[0]!.send(frame(h1!.devAddr, h0!.devAddr, 1));
  assert.deepEqual(received(l), { hosts: [[], [1], [1]], br: [] });
  // h0 is learned on p0.
  const learned = l.br.ops.fdbDump!(l.br).find((e) => e.mac === formatMac(h0!.devAddr));
  assert.deepEqual(learned, { mac: formatMac(h0!.devAddr), ifname: 'p0', state: 'learned', flags: [], age_s: 0 });
  // h1 -> h0: known, so only h0 gets it.
  l.tx[1]!.send(frame(h0!.devAddr, h1!.devAddr, 2));
  assert.deepEqual(received(l), { hosts: [[2], [], []], br: [] });
  // Broadcast: every other port and br0 itself.
  l.tx[2]!.send(frame('ff:ff:ff:ff:ff:ff', l.hosts[2]!.devAddr, 3));
  assert.deepEqual(received(l), { hosts: [[3], [3], []], br: [3] });
  // Multicast floods too (no snooping).
  l.tx[0]!.send(frame('01:00:5e:00:00:fb', h0!.devAddr, 4));
  assert.deepEqual(received(l), { hosts: [[], [4], [4]], br: [4] });
  close(l);
});

test('frames to the bridge\'s address go up on br0; frames sent on br0 are forwarded or flooded', async () => {
  const l = await lab();
  l.tx[1]!.send(frame(l.br.devAddr, l.hosts[1]!.devAddr, 7));
  assert.deepEqual(received(l), { hosts: [[], [], []], br: [7] });
  const brTx = l.stack.openPacketSocket({ dev: l.br, direction: 'in' });
  // h1 was learned above: br0 -> h1 goes to p1 only; unknown goes to every port.
  brTx.send(frame(l.hosts[1]!.devAddr, l.br.devAddr, 8));
  brTx.send(frame('02:00:00:00:99:99', l.br.devAddr, 9));
  assert.deepEqual(received(l), { hosts: [[9], [8, 9], [9]], br: [] });
  brTx.close();
  close(l);
});

test('learned entries age out after ageing_time on the stack clock; static ones stay; add and del', async () => {
  const l = await lab();
  const h0 = formatMac(l.hosts[0]!.devAddr);
  l.tx[0]!.send(frame('ff:ff:ff:ff:ff:ff', l.hosts[0]!.devAddr, 1));
  received(l);
  l.br.ops.fdbAdd!(l.br, { mac: '02:00:00:00:00:aa', ifname: 'p2' });
  await l.clock.advance(299_000);
  assert.equal(l.br.ops.fdbDump!(l.br).find((e) => e.mac === h0)?.age_s, 299);
  await l.clock.advance(1_000);
  assert.equal(l.br.ops.fdbDump!(l.br).find((e) => e.mac === h0), undefined, 'aged out at 300 s');
  assert.deepEqual(l.br.ops.fdbDump!(l.br).find((e) => e.mac === '02:00:00:00:00:aa'), { mac: '02:00:00:00:00:aa', ifname: 'p2', state: 'static', flags: [] });
  // The static entry steers traffic: h0 -> 02:..:aa goes to h2 only.
  l.tx[0]!.send(frame('02:00:00:00:00:aa', l.hosts[0]!.devAddr, 5));
  assert.deepEqual(received(l).hosts, [[], [], [5]]);
  const errno = (fn: () => void): string => {
    try {
      fn();
    } catch (e) {
      if (isNetError(e)) return e.errno;
      throw e;
    }
    return 'none';
  };
  assert.equal(errno(() => l.br.ops.fdbAdd!(l.br, { mac: '02:00:00:00:00:aa', ifname: 'p1' })), 'EEXIST');
  assert.equal(errno(() => l.br.ops.fdbAdd!(l.br, { mac: '02:00:00:00:00:bb', ifname: 'h0' })), 'EINVAL');
  assert.equal(errno(() => l.br.ops.fdbAdd!(l.br, { mac: '01:00:5e:00:00:01', ifname: 'p1' })), 'EINVAL');
  l.br.ops.fdbDel!(l.br, '02:00:00:00:00:aa');
  assert.equal(errno(() => l.br.ops.fdbDel!(l.br, '02:00:00:00:00:aa')), 'ENOENT');
  close(l);
});

test('master checks: unknown bridge, not a bridge, a bridge in a bridge, a port of another; nothing applied on refusal', async () => {
  const l = await lab();
  const [br1] = await createDevice(l.stack, { kind: 'bridge', name: 'br1' });
  const errno = (fn: () => void): string => {
    try {
      fn();
    } catch (e) {
      if (isNetError(e)) return e.errno;
      throw e;
    }
    return 'none';
  };
  assert.equal(errno(() => setLink(l.stack, 'h0', { master: 'nosuch' })), 'ENODEV');
  assert.equal(errno(() => setLink(l.stack, 'h0', { master: 'h1' })), 'EOPNOTSUPP');
  assert.equal(errno(() => setLink(l.stack, 'br1', { master: 'br0' })), 'EINVAL');
  assert.equal(errno(() => setLink(l.stack, 'p0', { master: 'br1' })), 'EBUSY');
  assert.equal(errno(() => setLink(l.stack, 'h0', { mtu: 1400, master: 'nosuch' })), 'ENODEV');
  assert.equal(l.hosts[0]!.mtu, 1500, 'a refused request changes nothing');
  // Deleting a port's device takes it out; deleting the bridge frees its ports.
  deleteDevice(l.stack, 'h2');
  assert.deepEqual(l.br.ops.fdbDump!(l.br).filter((e) => e.ifname === 'p2'), []);
  deleteDevice(l.stack, 'br0');
  assert.equal(l.ports[0]!.master, null);
  assert.equal(l.ports[0]!.rxHandler, null);
  assert.equal(l.ports[0]!.promiscuity, 0);
  void br1;
  for (const s of [...l.rx, ...l.tx, l.brRx]) s.close();
  l.stack.drain();
  l.stack.close();
});
