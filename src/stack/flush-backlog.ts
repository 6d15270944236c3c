// flush_backlog: when a device is unregistered, the frames it received that
// still wait in the backlog are freed at once (DEV_READY), so their senders
// are credited now rather than when the bottom half next runs.

import type { SkbQueue } from '../skb/queue.ts';
import type { SkBuff } from '../skb/skbuff.ts';
import type { NetDevice } from '../dev/netdevice.ts';

export function flushBacklog(backlog: SkbQueue, dev: NetDevice): number {
  let n = 0;
  for (let skb: SkBuff | null = backlog.peek(); skb !== null; ) {
    const next: SkBuff | null = skb.next;
    if (skb.dev === dev) {
      backlog.unlink(skb);
      skb.drop('DEV_READY');
      n++;
    }
    skb = next;
  }
  return n;
}
