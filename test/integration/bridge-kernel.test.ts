// Our bridge against a Linux kernel bridge, in a network namespace this test
// creates: the same topology (a bridge br0 with port p0, whose veth peer h0
// sends one ARP request) on both sides, and `bridge fdb show br br0`'s
// "master" lines compared with what netstackctl prints for ours (the entries
// of the bridge's own table; the ports' own "self" multicast entries are the
// port drivers', which we do not model). Addresses are fixed so the lines
// can be compared byte for byte. Everything is removed in `finally`.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { NetStack, createDevice, setLink } from '../../src/stack/index.ts';
import { formatFdbRow } from '../../src/cli/commands/bridge.ts';

const NS = `brk-${process.pid}`;
const MAC = { br0: '02:00:00:00:b0:00', p0: '02:00:00:00:b0:01', h0: '02:00:00:00:00:01' };
// who-has 192.0.2.2 tell 192.0.2.1, from h0
const ARP = 'ffffffffffff02000000000108060001080006040001020000000001c0000201000000000000c0000202';

function run(args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function whyNot(): string | null {
  if (process.getuid?.() !== 0) return 'needs root for ip netns';
  try {
    execFileSync('sh', ['-c', 'command -v ip && command -v bridge && command -v arping'], { stdio: 'ignore' });
  } catch {
    return 'needs ip, bridge (iproute2) and arping (iputils-arping)';
  }
  return null;
}

test('bridge fdb show: our lines are the kernel bridge\'s for the same topology', { skip: whyNot() ?? false }, async () => {
  let kernel: string[];
  try {
    run(['netns', 'add', NS]);
    const ns = (...a: string[]): string => run(['-n', NS, ...a]);
    ns('link', 'add', 'br0', 'address', MAC.br0, 'type', 'bridge');
    ns('link', 'add', 'h0', 'address', MAC.h0, 'type', 'veth', 'peer', 'name', 'p0', 'address', MAC.p0);
    ns('link', 'set', 'dev', 'p0', 'master', 'br0');
    // No IPv6: the kernel would send router solicitations and MLD reports of its own.
    for (const dev of ['br0', 'h0', 'p0']) execFileSync('ip', ['netns', 'exec', NS, 'sysctl', '-q', '-w', `net.ipv6.conf.${dev}.disable_ipv6=1`]);
    for (const dev of ['br0', 'p0', 'h0']) ns('link', 'set', 'dev', dev, 'up');
    ns('addr', 'add', '192.0.2.1/24', 'dev', 'h0');
    try {
      execFileSync('ip', ['netns', 'exec', NS, 'arping', '-c', '1', '-w', '1', '-I', 'h0', '192.0.2.2'], { stdio: 'ignore' });
    } catch {
      // No answer is expected: the request itself is what the bridge learns from.
    }
    kernel = execFileSync('ip', ['netns', 'exec', NS, 'bridge', 'fdb', 'show', 'br', 'br0'], { encoding: 'utf8' })
      .split('\n')
      .filter((l) => l.includes(' master br0'))
      .map((l) => l.trim());
  } finally {
    try {
      run(['netns', 'del', NS]);
    } catch {
      // Already gone.
    }
  }

  const stack = new NetStack();
  try {
    const [br0] = await createDevice(stack, { kind: 'bridge', name: 'br0', address: MAC.br0, up: true });
    await createDevice(stack, { kind: 'veth', name: 'h0', address: MAC.h0, peer: 'p0', up: true });
    setLink(stack, 'p0', { address: MAC.p0, master: 'br0' });
    stack.openPacketSocket({ dev: stack.getDevice('h0') }).send(Buffer.from(ARP, 'hex'));
    stack.drain();
    const owner = { ifname: 'br0', kind: 'bridge' } as Parameters<typeof formatFdbRow>[1];
    const ours = br0!.ops.fdbDump!(br0!).map((r) => formatFdbRow(r, owner));
    // The kernel also keeps "vlan 1" twins of the local entries when VLAN filtering is on; it is off here.
    assert.deepEqual([...ours].sort(), [...kernel].sort());
    assert.ok(ours.includes(`${MAC.h0} dev p0 master br0`), 'the learned entry, without a state word');
  } finally {
    stack.close();
  }
});
