// Per-device families, shaped like node_exporter's netdev and netclass
// collectors so that existing dashboards read them the same way. The
// counters are the device's own stats (what `ip -s link` prints), read at
// scrape time.

import type { NetStack } from '../stack/index.ts';
import type { DeviceStats, NetDevice } from '../dev/netdevice.ts';
import { formatMac } from '../wire/mac.ts';
import type { FamilySet, Emit } from './family.ts';
import { deviceLabels } from './labels.ts';

type DeviceLabel = 'device';

interface DeviceNumber {
  name: string;
  help: string;
  read(dev: NetDevice, stats: DeviceStats): number;
}

const DEVICE_COUNTERS: readonly DeviceNumber[] = [
  {
    name: 'netstack_network_receive_bytes_total',
    help: 'Bytes of the frames this device received and handed to the stack (netif_rx), link header included; ip -s link RX bytes.',
    read: (_dev, s) => s.rxBytes,
  },
  {
    name: 'netstack_network_receive_packets_total',
    help: 'Frames this device received and handed to the stack (netif_rx); ip -s link RX packets.',
    read: (_dev, s) => s.rxPackets,
  },
  {
    name: 'netstack_network_receive_drop_total',
    help: 'Frames this device received but dropped before any protocol saw them (backlog full, VLAN channel down); ip -s link RX dropped.',
    read: (_dev, s) => s.rxDropped,
  },
  {
    name: 'netstack_network_receive_errs_total',
    help: 'Frames this device received that were malformed (shorter than a link header); ip -s link RX errors.',
    read: (_dev, s) => s.rxErrors,
  },
  {
    name: 'netstack_network_receive_multicast_total',
    help: 'Multicast frames this device accepted (its own multicast list, allmulti or promisc); ip -s link RX mcast.',
    read: (_dev, s) => s.multicast,
  },
  {
    name: 'netstack_network_receive_nohandler_total',
    help: 'Frames this device received that no protocol handler or packet socket wanted; ip -s -s link RX nohandler.',
    read: (_dev, s) => s.rxNohandler,
  },
  {
    name: 'netstack_network_transmit_bytes_total',
    help: 'Bytes of the frames this device transmitted (its driver accepted them), link header included; ip -s link TX bytes.',
    read: (_dev, s) => s.txBytes,
  },
  {
    name: 'netstack_network_transmit_packets_total',
    help: 'Frames this device transmitted (its driver accepted them); ip -s link TX packets.',
    read: (_dev, s) => s.txPackets,
  },
  {
    name: 'netstack_network_transmit_drop_total',
    help: 'Frames handed to this device for transmission that it dropped (device or peer down, too big, busy without a queue); ip -s link TX dropped.',
    read: (_dev, s) => s.txDropped,
  },
  {
    name: 'netstack_network_transmit_errs_total',
    help: 'Frames this device failed to transmit because of a driver error; ip -s link TX errors.',
    read: (_dev, s) => s.txErrors,
  },
  {
    name: 'netstack_network_carrier_changes_total',
    help: 'Times the carrier of this device went on or off (a veth end gets carrier when both ends are up).',
    read: (_dev, s) => s.carrierChanges,
  },
  {
    name: 'netstack_network_transmit_timeouts_total',
    help: 'Times the transmit watchdog found this device queue stopped too long and restarted it.',
    read: (_dev, s) => s.txTimeouts,
  },
];

const DEVICE_GAUGES: readonly DeviceNumber[] = [
  {
    // node_exporter reads operstate "up"; a dummy or loopback device reports
    // UNKNOWN there even when it moves frames, so admin up with carrier is the
    // honest "frames can flow" signal here.
    name: 'netstack_network_up',
    help: '1 when the device is administratively up and has carrier (flags UP and LOWER_UP: frames can flow), else 0. Unlike node_exporter, an up dummy or lo (operstate UNKNOWN) counts as 1.',
    read: (dev) => (dev.isRunning() ? 1 : 0),
  },
  {
    name: 'netstack_network_mtu_bytes',
    help: 'Largest payload this device sends in one frame, link header not included (MTU).',
    read: (dev) => dev.mtu,
  },
  {
    name: 'netstack_network_transmit_queue_length',
    help: 'Frames the transmit queue (pfifo_fast) may hold before it drops: the device txqueuelen, as node_exporter reports it.',
    read: (dev) => dev.txQueueLen,
  },
];

function perDevice(stack: NetStack, read: (dev: NetDevice, stats: DeviceStats) => number): (emit: Emit<DeviceLabel>) => void {
  return (emit) => {
    for (const dev of stack.devices.list()) emit(deviceLabels(dev), read(dev, dev.getStats()));
  };
}

type InfoLabel = 'device' | 'kind' | 'address' | 'broadcast' | 'operstate' | 'adminstate';

export function registerDeviceMetrics(set: FamilySet, stack: NetStack): void {
  for (const f of DEVICE_COUNTERS) {
    set.counter({ name: f.name, help: f.help, labelNames: ['device'], read: perDevice(stack, f.read) });
  }
  for (const f of DEVICE_GAUGES) {
    set.gauge({ name: f.name, help: f.help, labelNames: ['device'], read: perDevice(stack, f.read) });
  }
  set.gauge<InfoLabel>({
    name: 'netstack_network_info',
    help: 'Always 1; the labels describe the device: driver kind, MAC address, broadcast address, operstate (RFC 2863, as ip link shows it) and adminstate (up or down).',
    labelNames: ['device', 'kind', 'address', 'broadcast', 'operstate', 'adminstate'],
    read(emit) {
      for (const dev of stack.devices.list()) {
        emit(
          {
            device: dev.name,
            kind: dev.kind,
            address: formatMac(dev.devAddr),
            broadcast: formatMac(dev.broadcast),
            operstate: dev.operstate().toLowerCase(),
            adminstate: dev.isUp() ? 'up' : 'down',
          },
          1,
        );
      }
    },
  });
}
