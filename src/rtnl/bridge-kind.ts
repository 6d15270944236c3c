// `ip link add NAME type bridge [ageing_time S]` as a device kind. Ports join
// afterwards with `ip link set dev X master NAME` (rtnl/link.ts). Imported for
// its side effect by src/rtnl/index.ts.

import { bridgeAgeing, createBridge, setBridgeAgeing } from '../dev/drivers/bridge.ts';
import { registerDeviceKind, type CommonSettings } from './devices.ts';

export interface BridgeSpec extends CommonSettings {
  kind: 'bridge';
  name?: string;
  /** Seconds a learned address stays in the forwarding table (ageing_time; default 300, 0 keeps it). */
  ageing_time?: number;
}

declare module './devices.ts' {
  interface DeviceSpecs {
    bridge: BridgeSpec;
  }
}

registerDeviceKind<BridgeSpec>({
  kind: 'bridge',
  create: (stack, spec) => {
    const br = createBridge(stack);
    if (spec.ageing_time !== undefined) setBridgeAgeing(br, spec.ageing_time);
    return [{ dev: br, name: spec.name ?? 'br%d' }];
  },
  // Not registered: release the notifier subscription and the fdb.
  abandon: (dev) => dev.ops.uninit?.(dev),
  snapshot: (dev) => ({ ageing_time: bridgeAgeing(dev) }),
});
