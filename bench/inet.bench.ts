// The internet layer end to end, each figure beside a baseline measured in
// the same run where one exists:
//
// - udp-pipeline-64: 64-byte UDP datagrams from one stack's socket to
//   another's (two NetStacks in this process joined back to back, ARP, IPv4,
//   UDP checksums both ways, a receiver reading as data arrives), against the
//   Linux kernel's UDP between two network namespaces joined by a veth pair
//   (node:dgram sender and receiver, the same batching).
// - ip-forward-64: the same datagrams through a third stack routing between
//   two subnets (ip_forward=1); no baseline.
// - ping-rtt: median round trip of 20 pings between two stacks, against the
//   kernel's ping between the two namespaces.
//
//   node --import tsx bench/inet.bench.ts       (INET_BENCH_SECONDS=2)

import { spawn, spawnSync } from 'node:child_process';
import { NetStack } from '../src/stack/netstack.ts';
import { NetDevice } from '../src/dev/netdevice.ts';
import { NETDEV_TX_OK, type NetdevTx } from '../src/dev/ops.ts';
import { etherOps } from '../src/dev/ether.ts';
import { registerNetdevice } from '../src/dev/register.ts';
import { devOpen } from '../src/dev/control.ts';
import { devAllocSkbFrom } from '../src/skb/skbuff.ts';
import { attachInet, type Inet } from '../src/inet/control.ts';
import { benchResult, emitResults, envNumber, fmt, log, median, type BenchResult } from './lib.ts';

const SECONDS = envNumber('INET_BENCH_SECONDS', 2);
const PAYLOAD = 64;

interface H {
  stack: NetStack;
  inet: Inet;
}

function hostOf(): H {
  const stack = new NetStack();
  return { stack, inet: attachInet(stack) };
}

