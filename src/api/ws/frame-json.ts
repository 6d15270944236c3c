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
