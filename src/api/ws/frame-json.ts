// The JSON form of one frame on the stream, as DESIGN §3 and the OpenAPI
// description (src/api/http/schemas/stream.ts) give it:
//
//   {"type":"frame","ts":1764097004106.1235,"ifname":"veth1","protocol":2048,
//    "pkt_type":0,"len":60,"info":"02:00:00:00:00:01 > ff:ff:ff:ff:ff:ff, ...",
//    "data":"ffffffffffff02..."}
//
// ts: wall-clock ms since the epoch, fractional (when the frame entered the
// stack); protocol: the ethertype as a number (skb->protocol); pkt_type:
// 0 host, 1 broadcast, 2 multicast, 3 otherhost, 4 outgoing; len: bytes;
// info: the one-line decode netstackctl capture prints (describeFrame, in
// tcpdump -e -n's words); data: the whole frame, hex. Built as one template string: no object, no
// JSON.stringify per frame but the decode line's (a device name's quoted
// form is cached).

import type { SkBuff } from '../../skb/skbuff.ts';
import { describeFrame } from '../../wire/describe.ts';

export class JsonFrameEncoder {
  private lastName = '';
  private lastQuoted = '""';

  encode(skb: SkBuff): string {
    const name = skb.dev?.name ?? '';
    if (name !== this.lastName) {
      this.lastName = name;
      this.lastQuoted = JSON.stringify(name);
    }
    return (
      `{"type":"frame","ts":${skb.tstamp},"ifname":${this.lastQuoted},"protocol":${skb.protocol},` +
      `"pkt_type":${skb.pktType},"len":${skb.tail - skb.data},` +
      `"info":${JSON.stringify(describeFrame(skb.buf.subarray(skb.data, skb.tail)))},"data":"${skb.buf.toString('hex', skb.data, skb.tail)}"}`
    );
  }
}

/**
 * With ?detail=1 the frame message also carries what the console draws:
 *   summary   the tcpdump-style line of src/wire/describe.ts (what
 *             `netstackctl capture` prints)
 *   skb       the buffer as this stream's socket holds it: offsets into its
 *             data block (head, data, tail, end, mac/network/transport
 *             header, -1 when unset), len, truesize, users, cloned, and who
 *             is charged (this socket's rmem, the skb's truesize)
 *   trace     with ?trace=1, the layers the frame passed (skb/trace.ts)
 */
export function encodeFrameDetail(base: string, skb: SkBuff, socketId: number): string {
  const sk = skb.sk;
  const skbJson =
    `{"head":${skb.head},"data":${skb.data},"tail":${skb.tail},"end":${skb.end},` +
    `"mac_header":${skb.macHeader},"network_header":${skb.networkHeader},"transport_header":${skb.transportHeader},` +
    `"len":${skb.tail - skb.data},"headroom":${skb.data - skb.head},"tailroom":${skb.end - skb.tail},"truesize":${skb.truesize},` +
    `"users":${skb.users},"cloned":${skb.cloned},"shared":${skb.block.dataref > 1},` +
    `"charged":${sk === null ? 'null' : `{"socket":${socketId},"kind":"rmem","bytes":${skb.truesize},"rmem":${sk.rmemAlloc},"rcvbuf":${sk.rcvbuf}}`}}`;
  const trace = skb.trace === null ? '' : `,"trace":${JSON.stringify(skb.trace)}`;
  return `${base.slice(0, -1)},"summary":${JSON.stringify(describeFrame(skb.bytes))},"skb":${skbJson}${trace}}`;
}
