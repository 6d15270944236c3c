// VLAN as a protocol of the stack: the device kind, the 802.1Q tag stripped
// from frames no channel took (vlan/receive.ts), and the netdevice listener that keeps channels in step with
// their parent (vlan_device_event): carrier, MTU, and removal with it.

import type { NetDevice } from '../dev/netdevice.ts';
import type { NetdevEvent } from '../dev/notifier.ts';
import { devSetMtu } from '../dev/control.ts';
import { unregisterNetdevice } from '../dev/register.ts';
import { ETH_P_8021Q } from '../wire/eth.ts';
import type { NetProtocol } from '../stack/protocol.ts';
import type { NetStack } from '../stack/netstack.ts';
import type { DeviceKind } from '../rtnl/kind.ts';
import { vlanChannels, vlanTransferOperstate } from './device.ts';
import { vlanEncap } from './receive.ts';
import { vlanKind } from './kind.ts';

export class VlanProtocol implements NetProtocol {
  readonly name = 'vlan';
  private stack: NetStack | null = null;
  private unsubscribe: (() => void) | null = null;

  attach(stack: NetStack): void {
    this.stack = stack;
    stack.linkKinds.register(vlanKind as unknown as DeviceKind);
    stack.ptypes.encap.set(ETH_P_8021Q, vlanEncap);
    this.unsubscribe = stack.notifier.subscribe((event, dev) => this.deviceEvent(event, dev));
  }

  /** vlan_device_event: what a parent's change means for its channels. */
  private deviceEvent(event: NetdevEvent, dev: NetDevice): void {
    if (event !== 'UP' && event !== 'DOWN' && event !== 'CHANGE' && event !== 'CHANGEMTU' && event !== 'UNREGISTER') return;
    const channels = vlanChannels(dev);
    if (channels.length === 0) return;
    switch (event) {
      case 'CHANGEMTU':
        // A channel can be no larger than its parent.
        for (const vdev of channels) {
          vdev.maxMtu = dev.mtu;
          if (vdev.mtu > dev.mtu) devSetMtu(vdev, dev.mtu);
        }
        return;
      case 'UNREGISTER':
        // The parent is gone: its channels go with it.
        for (const vdev of channels) unregisterNetdevice(this.stack!.devices, vdev);
        return;
      default:
        for (const vdev of channels) vlanTransferOperstate(vdev);
    }
  }

  close(): void {
    if (this.stack?.ptypes.encap.get(ETH_P_8021Q) === vlanEncap) this.stack.ptypes.encap.delete(ETH_P_8021Q);
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.stack?.linkKinds.unregister('vlan');
  }
}
