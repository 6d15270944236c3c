// Two NetStacks of one process with IPv4 and TCP, joined by a veth pair whose
// ends live one in each (createVethPair's peerCore, as a veth between two
// namespaces of one kernel: the skb itself crosses): veth0 192.0.2.1/24 in A,
// veth0 192.0.2.2/24 in B, both up. For the TCP tests over veth and
// bench/tcp.bench.ts, which measures the same path.

import { NetStack, type NetStackOptions } from '../../src/stack/netstack.ts';
import { createVethPair } from '../../src/dev/drivers/veth.ts';
import { registerNetdevice } from '../../src/dev/register.ts';
import { devOpen } from '../../src/dev/control.ts';
import { attachInet, inetInternals } from '../../src/inet/control.ts';
import { tcpOf } from '../../src/inet/tcp-glue.ts';

/** `a` and `b` are each stack's options (a shared clock goes in both). */
export function vethStacks(opts: { a?: NetStackOptions; b?: NetStackOptions } = {}) {
  const sa = new NetStack(opts.a);
  const sb = new NetStack(opts.b);
  attachInet(sa);
  attachInet(sb);
  const [va, vb] = createVethPair(sa, sb);
  registerNetdevice(sa.devices, va, 'veth0');
  registerNetdevice(sb.devices, vb, 'veth0');
  devOpen(va);
  devOpen(vb);
  const ia = inetInternals(sa)!;
  const ib = inetInternals(sb)!;
  ia.addrAdd('veth0', '192.0.2.1/24');
  ib.addrAdd('veth0', '192.0.2.2/24');
  return { sa, sb, va, vb, ia, ib, ta: tcpOf(ia)!, tb: tcpOf(ib)! };
}
