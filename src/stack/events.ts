// The stack's event bus: what rtnetlink's multicast groups are to `ip monitor`.
// Producers publish one typed event per change (a link registered, changed or
// removed; later addresses, routes, neighbours, sockets); listeners (the
// /v1/events WebSocket) turn the object into its API shape at once, so each
// event is a snapshot of the moment it happened. Nothing is built when nobody
// listens: producers test `listening` first, one branch, as the kernel's
// rtnl_notify does nothing for a group with no members.

import type { NetDevice } from '../dev/netdevice.ts';
import type { StackSocket } from '../sock/table.ts';

/** The object each event type carries; addr/route/neigh producers refine theirs when they land. */
export interface StackEventObjects {
  link: NetDevice;
  addr: object;
  route: object;
  neigh: object;
  socket: StackSocket;
}

export type StackEventType = keyof StackEventObjects;
export const STACK_EVENT_TYPES: readonly StackEventType[] = ['link', 'addr', 'route', 'neigh', 'socket'];

/** RTM_NEW*, RTM_DEL*, and a change to an object that stays. */
export type StackEventAction = 'new' | 'del' | 'change';

export type StackEventListener = <T extends StackEventType>(type: T, action: StackEventAction, object: StackEventObjects[T]) => void;

export class EventBus {
  private listeners: StackEventListener[] = [];

  /** `onError` hears of a listener that threw (the stack logs it); the others still run. */
  constructor(private readonly onError: (err: unknown, type: StackEventType) => void = () => {}) {}

  /** True when someone listens: producers skip building events otherwise. */
  get listening(): boolean {
    return this.listeners.length > 0;
  }

  /** Returns the unsubscribe function. */
  subscribe(fn: StackEventListener): () => void {
    this.listeners = [...this.listeners, fn];
    return () => {
      this.listeners = this.listeners.filter((l) => l !== fn);
    };
  }

  /** Listeners run synchronously, in order; one that throws does not stop the others. */
  publish<T extends StackEventType>(type: T, action: StackEventAction, object: StackEventObjects[T]): void {
    for (const fn of this.listeners) {
      try {
        fn(type, action, object);
      } catch (err) {
        // The producer is the stack, which must not throw here.
        this.onError(err, type);
      }
    }
  }
}
