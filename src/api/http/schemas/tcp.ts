// TCP sockets as GET /v1/sockets lists them (DESIGN §3.1): a line of
// `ss -t -a -m -i`, with tcp_info for every socket that is not listening.

import { z } from 'zod';

const Count = z.number().int().min(0);

export const TcpInfoView = z
  .object({
    rtt_ms: z.number().min(0).describe('Smoothed round-trip time (srtt).'),
    rttvar_ms: z.number().min(0),
    rto_ms: z.number().min(0).describe('Retransmission timeout now.'),
    snd_cwnd: Count.describe('Congestion window, segments.'),
    snd_ssthresh: Count,
    snd_wnd: Count.describe("The peer's advertised window, bytes."),
    rcv_wnd: Count.describe('The window this socket advertises, bytes (0: the reader stalled).'),
    retrans: Count.describe('Segments retransmitted over the connection’s life.'),
    lost: Count,
    zero_window_probes: Count,
    bytes_acked: Count,
    bytes_received: Count,
    segs_out: Count,
    segs_in: Count,
  })
  .meta({ id: 'TcpInfo' });

export const TcpSocketView = z
  .object({
    id: z.number().int().min(1),
    family: z.literal('inet'),
    type: z.literal('tcp'),
    state: z.string().describe('ss names: LISTEN, SYN-SENT, SYN-RECV, ESTAB, FIN-WAIT-1, FIN-WAIT-2, CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT, UNCONN.'),
    local: z.string().describe('ADDR:PORT (0.0.0.0:7 for a listener on any address).'),
    peer: z.string().describe('ADDR:PORT; a listener: 0.0.0.0:*.'),
    recv_q: Count.describe('Bytes received and not read; a listener: connections waiting in its accept queue.'),
    send_q: Count.describe('Bytes written and not acknowledged; a listener: its backlog.'),
    rmem: Count,
    rcvbuf: Count,
    wmem: Count,
    sndbuf: Count,
    drops: Count,
    service: z.enum(['echo', 'discard', 'chargen']).optional().describe('The service netstackd runs on it (a listener and its connections).'),
    tcp_info: TcpInfoView.optional(),
  })
  .meta({ id: 'TcpSocket', description: 'A TCP socket, like a line of `ss -t -a -m -i`.' });

export type TcpSocketOut = z.output<typeof TcpSocketView>;
