// Label sets that stay the same object from one scrape to the next, as long
// as what they say is unchanged. They are frozen: exposition.ts renders a
// frozen label set once and reuses the text, which halves the cost of
// writing 20-odd per-device families for 1000 devices.

import type { NetDevice } from '../dev/netdevice.ts';
import type { StackSocket } from '../sock/table.ts';

export type DeviceLabels = Readonly<Record<'device', string>>;
export type SocketLabels = Readonly<Record<'socket' | 'device', string>>;

const byDevice = new WeakMap<NetDevice, DeviceLabels>();
const bySocket = new WeakMap<StackSocket, SocketLabels>();

/** { device: name }, renewed when the device is renamed. */
export function deviceLabels(dev: NetDevice): DeviceLabels {
  const cached = byDevice.get(dev);
  if (cached !== undefined && cached.device === dev.name) return cached;
  const labels = Object.freeze({ device: dev.name });
  byDevice.set(dev, labels);
  return labels;
}

/**
 * The device a socket is bound to, or "all" when bound to none. A socket
 * whose device was deleted stays open (its reader gets ENETDOWN) but belongs
 * to no current device: it shows as "gone:NAME", which no device can be
 * called (names cannot hold ':'), so it never mixes with a new device of the
 * same name.
 */
function socketDevice(sock: StackSocket): string {
  const dev = sock.boundDev;
  if (dev === null) return 'all';
  return dev.registered ? dev.name : `gone:${dev.name}`;
}

/** { socket: id, device }, renewed when the socket's device changes name or goes away. */
export function socketLabels(sock: StackSocket): SocketLabels {
  const device = socketDevice(sock);
  const cached = bySocket.get(sock);
  if (cached !== undefined && cached.device === device) return cached;
  const labels = Object.freeze({ socket: String(sock.id), device });
  bySocket.set(sock, labels);
  return labels;
}

/** A label set fixed for the life of the registry (drop reasons). */
export function fixedLabels<L extends string>(labels: Record<L, string>): Readonly<Record<L, string>> {
  return Object.freeze(labels);
}
