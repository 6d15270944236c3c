// TCP sockets as GET /v1/sockets lists them (DESIGN §3.1): a line of
// `ss -t -a -m -i`, with tcp_info for every socket that is not listening.

import { z } from 'zod';

const Count = z.number().int().min(0);

export const TcpInfoView = z
  .object({
    rtt_ms: z.number().min(0).describe('Smoothed round-trip time (srtt).'),
    rttvar_ms: z.number().min(0).describe('Round-trip time variation (rttvar).'),
    rto_ms: z.number().min(0).describe('Retransmission timeout now.'),
    snd_cwnd: Count.describe('Congestion window, segments.'),
    snd_ssthresh: Count.describe('Slow-start threshold, segments.'),
    snd_wnd: Count.describe("The peer's advertised window, bytes."),
    rcv_wnd: Count.describe('The window this socket advertises, bytes (0: the reader stalled).'),
    retrans: Count.describe('Segments retransmitted over the connection’s life.'),
    lost: Count.describe('Segments thought lost and not yet retransmitted.'),
    zero_window_probes: Count.describe('Window probes sent into the peer’s zero window over the connection’s life.'),
    bytes_acked: Count.describe('Bytes of data the peer acknowledged.'),
    bytes_received: Count.describe('Bytes of data received in order.'),
    segs_out: Count.describe('Segments sent, retransmissions included.'),
    segs_in: Count.describe('Segments received.'),
    congestion_control: z.string().describe('Congestion control of this connection ("cubic", "reno"): net.ipv4.tcp_congestion_control when it was made.'),
  })
  .meta({ id: 'TcpInfo' });

export const TcpSocketView = z
  .object({
    id: z.number().int().min(1).describe('The socket id, unique among every family\'s sockets.'),
    family: z.literal('inet').describe('Address family: inet (IPv4).'),
    type: z.literal('stream').describe('Socket type: stream (SOCK_STREAM, TCP).'),
    state: z
      .string()
      .describe(
        'ss names: LISTEN, SYN-SENT, SYN-RECV, ESTAB, FIN-WAIT-1, FIN-WAIT-2, CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT, UNCONN. ' +
          'UNCONN (TCP_CLOSE): the connection ended under its user (reset, timed out, or both FINs done after a shutdown); ' +
          'the socket keeps its id, holds no port and no send queue, and stays until DELETE.',
      ),
    local: z.string().describe('ADDR:PORT (0.0.0.0:7 for a listener on any address).'),
    peer: z.string().describe('ADDR:PORT; a listener: 0.0.0.0:*.'),
    recv_q: Count.describe('Bytes received and not read; a listener: connections waiting in its accept queue.'),
    send_q: Count.describe('Bytes written and not acknowledged; a listener: its backlog.'),
    rmem: Count.describe('Receive memory charged: in-order and out-of-order data (truesize).'),
    rcvbuf: Count.describe('SO_RCVBUF: what receive memory may reach.'),
    wmem: Count.describe('Send memory charged: data written and not yet acknowledged (truesize).'),
    sndbuf: Count.describe('SO_SNDBUF: what send memory may reach.'),
    drops: Count.describe('Segments this socket dropped (no room, out of window).'),
    service: z.enum(['echo', 'discard', 'chargen']).optional().describe('The service netstackd runs on it (a listener and its connections).'),
    error: z
      .string()
      .optional()
      .describe(
        'State UNCONN: the error that ended the connection (ECONNRESET: reset by the peer; EPIPE: reset after the peer had sent its FIN; ' +
          'ETIMEDOUT: retransmissions or keepalive probes ran out). Absent after an orderly end. ' +
          'The next send or stream read reports it once; then sends answer EPIPE and reads end of stream.',
      ),
    tcp_info: TcpInfoView.optional(),
  })
  .meta({ id: 'TcpSocket', description: 'A TCP socket, like a line of `ss -t -a -m -i`.' });

export type TcpSocketOut = z.output<typeof TcpSocketView>;
