// pktbench: the Linux kernel's own packet path as a baseline for netstackd.
//
//   pktbench send IFNAME SIZE SECONDS BATCH
//   pktbench recv IFNAME SECONDS BATCH
//
// Raw Ethernet frames (EtherType 0x88B5, "local experimental", so nothing else
// in the namespace claims them) go through AF_PACKET SOCK_RAW sockets with
// sendmmsg/recvmmsg, BATCH frames per call. SIZE is the whole frame, the
// 14-byte header included, so "64" and "1500" compare directly with the
// frame sizes netstackd's own benchmarks use.
//
// Each side prints one JSON object on stdout when done. The receiver prints
// "ready" on stderr once it is bound, so the driver can start the sender
// only then (frames sent before the bind would be lost, not measured).
//
// The receiver's measurement window runs from its first frame to its last
// one, so start-up skew between the two processes does not dilute the rate.

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define ETH_P_BENCH 0x88B5
#define MAX_BATCH 1024
#define MAX_FRAME 9216
// Receiver stops once nothing has arrived for this long after the first
// frame: the sender has finished.
#define IDLE_NS 500000000LL
// Receiver gives up when no frame at all arrives within SECONDS + this.
#define START_GRACE_NS 10000000000LL

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void die(const char *what) {
  fprintf(stderr, "pktbench: %s: %s\n", what, strerror(errno));
  exit(1);
}

static void usage(void) {
  fprintf(stderr,
          "usage: pktbench send IFNAME SIZE SECONDS BATCH\n"
          "       pktbench recv IFNAME SECONDS BATCH\n");
  exit(2);
}

static double parse_seconds(const char *s) {
  char *end = NULL;
  errno = 0;
  double v = strtod(s, &end);
  if (errno != 0 || end == s || *end != '\0' || !(v > 0.0 && v <= 3600.0)) {
    fprintf(stderr, "pktbench: bad SECONDS '%s' (want 0 < s <= 3600)\n", s);
    exit(2);
  }
  return v;
}

static long parse_long(const char *s, long lo, long hi, const char *what) {
  char *end = NULL;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) {
    fprintf(stderr, "pktbench: bad %s '%s' (want %ld..%ld)\n", what, s, lo, hi);
    exit(2);
  }
  return v;
}

// Binding the socket to one interface keeps frames from other interfaces
// (and the protocol hook of other devices) out of the measurement.
static int open_bound(const char *ifname, uint16_t proto, int *ifindex_out) {
  int fd = socket(AF_PACKET, SOCK_RAW, htons(proto));
  if (fd < 0) die("socket(AF_PACKET)");
  int ifindex = (int)if_nametoindex(ifname);
  if (ifindex == 0) die(ifname);
  struct sockaddr_ll sll;
  memset(&sll, 0, sizeof sll);
  sll.sll_family = AF_PACKET;
  sll.sll_protocol = htons(proto);
  sll.sll_ifindex = ifindex;
  if (bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) die("bind");
  *ifindex_out = ifindex;
  return fd;
}

static int do_send(const char *ifname, long size, double seconds, long batch) {
  int ifindex = 0;
  // Protocol 0: the sending socket registers no receive hook, so it does not
  // also queue a copy of the traffic for itself.
  int fd = open_bound(ifname, 0, &ifindex);

  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
  if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) die("SIOCGIFHWADDR");

  static unsigned char frame[MAX_FRAME];
  memset(frame, 0, sizeof frame);
  // Broadcast destination: the peer accepts it without us knowing its MAC.
  memset(frame, 0xff, 6);
  memcpy(frame + 6, ifr.ifr_hwaddr.sa_data, 6);
  frame[12] = ETH_P_BENCH >> 8;
  frame[13] = ETH_P_BENCH & 0xff;
  for (long i = 14; i < size; i++) frame[i] = (unsigned char)i;

  // Every message points at the same frame: the kernel copies it anyway,
  // and one buffer keeps the user-space side out of the cache footprint.
  static struct mmsghdr msgs[MAX_BATCH];
  static struct iovec iovs[MAX_BATCH];
  struct sockaddr_ll to;
  memset(&to, 0, sizeof to);
  to.sll_family = AF_PACKET;
  to.sll_protocol = htons(ETH_P_BENCH);
  to.sll_ifindex = ifindex;
  to.sll_halen = 6;
  memset(to.sll_addr, 0xff, 6);
  for (long i = 0; i < batch; i++) {
    iovs[i].iov_base = frame;
    iovs[i].iov_len = (size_t)size;
    memset(&msgs[i], 0, sizeof msgs[i]);
    msgs[i].msg_hdr.msg_iov = &iovs[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
    msgs[i].msg_hdr.msg_name = &to;
    msgs[i].msg_hdr.msg_namelen = sizeof to;
  }

  uint64_t frames = 0, errors = 0;
  int64_t start = now_ns();
  int64_t end = start + (int64_t)(seconds * 1e9);
  int64_t t = start;
  while (t < end) {
    int n = sendmmsg(fd, msgs, (unsigned)batch, 0);
    if (n < 0) {
      // ENOBUFS: the device refused the frame (no qdisc yet, or a full
      // queue). Count it and go on: the receiver's count is the measure.
      if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR) {
        errors++;
      } else {
        die("sendmmsg");
      }
    } else {
      frames += (uint64_t)n;
    }
    t = now_ns();
  }
  double secs = (double)(t - start) / 1e9;
  printf("{\"frames\":%llu,\"bytes\":%llu,\"seconds\":%.6f,\"errors\":%llu}\n",
         (unsigned long long)frames, (unsigned long long)(frames * (uint64_t)size), secs,
         (unsigned long long)errors);
  close(fd);
  return 0;
}

