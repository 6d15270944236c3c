// `tc [-s] qdisc show` as iproute2 prints it, from the JSON of
// `tc -s -j qdisc show` (which GET /v1/devices/{name}/qdisc returns): the
// header line with the kind's options, and with -s the Sent and backlog
// lines, trailing spaces and all.

export interface QdiscJson {
  kind: string;
  handle: string;
  dev?: string;
  root?: boolean;
  refcnt?: number;
  options?: Record<string, unknown>;
  bytes?: number;
  packets?: number;
  drops?: number;
  overlimits?: number;
  requeues?: number;
  backlog?: number;
  qlen?: number;
}

/** tc's sprint_size: 1Mb, 64Kb when close to a round number, else bytes. */
export function formatSize(sz: number): string {
  const kb = 1024;
  const mb = kb * kb;
  if (sz >= mb && Math.abs(mb * Math.round(sz / mb) - sz) < kb) return `${Math.round(sz / mb)}Mb`;
  if (sz >= kb && Math.abs(kb * Math.round(sz / kb) - sz) < 16) return `${Math.round(sz / kb)}Kb`;
  return `${sz}b`;
}

/** The kind's options as its tc print_qopt writes them. */
function formatOptions(q: QdiscJson): string {
  const o = q.options ?? {};
  switch (q.kind) {
    case 'pfifo_fast': {
      const map = Array.isArray(o.priomap) ? o.priomap.join(' ') : '';
      return `bands ${String(o.bands ?? 3)} priomap ${map}`;
    }
    case 'pfifo':
      return `limit ${String(o.limit)}p`;
    case 'bfifo':
      return `limit ${formatSize(Number(o.limit))}`;
    default:
      return '';
  }
}

/**
 * One qdisc, ending with a newline. `withDev` names the device, as tc does
 * when it lists every device (`tc qdisc show` without `dev`).
 */
export function formatQdisc(q: QdiscJson, opts: { stats: boolean; withDev: boolean }): string {
  const dev = opts.withDev && q.dev !== undefined ? `dev ${q.dev} ` : '';
  const where = q.root === false ? '' : 'root ';
  let out = `qdisc ${q.kind} ${q.handle} ${dev}${where}refcnt ${q.refcnt ?? 2} ${formatOptions(q)}\n`;
  if (opts.stats) {
    out += ` Sent ${q.bytes ?? 0} bytes ${q.packets ?? 0} pkt (dropped ${q.drops ?? 0}, overlimits ${q.overlimits ?? 0} requeues ${q.requeues ?? 0}) \n`;
    out += ` backlog ${formatSize(q.backlog ?? 0)} ${q.qlen ?? 0}p requeues ${q.requeues ?? 0}\n`;
  }
  return out;
}
