/*
 * The kernel side of bench/tcp.bench.ts: the Linux TCP baselines, measured
 * with as little user space around the kernel as netperf's TCP_STREAM and
 * TCP_RR have (plain blocking sockets, one connection).
 *
 *   tcpbench sink PORT                 accept one connection, read until EOF;
 *                                      prints {"bytes","seconds"} counted from
 *                                      the first byte read to EOF
 *   tcpbench send HOST PORT SECONDS    write 128 KiB buffers for SECONDS, close
 *   tcpbench rr-server PORT            accept one connection; answer every
 *                                      byte with one byte until EOF
 *   tcpbench rr-client HOST PORT SECONDS
 *                                      1-byte request, wait for the 1-byte
 *                                      answer, repeat; prints
 *                                      {"transactions","seconds"}
 *
 * Listeners print "ready" once listening. TCP_NODELAY on both rr ends.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

static int listen_one(int port, int nodelay) {
  int l = socket(AF_INET, SOCK_STREAM, 0);
  if (l < 0) die("socket");
  int one = 1;
  setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(INADDR_ANY)};
  if (bind(l, (struct sockaddr *)&a, sizeof a) < 0) die("bind");
  if (listen(l, 1) < 0) die("listen");
  printf("ready\n");
  fflush(stdout);
  int s = accept(l, NULL, NULL);
  if (s < 0) die("accept");
  close(l);
  if (nodelay) setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return s;
}

static int connect_to(const char *host, int port, int nodelay) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  if (s < 0) die("socket");
  int one = 1;
  if (nodelay) setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  if (inet_pton(AF_INET, host, &a.sin_addr) != 1) die("inet_pton");
  if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) die("connect");
  return s;
}

int main(int argc, char **argv) {
  static char buf[128 * 1024];
  if (argc == 3 && strcmp(argv[1], "sink") == 0) {
    int s = listen_one(atoi(argv[2]), 0);
    long long bytes = 0;
    double t0 = 0;
    for (;;) {
      ssize_t n = read(s, buf, sizeof buf);
      if (n < 0) die("read");
      if (n == 0) break;
      if (bytes == 0) t0 = now();
      bytes += n;
    }
    printf("{\"bytes\":%lld,\"seconds\":%.6f}\n", bytes, now() - t0);
    return 0;
  }
  if (argc == 5 && strcmp(argv[1], "send") == 0) {
    int s = connect_to(argv[2], atoi(argv[3]), 0);
    double end = now() + atof(argv[4]);
    memset(buf, 0x5a, sizeof buf);
    while (now() < end) {
      if (write(s, buf, sizeof buf) < 0) die("write");
    }
    close(s);
    return 0;
  }
  if (argc == 3 && strcmp(argv[1], "rr-server") == 0) {
    int s = listen_one(atoi(argv[2]), 1);
    for (;;) {
      ssize_t n = read(s, buf, 1);
      if (n <= 0) break;
      if (write(s, buf, 1) != 1) die("write");
    }
    return 0;
  }
  if (argc == 5 && strcmp(argv[1], "rr-client") == 0) {
    int s = connect_to(argv[2], atoi(argv[3]), 1);
    double t0 = now();
    double end = t0 + atof(argv[4]);
    long long n = 0;
    char c = 1;
    for (;;) {
      if (write(s, &c, 1) != 1) die("write");
      if (read(s, &c, 1) != 1) die("read");
      n++;
      /* the clock every 64 transactions: its cost stays out of the loop */
      if ((n & 63) == 0 && now() >= end) break;
    }
    printf("{\"transactions\":%lld,\"seconds\":%.6f}\n", n, now() - t0);
    close(s);
    return 0;
  }
  fprintf(stderr, "usage: tcpbench sink PORT | send HOST PORT SECONDS | rr-server PORT | rr-client HOST PORT SECONDS\n");
  return 2;
}
