// The netdevice notifier chain: later layers (sockets, metrics, state saving,
// streams) learn of device changes here instead of being called by drivers.

import type { NetDevice } from './netdevice.ts';

export const NETDEV_EVENTS = [
  'REGISTER',
  'UNREGISTER',
  'UP',
  'GOING_DOWN',
  'DOWN',
  'CHANGE',
  'CHANGEMTU',
  'CHANGEADDR',
  'CHANGENAME',
  'CHANGETXQLEN',
  'CHANGEMULTI',
] as const;
export type NetdevEvent = (typeof NETDEV_EVENTS)[number];

export type NetdevListener = (event: NetdevEvent, dev: NetDevice, info?: { oldName?: string }) => void;

export class Notifier {
  private listeners: NetdevListener[] = [];

  /** register_netdevice_notifier; returns the unsubscribe function. */
  subscribe(fn: NetdevListener): () => void {
    this.listeners.push(fn);
    return () => {
      this.listeners = this.listeners.filter((l) => l !== fn);
    };
  }

  /** call_netdevice_notifiers: a listener that throws is isolated from the others. */
  emit(event: NetdevEvent, dev: NetDevice, info?: { oldName?: string }): void {
    for (const fn of this.listeners) {
      try {
        fn(event, dev, info);
      } catch (err) {
        dev.core.log.error({ err, event, ifname: dev.name }, 'netdevice notifier failed');
      }
    }
  }
}
