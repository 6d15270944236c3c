// Usage texts, in iproute2's style: the grammar first, then what the
// words mean where they differ from ip and tc.

import { MONITOR_HELP } from './commands/monitor.ts';

export const MAIN_HELP = `Usage: netstackctl [ OPTIONS ] OBJECT { COMMAND | help }
where  OBJECT := { link | addr | route | neigh | bridge | maddr | qdisc | send | capture | stats | sysctl | ioctl |
                  sockets | ping | ss | nstat | monitor }
       OPTIONS := { --server URL | --token TOKEN | -j[son] | -p[retty] | -s[tats] (repeat for more) |
                    -d[etails] | -br[ief] | -h[elp] | --version }

A client of netstackd's REST API (default server $NETSTACK_URL or http://127.0.0.1:8470;
bearer token from --token or $NETSTACK_TOKEN). Options may stand before or after the command.
  -j      print the service's JSON body as is        -p   indent it
  -s      counters (twice: error counters too)       -d   details (promiscuity, mtu range, kind, netem)
  -br     one line per device, as ip -br link
Exit status: 0 ok, 1 lookup or usage error (no such device, server unreachable),
2 error reported by the service, 255 bad arguments.
Run "netstackctl OBJECT help" for an object's commands.
`;

export const LINK_HELP = `Usage: netstackctl link show [ [ dev ] NAME ] [ up ] [ type KIND ]
       netstackctl link add [ name ] NAME [ SETTINGS ] type TYPE [ ARGS ]
       netstackctl link set [ dev ] NAME { SETTING }...
       netstackctl link { del | delete } [ dev ] NAME

TYPE := veth [ peer [ name ] PEER ]
      | dummy
      | vlan id VID             (with "link PARENT": link add link PARENT name NAME type vlan id VID)
      | vxlan id VNI [ local HOST:PORT ] [ remote HOST:PORT ]... [ learning | nolearning ]
      | bridge [ ageing_time CENTISECONDS ]   (STP is off: every port forwards)
SETTINGS := [ mtu MTU ] [ address LLADDR ] [ txqueuelen PACKETS ] [ up ] [ netem NETEM ]
SETTING  := up | down | mtu MTU | address LLADDR | promisc { on | off } | allmulticast { on | off }
          | txqueuelen PACKETS | name NEWNAME | master BRIDGE | nomaster | netem NETEM | netem off
NETEM    := [ delay TIME [ JITTER ] ] [ jitter TIME ] [ loss [ random ] PERCENT ] [ duplicate PERCENT ]
            [ corrupt PERCENT ] [ reorder PERCENT ] [ rate RATE ] [ limit PACKETS ] [ seed N ]

netem is tc-netem on the device's transmit side, set with the other settings in one request:
  netstackctl link set dev veth0 netem delay 100ms 10ms loss 1% rate 1mbit
  netstackctl link set dev veth0 netem off
A "netem" replaces the device's previous netem settings; words left out take netem's defaults.
TIME is tc's: 100ms, 1.5s, 250us (a bare number counts microseconds, as in tc).
RATE is tc's: 1mbit, 100kbit, 10Mbps (bytes/s), a bare number is bit/s. PERCENT: 1% or 1.
`;

export const BRIDGE_HELP = `Usage: netstackctl bridge fdb show [ [ dev ] NAME ]
       netstackctl bridge fdb add LLADDR dev NAME [ dst HOST[:PORT] ]
       netstackctl bridge fdb { del | delete } LLADDR dev NAME [ dst HOST[:PORT] ]
The forwarding tables of bridges and vxlan devices, in bridge(8)'s layout:
  MAC dev PORT [dst REMOTE] master BRIDGE { permanent | static | (learned) }
"dev NAME" is a bridge port (the entry goes to its bridge's table), the bridge itself, or a vxlan device.
Entries added are static; learned ones age out after the bridge's ageing_time (300 s by default).
`;

export const MADDR_HELP = `Usage: netstackctl maddr { add | del } LLADDR dev NAME
       netstackctl maddr show [ [ dev ] NAME ]
Joins or leaves a link-layer multicast group (the device's multicast list), as ip maddress.
`;

