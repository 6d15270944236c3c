// GET /v1/stack and PATCH /v1/stack/sysctl: the whole stack's counters (the
// seed's show_net_buffers() and more) and its sysctls (net.core, net.ipv4, net.ipv4.tcp_*).

import type { FastifyPluginAsyncZod } from 'fastify-type-provider-zod';
import type { NetStack } from '../../../stack/index.ts';
import { DROP_REASONS, dropReasonLabel } from '../../../skb/drop-reason.ts';
import { problemResponses, StackView, SysctlMap, SysctlPatch, type StackOut, type SysctlMapOut } from '../schemas/index.ts';

export function stackOut(stack: NetStack, startedAt: number): StackOut {
  const p = stack.pool.stats;
  const sn = stack.softnet.stats;
  const drops = {} as StackOut['drops'];
  for (const reason of DROP_REASONS) drops[dropReasonLabel(reason) as keyof StackOut['drops']] = stack.drops[reason];
  return {
    skb: {
      in_use: p.inUse,
      bytes: p.bytes,
      allocs: p.allocs,
      frees: p.frees,
      clones: p.clones,
      copies: p.copies,
      alloc_failures: p.allocFailures,
      double_frees: p.doubleFrees,
    },
    backlog: {
      length: stack.softnet.backlog.length,
      max: stack.sysctl.get('net.core.netdev_max_backlog'),
      processed: sn.processed,
      dropped: sn.dropped,
      time_squeeze: sn.timeSqueeze,
    },
    drops,
    drops_total: stack.totalDrops(),
    sysctl: stack.sysctl.snapshot() as StackOut['sysctl'],
    devices: stack.devices.size,
    sockets: stack.sockets.size,
    uptime_s: Math.max(0, (stack.clock.now() - startedAt) / 1000),
  };
}

const stackRoutes: FastifyPluginAsyncZod<{ stack: NetStack }> = async function stackRoutes(app, { stack }) {
  const startedAt = stack.clock.now();

  app.get(
    '/v1/stack',
    {
      schema: {
        summary: 'Stack counters: sk_buffs, backlog, drops by reason, sysctls',
        tags: ['stack'],
        response: { 200: StackView },
      },
    },
    async () => stackOut(stack, startedAt),
  );

  app.patch(
    '/v1/stack/sysctl',
    {
      schema: {
        summary: 'Set sysctls (net.core and those the protocols registered)',
        description: 'All values are checked before any is set. Unknown name or congestion control: 404 ENOENT; value out of range or of the wrong shape: 400 EINVAL; a read-only sysctl (tcp_available_congestion_control): 403 EACCES. Answers the whole map.',
        tags: ['stack'],
        body: SysctlPatch,
        response: { 200: SysctlMap, ...problemResponses(400, 403, 404, 413, 415) },
      },
    },
    async (request) => {
      stack.sysctl.set(request.body);
      return stack.sysctl.snapshot() as SysctlMapOut;
    },
  );
};

export default stackRoutes;
