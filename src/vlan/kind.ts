// `ip link add link PARENT name NAME type vlan id VID [egress-qos-map P:Q ...]`
// as a device kind; the VLAN protocol registers it when it is attached.

import type { CommonSettings, DeviceKind } from '../stack/devices.ts';
import { createVlan } from './device.ts';

export interface VlanSpec extends CommonSettings {
  kind: 'vlan';
  name?: string;
  /** The parent device. */
  link: string;
  id: number;
  /** skb priority -> 802.1p PCP for frames sent (vlan egress-qos-map); unmapped priorities send 0. */
  egressQosMap?: Record<number, number>;
}

declare module '../stack/devices.ts' {
  interface DeviceSpecs {
    vlan: VlanSpec;
  }
}

export const vlanKind: DeviceKind<VlanSpec> = {
  create: (stack, spec) => {
    const parent = stack.devices.require(spec.link);
    const dev = createVlan(stack, parent, spec.id, spec.egressQosMap !== undefined ? { egressQosMap: spec.egressQosMap } : {});
    return [{ dev, name: spec.name ?? `${parent.name}.${spec.id}` }];
  },
};