export const QDISC_HELP = `Usage: netstackctl qdisc show [ [ dev ] NAME ]
       netstackctl qdisc replace dev NAME root KIND [ limit N ]
KIND := pfifo_fast | pfifo | bfifo | noqueue
The device's root qdisc, as tc: -s adds the Sent and backlog lines, -j prints the service's JSON.
pfifo's limit counts frames, bfifo's bytes; by default txqueuelen frames, or txqueuelen * (mtu + 14) bytes.
Replacing drops what the old qdisc held. veth, dummy and lo have noqueue until one is attached:
  netstackctl qdisc replace dev veth0 root pfifo limit 100
  netstackctl -s qdisc show dev veth0
`;

export const SEND_HELP = `Usage: netstackctl send dev NAME HEX...
       netstackctl send dev NAME -f FILE [ --pace ]
       (either form also takes [ --nonblock ] [ --timeout MS ])
Transmits raw Ethernet frames (destination MAC first, no FCS) on the device.
HEX is one frame per argument; ':', '-', '.' or '_' between digits are ignored.
-f FILE replays a pcap or pcapng file ("-" reads stdin); --pace keeps the recorded
gaps between frames, otherwise frames go as fast as the service takes them.
--nonblock fails with EAGAIN instead of waiting for send-buffer space; --timeout MS waits at most MS.
Prints "N frames sent, M dropped" (-j: the service's {sent, dropped}).
`;

export const CAPTURE_HELP = `Usage: netstackctl capture [ dev ] NAME [ -c COUNT ] [ -w FILE ] [ --format pcapng | pcap ]
                          [ --direction in | out | both ] [ --promisc ] [ --protocol all | ETHERTYPE ]
                          [ --duration SECONDS ] [ --rcvbuf BYTES ]
Without -w: one tcpdump -e -n style line per frame (with -j: the stream's JSON messages).
With -w FILE: the capture as pcapng (default) or pcap; "-w -" writes it to stdout, never to a terminal:
  netstackctl capture dev veth0 -w - | tshark -r -
Stops after COUNT packets, after SECONDS, or on Ctrl-C; the summary line and drop notices go to stderr.
--rcvbuf sets the capture socket's receive buffer (SO_RCVBUF): a reader that falls behind loses frames
there, and they are counted as "dropped by socket".
`;

export const STATS_HELP = `Usage: netstackctl stats
sk_buff counters, the backlog, drops by reason (all reasons with -s), and a counter table per device.
-j prints GET /v1/stack as is.
`;

export const SYSCTL_HELP = `Usage: netstackctl sysctl [ -n ] [ -a ] [ NAME... ]
       netstackctl sysctl [ -w ] NAME=VALUE...
Reads or sets the stack's sysctls (net.core, net.ipv4, net.ipv4.tcp_*), printed as sysctl(8) does
("net.core.rmem_default = 212992"; a vector tab-separated: "net.ipv4.tcp_rmem = 4096	131072	6291456").
A NAME may use dots or slashes, and a prefix (net.ipv4.tcp) names everything under it. -n prints values only.
A vector is one quoted word: net.ipv4.tcp_rmem="4096 131072 6291456"; net.ipv4.tcp_congestion_control=reno.
Several NAME=VALUE are checked together: if one is refused, none is set.
`;

export const IOCTL_HELP = `Usage: netstackctl ioctl [ dev ] NAME REQUEST [ FIELD VALUE ]...
REQUEST := SIOCGIFFLAGS | SIOCSIFFLAGS | SIOCGIFMTU | SIOCSIFMTU | SIOCGIFHWADDR | SIOCSIFHWADDR |
           SIOCADDMULTI | SIOCDELMULTI | SIOCGIFTXQLEN | SIOCSIFTXQLEN | SIOCSIFNAME | SIOCGIFINDEX |
           SIOCGIFMAP | SIOCSIFMAP
FIELD   := [ifr_]flags { NUMBER | NAME,NAME... } | [ifr_]mtu N | [ifr_]hwaddr LLADDR [ family N ] |
           [ifr_]qlen N | [ifr_]newname NAME | mem_start | mem_end | base_addr | irq | dma | port  N
  netstackctl ioctl dev veth0 SIOCSIFFLAGS flags UP,BROADCAST,MULTICAST
Prints the struct ifreq the service hands back.
`;

export const SOCKETS_HELP = `Usage: netstackctl sockets
The stack's packet sockets, as ss -0: Recv-Q/Send-Q are the bytes charged to each
(rmem/wmem), then its buffer sizes, queued frames, drops, frames received and sent, and owner.
`;

