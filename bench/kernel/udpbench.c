/*
 * The kernel side of bench/inet.bench.ts: UDP datagrams through the Linux
 * kernel with as little user space around it as possible (sendmmsg and
 * recvmmsg, 64 datagrams per call, as issue 8 asks).
 *
 *   udpbench recv PORT SECONDS        bind 0.0.0.0:PORT (8 MiB SO_RCVBUFFORCE),
 *                                     print "ready", count datagrams from the
 *                                     first one for SECONDS; prints
 *                                     {"datagrams","seconds","drops"} where
 *                                     drops is what the socket itself lost
 *                                     (SO_RXQ_OVFL)
 *   udpbench send HOST PORT SIZE SECONDS
 *                                     send SIZE-byte datagrams to HOST:PORT as
 *                                     fast as sendmmsg takes them for SECONDS;
 *                                     prints {"datagrams","seconds","errors"}
 *
 * The receiver stops on its own clock, so the count is what arrived at the far
 * end over a fixed time, whatever the sender or the path in between lost.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

#define BATCH 64

static int do_recv(int port, double seconds) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  if (s < 0) die("socket");
  int big = 8 << 20, one = 1;
  /* FORCE as root, so rmem_max does not cap it; the plain option otherwise */
  if (setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big) < 0) setsockopt(s, SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  setsockopt(s, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_ANY)};
  if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
  printf("ready\n");
  fflush(stdout);

  static char bufs[BATCH][2048];
  static char ctl[BATCH][CMSG_SPACE(sizeof(unsigned int))];
  struct iovec iov[BATCH];
  struct mmsghdr msgs[BATCH];
  long long n = 0;
  unsigned int ovfl = 0;
  double t0 = 0, end = 0;
  for (;;) {
    for (int i = 0; i < BATCH; i++) {
      iov[i].iov_base = bufs[i];
      iov[i].iov_len = sizeof bufs[i];
      memset(&msgs[i], 0, sizeof msgs[i]);
      msgs[i].msg_hdr.msg_iov = &iov[i];
      msgs[i].msg_hdr.msg_iovlen = 1;
      msgs[i].msg_hdr.msg_control = ctl[i];
      msgs[i].msg_hdr.msg_controllen = sizeof ctl[i];
    }
    /* before the first datagram, wait as long as it takes; then poll so the
       clock is looked at even when nothing more arrives */
    if (n > 0) {
      struct pollfd p = {.fd = s, .events = POLLIN};
      int left = (int)((end - now()) * 1000);
      if (left <= 0 || poll(&p, 1, left) <= 0) break;
    }
    int got = recvmmsg(s, msgs, BATCH, n > 0 ? MSG_DONTWAIT : MSG_WAITFORONE, NULL);
    if (got < 0) {
      if (errno == EAGAIN || errno == EINTR) continue;
      die("recvmmsg");
    }
    if (n == 0) {
      t0 = now();
      end = t0 + seconds;
    }
    for (int i = 0; i < got; i++) {
      struct cmsghdr *c = CMSG_FIRSTHDR(&msgs[i].msg_hdr);
      if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL) memcpy(&ovfl, CMSG_DATA(c), sizeof ovfl);
    }
    n += got;
    if (now() >= end) break;
  }
  printf("{\"datagrams\":%lld,\"seconds\":%.6f,\"drops\":%u}\n", n, now() - t0, ovfl);
  return 0;
}

static int do_send(const char *host, int port, int size, double seconds) {
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  if (s < 0) die("socket");
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  if (inet_pton(AF_INET, host, &a.sin_addr) != 1) die("inet_pton");
  if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) die("connect");
  if (size < 1 || size > 1472) size = 64;
  static char buf[1472];
  memset(buf, 0x61, sizeof buf);
  struct iovec iov[BATCH];
  struct mmsghdr msgs[BATCH];
  for (int i = 0; i < BATCH; i++) {
    iov[i].iov_base = buf;
    iov[i].iov_len = size;
    memset(&msgs[i], 0, sizeof msgs[i]);
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  long long n = 0, errors = 0;
  double t0 = now(), end = t0 + seconds;
  while (now() < end) {
    int sent = sendmmsg(s, msgs, BATCH, 0);
    if (sent < 0) {
      /* ENOBUFS/ECONNREFUSED from a full queue or an ICMP error: count, go on */
      errors++;
      continue;
    }
    n += sent;
  }
  printf("{\"datagrams\":%lld,\"seconds\":%.6f,\"errors\":%lld}\n", n, now() - t0, errors);
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "recv") == 0) return do_recv(atoi(argv[2]), atof(argv[3]));
  if (argc == 6 && strcmp(argv[1], "send") == 0) return do_send(argv[2], atoi(argv[3]), atoi(argv[4]), atof(argv[5]));
  fprintf(stderr, "usage: udpbench recv PORT SECONDS | send HOST PORT SIZE SECONDS\n");
  return 2;
}
