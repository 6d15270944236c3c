// Two hosts on one virtual clock joined by a cable (test/helpers/inet.ts),
// eth0 192.0.2.1/24 and 192.0.2.2/24, with each one's TCP at hand: the
// setup of the TCP tests that need no veth (sysctls, the socket table).

import { VirtualClock } from '../../src/clock.ts';
import { tcpOf } from '../../src/inet/tcp-glue.ts';
import { cable, host } from './inet.ts';

export function tcpHosts() {
  const clock = new VirtualClock();
  const a = host(clock);
  const b = host(clock);
  cable(a, b);
  a.inet.addrAdd('eth0', '192.0.2.1/24');
  b.inet.addrAdd('eth0', '192.0.2.2/24');
  return { clock, a, b, ta: tcpOf(a.inet)!, tb: tcpOf(b.inet)! };
}
