/*
 * What tcpbench.c and udpbench.c both need: a monotonic clock in seconds and
 * a fatal error exit. Header-only (static functions), so each program still
 * builds from its one .c file: gcc finds "bench.h" beside the source.
 */
#ifndef NETSTACKD_BENCH_H
#define NETSTACKD_BENCH_H

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static inline double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static inline void die(const char *what) {
  perror(what);
  exit(1);
}

#endif