static int do_recv(const char *ifname, double seconds, long batch) {
  int ifindex = 0;
  int fd = open_bound(ifname, ETH_P_BENCH, &ifindex);

  // A large receive buffer so the socket queue absorbs the sender's bursts
  // while the receiver is descheduled; FORCE bypasses rmem_max (root only),
  // plain SO_RCVBUF is the fallback (then capped at rmem_max).
  int rcvbuf = 64 * 1024 * 1024;
  if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0 &&
      setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf) < 0)
    die("SO_RCVBUF");

  // recvmmsg's own timeout is only checked between datagrams, so a socket
  // timeout is what lets the loop notice the sender has stopped.
  struct timeval tv = {.tv_sec = 0, .tv_usec = 100000};
  if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0) die("SO_RCVTIMEO");

  // Reading the statistics resets them: start the drop count from zero.
  struct tpacket_stats st;
  socklen_t stlen = sizeof st;
  if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &stlen) < 0) die("PACKET_STATISTICS");

  static unsigned char bufs[MAX_BATCH][MAX_FRAME];
  static struct mmsghdr msgs[MAX_BATCH];
  static struct iovec iovs[MAX_BATCH];
  for (long i = 0; i < batch; i++) {
    iovs[i].iov_base = bufs[i];
    iovs[i].iov_len = MAX_FRAME;
    memset(&msgs[i], 0, sizeof msgs[i]);
    msgs[i].msg_hdr.msg_iov = &iovs[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }

  fprintf(stderr, "ready\n");
  fflush(stderr);

  uint64_t frames = 0, bytes = 0;
  int64_t window = (int64_t)(seconds * 1e9);
  int64_t started = now_ns();
  int64_t first = 0, last = 0;
  for (;;) {
    int n = recvmmsg(fd, msgs, (unsigned)batch, MSG_WAITFORONE, NULL);
    int64_t t = now_ns();
    if (n < 0) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) die("recvmmsg");
    } else if (n > 0) {
      if (frames == 0) first = t;
      last = t;
      frames += (uint64_t)n;
      for (int i = 0; i < n; i++) bytes += msgs[i].msg_len;
    }
    if (frames == 0) {
      if (t - started > window + START_GRACE_NS) break;
    } else if (t - first >= window || t - last >= IDLE_NS) {
      break;
    }
  }

  stlen = sizeof st;
  if (getsockopt(fd, SOL_PACKET, PACKET_STATISTICS, &st, &stlen) < 0) die("PACKET_STATISTICS");
  double secs = frames > 0 ? (double)(last - first) / 1e9 : 0.0;
  printf("{\"frames\":%llu,\"bytes\":%llu,\"seconds\":%.6f,\"drops\":%u}\n",
         (unsigned long long)frames, (unsigned long long)bytes, secs, st.tp_drops);
  close(fd);
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc < 2) usage();
  if (strcmp(argv[1], "send") == 0) {
    if (argc != 6) usage();
    long size = parse_long(argv[3], 60, MAX_FRAME, "SIZE");
    double seconds = parse_seconds(argv[4]);
    long batch = parse_long(argv[5], 1, MAX_BATCH, "BATCH");
    return do_send(argv[2], size, seconds, batch);
  }
  if (strcmp(argv[1], "recv") == 0) {
    if (argc != 5) usage();
    double seconds = parse_seconds(argv[3]);
    long batch = parse_long(argv[4], 1, MAX_BATCH, "BATCH");
    return do_recv(argv[2], seconds, batch);
  }
  usage();
  return 2;
}
