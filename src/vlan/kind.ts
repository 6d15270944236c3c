// `ip link add link PARENT name NAME type vlan id VID [egress-qos-map P:Q ...]`
// as a device kind; the VLAN protocol registers it when it is attached.

import type { CommonSettings } from '../rtnl/devices.ts';
import type { DeviceKind } from '../rtnl/kind.ts';
import { createVlan, vlanEgressQosMap, vlanId } from './device.ts';

export interface VlanSpec extends CommonSettings {
  kind: 'vlan';
  name?: string;
  /** The parent device. */
  link: string;
  id: number;
  /** skb priority -> 802.1p PCP for frames sent (vlan egress-qos-map); unmapped priorities send 0. */
  egress_qos_map?: Record<string, number>;
}

declare module '../rtnl/devices.ts' {
  interface DeviceSpecs {
    vlan: VlanSpec;
  }
}

export const vlanKind: DeviceKind<VlanSpec> = {
  kind: 'vlan',
  create: (stack, spec) => {
    const parent = stack.devices.require(spec.link);
    const dev = createVlan(stack, parent, spec.id, spec.egress_qos_map !== undefined ? { egressQosMap: spec.egress_qos_map } : {});
    return [{ dev, name: spec.name ?? `${parent.name}.${spec.id}` }];
  },
  snapshot: (dev) => {
    if (dev.link === null) return null;
    const qos = vlanEgressQosMap(dev);
    return {
      link: dev.link.name,
      id: vlanId(dev),
      ...(qos.length > 0 ? { egress_qos_map: Object.fromEntries(qos.map(([from, to]) => [String(from), to])) } : {}),
    };
  },
};