let mac = 1;
/** Back to back, as a cable: the frame is copied into the peer stack's pool. */
function join(a: H, b: H, na: string, nb: string): void {
  const make = (h: H): NetDevice =>
    new NetDevice(h.stack, {
      kind: 'wire',
      ops: etherOps({
        hardStartXmit: (dev, skb): NetdevTx => {
          const peer = dev.link!;
          const copy = devAllocSkbFrom(peer.core.pool, skb.len);
          if (copy !== null) {
            copy.putData(skb.bytes);
            copy.dev = peer;
            peer.core.netifRx(copy);
          }
          dev.stats.txPackets++;
          skb.free();
          return NETDEV_TX_OK;
        },
      }),
      devAddr: Buffer.from([2, 0, 0x5e, 0, 0x53, mac++]),
    });
  const da = make(a);
  const db = make(b);
  da.link = db;
  db.link = da;
  registerNetdevice(a.stack.devices, da, na);
  registerNetdevice(b.stack.devices, db, nb);
  devOpen(da);
  devOpen(db);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Datagrams per second read by the receiver while the sender sends flat out. */
async function pipeline(tx: Inet, rx: Inet, dst: string): Promise<number> {
  const r = rx.udpOpen({ bind: '0.0.0.0:9000', rcvbuf: 1 << 20 });
  const s = tx.udpOpen({ connect: `${dst}:9000`, sndbuf: 1 << 20 });
  let got = 0;
  r.onReadable(() => {
    for (;;) {
      try {
        r.recv({ nonblock: true });
        got++;
      } catch {
        return;
      }
    }
  });
  const data = Buffer.alloc(PAYLOAD, 0x61);
  let running = true;
  const sender = (async () => {
    while (running) {
      for (let i = 0; i < 256; i++) {
        try {
          s.sendTo(data, undefined, { nonblock: true });
        } catch {
          break;
        }
      }
      await new Promise<void>((res) => setImmediate(res));
    }
  })();
  await sleep(300);
  const g0 = got;
  const t0 = process.hrtime.bigint();
  await sleep(SECONDS * 1000);
  const rate = (got - g0) / (Number(process.hrtime.bigint() - t0) / 1e9);
  running = false;
  await sender;
  r.close();
  s.close();
  return rate;
}

// ---- the kernel baseline: two namespaces and a veth pair
const NS1 = `inetb-${process.pid}-1`;
const NS2 = `inetb-${process.pid}-2`;
function sh(args: string[]): boolean {
  return spawnSync(args[0]!, args.slice(1), { stdio: 'ignore' }).status === 0;
}
function kernelSetup(): string | null {
  if (process.getuid?.() !== 0) return 'needs root for network namespaces';
  const ok = [
    ['ip', 'netns', 'add', NS1], ['ip', 'netns', 'add', NS2],
    ['ip', '-n', NS1, 'link', 'add', 'b0', 'type', 'veth', 'peer', 'name', 'b1', 'netns', NS2],
    ['ip', '-n', NS1, 'addr', 'add', '192.0.2.1/24', 'dev', 'b0'], ['ip', '-n', NS2, 'addr', 'add', '192.0.2.2/24', 'dev', 'b1'],
    ['ip', '-n', NS1, 'link', 'set', 'b0', 'up'], ['ip', '-n', NS2, 'link', 'set', 'b1', 'up'],
    ['ip', '-n', NS1, 'link', 'set', 'lo', 'up'], ['ip', '-n', NS2, 'link', 'set', 'lo', 'up'],
  ].every(sh);
  return ok ? null : 'could not create the namespaces';
}
function kernelTeardown(): void {
  sh(['ip', 'netns', 'del', NS1]);
  sh(['ip', 'netns', 'del', NS2]);
}

const RECV = `const d=require('node:dgram').createSocket('udp4');let n=0;d.on('message',()=>n++);d.bind(9000,'192.0.2.2',()=>{console.log('ready');setTimeout(()=>{const n0=n,t0=process.hrtime.bigint();setTimeout(()=>{console.log(JSON.stringify({rate:(n-n0)/(Number(process.hrtime.bigint()-t0)/1e9)}));process.exit(0)},${SECONDS * 1000})},300)});`;
const SEND = `const d=require('node:dgram').createSocket('udp4');const b=Buffer.alloc(${PAYLOAD},0x61);let inflight=0;function go(){while(inflight<256){inflight++;d.send(b,9000,'192.0.2.2',()=>{inflight--;if(inflight===0)setImmediate(go)})}}go();setTimeout(()=>process.exit(0),${SECONDS * 1000 + 1500});`;

async function kernelUdp(): Promise<number> {
  const recv = spawn('ip', ['netns', 'exec', NS2, process.execPath, '-e', RECV], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  recv.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  while (!out.includes('ready')) await sleep(20);
  const send = spawn('ip', ['netns', 'exec', NS1, process.execPath, '-e', SEND], { stdio: 'ignore' });
  await new Promise<void>((r) => recv.on('close', () => r()));
  send.kill();
  const line = out.split('\n').find((l) => l.startsWith('{'));
  return line ? (JSON.parse(line) as { rate: number }).rate : NaN;
}

function kernelPingRtt(): number {
  const r = spawnSync('ip', ['netns', 'exec', NS1, 'ping', '-c', '20', '-i', '0.01', '-q', '192.0.2.2'], { encoding: 'utf8' });
  const m = /= [\d.]+\/([\d.]+)\//.exec(r.stdout);
  return m ? Number(m[1]) : NaN;
}

const results: BenchResult[] = [];
const a = hostOf();
const b = hostOf();
join(a, b, 'eth0', 'eth0');
a.inet.addrAdd('eth0', '192.0.2.1/24');
b.inet.addrAdd('eth0', '192.0.2.2/24');
const r1 = hostOf();
const c = hostOf();
const f = hostOf();
join(r1, c, 'eth0', 'eth0');
join(r1, f, 'eth1', 'eth0');
r1.inet.addrAdd('eth0', '198.51.100.254/24');
r1.inet.addrAdd('eth1', '203.0.113.254/24');
c.inet.addrAdd('eth0', '198.51.100.1/24');
f.inet.addrAdd('eth0', '203.0.113.1/24');
c.inet.routeAdd({ dst: 'default', gateway: '198.51.100.254' });
f.inet.routeAdd({ dst: 'default', gateway: '203.0.113.254' });
r1.stack.sysctl.set({ 'net.ipv4.ip_forward': 1 });
const keep = setInterval(() => {}, 1000);

const why = kernelSetup();
try {
  const ours = await pipeline(a.inet, b.inet, '192.0.2.2');
  const kernel = why === null ? await kernelUdp() : NaN;
  log(`udp-pipeline-64: netstack ${fmt(ours)} dgrams/s, kernel ${fmt(kernel)} dgrams/s${why ? ` (${why})` : ''}`);
  results.push(benchResult({ bench: 'udp-pipeline-64', value: ours, unit: 'datagrams/s', baseline: why === null && Number.isFinite(kernel) ? { name: 'kernel UDP between two netns (node:dgram)', value: kernel } : null, ...(why ? { note: why } : {}) }));
  const fwd = await pipeline(c.inet, f.inet, '203.0.113.1');
  log(`ip-forward-64: ${fmt(fwd)} dgrams/s through a routing stack`);
  results.push(benchResult({ bench: 'ip-forward-64', value: fwd, unit: 'datagrams/s', note: 'three stacks in one process; no kernel baseline' }));
  const rtts: number[] = [];
  for (let i = 0; i < 5; i++) {
    const p = await a.inet.ping({ dst: '192.0.2.2', count: 20, intervalMs: 10 });
    rtts.push(p.rtt_ms?.avg ?? NaN);
  }
  const krtt = why === null ? kernelPingRtt() : NaN;
  log(`ping-rtt: netstack ${fmt(median(rtts))} ms, kernel ${fmt(krtt)} ms`);
  results.push(benchResult({ bench: 'ping-rtt', value: median(rtts), unit: 'ms', baseline: Number.isFinite(krtt) ? { name: 'kernel ping between two netns', value: krtt } : null }));
} finally {
  clearInterval(keep);
  kernelTeardown();
  for (const h of [a, b, r1, c, f]) h.stack.close();
}
emitResults(results);
