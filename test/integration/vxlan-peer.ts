// One netstackd-like process for the two-process VXLAN tests: a NetStack with
// one vxlan device and a packet socket on it, driven over stdin/stdout with
// one JSON object per line. Not a test file itself (the runner picks up
// *.test.ts only); vxlan-two-stacks.test.ts spawns two of these.
//
//   node --import tsx test/integration/vxlan-peer.ts '{"vni":42,"local":"127.0.0.1:4790","remote":["127.0.0.1:4791"],"address":"02:..."}'
//
// in:  {"cmd":"send","count":N,"size":B,"dst":"MAC","window":W}  frames seq 0.. continuing across sends
//      {"cmd":"ack","received":N}   the other side's receive count (the window's credit)
//      {"cmd":"stats"}  {"cmd":"exit"}
// out: {"ev":"ready","port":P,"mac":"..."}  {"ev":"progress","received":N}  {"ev":"sent","sent":N}
//      {"ev":"stats",...}  {"ev":"error","message":"..."}
//
// Every received frame is checked: its sequence number must be the next one
// and its fill must match what the sender wrote for that number.

import { createInterface } from 'node:readline';
import { NetStack, createDevice, netemOf } from '../../src/stack/index.ts';
import { getNetem } from '../../src/dev/wrappers/netem.ts';
import { DROP_REASONS } from '../../src/skb/drop-reason.ts';
import { parseMac, formatMac } from '../../src/wire/mac.ts';
import { vxlanOf } from '../../src/dev/drivers/vxlan.ts';

const ETH_P_TEST = 0x88b5;
const PROGRESS_EVERY = 32;

interface PeerConfig {
  vni: number;
  local: string;
  remote: string[];
  address: string;
  /** tc netem on the device, e.g. {"loss":0}. */
  netem?: Record<string, number>;
}

function emit(obj: Record<string, unknown>): void {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

/** The fill byte at `i` of frame `seq`: changes with both, so a swapped or shifted byte shows. */
function fillByte(seq: number, i: number): number {
  return (seq * 7 + i * 13) & 0xff;
}

function testFrame(dst: Buffer, src: Buffer, seq: number, size: number): Buffer {
  const f = Buffer.allocUnsafe(size);
  dst.copy(f, 0);
  src.copy(f, 6);
  f.writeUInt16BE(ETH_P_TEST, 12);
  f.writeUInt32BE(seq >>> 0, 14);
  for (let i = 18; i < size; i++) f[i] = fillByte(seq, i);
  return f;
}

const cfg = JSON.parse(process.argv[2] ?? '{}') as PeerConfig;
const stack = new NetStack({
  sysctl: { 'net.core.rmem_max': 64 << 20, 'net.core.wmem_max': 64 << 20 },
});
const [dev] = await createDevice(stack, {
  kind: 'vxlan',
  name: 'vx0',
  vni: cfg.vni,
  local: cfg.local,
  remote: cfg.remote,
  address: cfg.address,
  mtu: 1500,
  up: true,
  ...(cfg.netem !== undefined ? { netem: cfg.netem } : {}),
});
const sock = stack.openPacketSocket({ dev: dev!, protocol: ETH_P_TEST, direction: 'in', rcvbuf: 32 << 20, sndbuf: 1 << 20 });
const myMac = dev!.devAddr;

let received = 0;
let expected = 0;
let bad = 0;
let outOfOrder = 0;
let sent = 0;
let acked = 0;
let ackWaiter: (() => void) | null = null;

sock.sk.onDataReady = () => {
  for (let skb = sock.recv(); skb !== null; skb = sock.recv()) {
    const b = skb.buf;
    const at = skb.data;
    const len = skb.len;
    const seq = len >= 18 ? b.readUInt32BE(at + 14) : -1;
    let ok = len >= 18;
    for (let i = 18; ok && i < len; i++) if (b[at + i] !== fillByte(seq, i)) ok = false;
    skb.free();
    if (!ok) {
      bad++;
      continue;
    }
    if (seq !== expected) outOfOrder++;
    expected = seq + 1;
    received++;
    if (received % PROGRESS_EVERY === 0) emit({ ev: 'progress', received });
  }
};

async function sendFrames(count: number, size: number, dst: Buffer, window: number): Promise<void> {
  for (let n = 0; n < count; n++) {
    while (sent - acked >= window) await new Promise<void>((r) => (ackWaiter = r));
    const r = sock.send(testFrame(dst, myMac, sent, size));
    const verdict = r instanceof Promise ? await r : r;
    if (verdict !== 'sent') throw new Error(`frame ${sent} was ${verdict}`);
    sent++;
  }
  emit({ ev: 'sent', sent });
}

function stats(): Record<string, unknown> {
  const drops: Record<string, number> = {};
  for (const r of DROP_REASONS) if (stack.drops[r] !== 0) drops[r] = stack.drops[r];
  return {
    ev: 'stats',
    received,
    bad,
    outOfOrder,
    sent,
    dev: { ...dev!.stats },
    drops,
    skbInUse: stack.pool.stats.inUse,
    sockDrops: sock.sk.drops,
    fdb: vxlanOf(dev!).fdb.size,
    netemLoss: netemOf(dev!)?.loss ?? null,
    netemSent: getNetem(dev!)?.stats.sent ?? null,
  };
}

const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  let msg: Record<string, unknown>;
  try {
    msg = JSON.parse(line) as Record<string, unknown>;
  } catch {
    emit({ ev: 'error', message: `bad command line: ${line}` });
    return;
  }
  switch (msg.cmd) {
    case 'send':
      sendFrames(Number(msg.count), Number(msg.size), parseMac(String(msg.dst))!, Number(msg.window)).catch((err: Error) =>
        emit({ ev: 'error', message: err.message }),
      );
      break;
    case 'ack':
      acked = Math.max(acked, Number(msg.received));
      ackWaiter?.();
      ackWaiter = null;
      break;
    case 'stats':
      emit(stats());
      break;
    case 'exit':
      stack.close();
      process.exit(0);
  }
});
rl.on('close', () => {
  stack.close();
  process.exit(0);
});

emit({ ev: 'ready', port: vxlanOf(dev!).boundPort, mac: formatMac(myMac) });