export const ADDR_HELP = `Usage: netstackctl addr show [ [ dev ] NAME ]
       netstackctl addr add IFADDR dev NAME [ brd ADDR ] [ label LABEL ]
       netstackctl addr { del | delete } IFADDR dev NAME
IFADDR := A.B.C.D[/N] (no /N means /32)
IPv4 addresses, as ip addr: adding one adds its local and connected routes, deleting it removes them.
The same address twice: "RTNETLINK answers: File exists"; one the device lacks: "Cannot assign requested address".
`;

export const ROUTE_HELP = `Usage: netstackctl route show [ dev NAME ]
       netstackctl route add { default | PREFIX } [ via GATEWAY ] [ dev NAME ] [ metric N ] [ src ADDR ]
       netstackctl route { del | delete } { default | PREFIX } [ via GATEWAY ] [ dev NAME ]
       netstackctl route get ADDR
The main IPv4 table, as ip route. A gateway must be on a connected network ("Network is unreachable"
otherwise); a route that is not there answers "No such process". "route get" prints the route an
address takes, with the device and source address (ip's "uid N" is left out).
`;

export const NEIGH_HELP = `Usage: netstackctl neigh show [ [ dev ] NAME ]
       netstackctl neigh { add | replace } ADDR lladdr LLADDR dev NAME [ nud permanent ]
       netstackctl neigh { del | delete } ADDR dev NAME
       netstackctl neigh flush dev NAME
The ARP table, as ip neigh; entries added here are PERMANENT.
`;

export const PING_HELP = `Usage: netstackctl ping [ -c COUNT ] [ -i INTERVAL ] [ -s SIZE ] [ -t TTL ] [ -W TIMEOUT ] [ -I SRC ] DESTINATION
The stack sends ICMP echo requests, and the replies print as iputils ping prints them.
INTERVAL and TIMEOUT are seconds (0.2 allowed). COUNT defaults to 4 (the service answers when done,
so there is no endless ping). Exit status: 0 some reply, 1 no reply, 2 an error (no route, bad argument).
`;

export const SS_HELP = `Usage: netstackctl ss [ -t ] [ -u ] [ -a | -l ] [ -n ] [ -m ] [ -i ]
The stack's TCP (-t) and UDP (-u) sockets, in ss's layout (both without -t/-u, with a Netid column).
Without -a or -l only connections are listed; -l lists listeners (and unconnected UDP sockets), -a all.
-n prints port numbers instead of service names, -m adds the skmem line (r rmem, rb rcvbuf, t wmem,
tb sndbuf, d drops), -i the TCP info line (rto, rtt/rttvar, cwnd, ssthresh, bytes, segments, windows,
retrans). Packet sockets: "netstackctl sockets".
`;

export const NSTAT_HELP = `Usage: netstackctl nstat [ -a ] [ -z ] [ PATTERN... ]
The stack's /proc/net/snmp and /proc/net/netstat counters in nstat's layout (IpInReceives, UdpNoPorts, ...).
Always the absolute values (nstat -a): there is no history file. -z shows zero counters too.
PATTERN is a glob on the name (Udp*). -j prints {"kernel": {...}} as nstat -j does.
`;

/** Help for an object, or undefined when there is no such object. */
export function helpFor(topic: string | null): string {
  switch (topic) {
    case 'link': return LINK_HELP;
    case 'bridge': return BRIDGE_HELP;
    case 'maddr': return MADDR_HELP;
    case 'qdisc': return QDISC_HELP;
    case 'send': return SEND_HELP;
    case 'capture': return CAPTURE_HELP;
    case 'stats': return STATS_HELP;
    case 'sysctl': return SYSCTL_HELP;
    case 'ioctl': return IOCTL_HELP;
    case 'sockets': return SOCKETS_HELP;
    case 'monitor': return MONITOR_HELP;
    case 'address': case 'addr': return ADDR_HELP;
    case 'route': return ROUTE_HELP;
    case 'neighbour': case 'neigh': return NEIGH_HELP;
    case 'ping': return PING_HELP;
    case 'ss': return SS_HELP;
    case 'nstat': return NSTAT_HELP;
    default: return MAIN_HELP;
  }
}
