// The seam a protocol plugs into (the model: gVisor's
// pkg/tcpip/stack/registration.go). A NetStack is built from a list of
// protocols; each one, when attached, registers what it needs with the
// stack: its ethertype handlers (stack.ptypes), a notifier listener
// (stack.notifier), its sysctls (stack.sysctl.register), its socket family
// (stack.sockets) and its counters. Nothing below a protocol knows it exists.

import type { NetStack } from './netstack.ts';

export interface NetProtocol {
  readonly name: string; // 'packet' | 'vlan' | 'inet' ...
  /** Register ethertype handlers (stack.ptypes), notifier listener, sysctls, socket families, counters. */
  attach(stack: NetStack): void;
  /** stack.close(): close sockets, cancel timers, free buffers. */
  close?(): void;
}
