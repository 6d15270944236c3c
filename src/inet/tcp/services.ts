// The small TCP services (RFC 862 echo, RFC 863 discard, RFC 864 chargen)
// run inside the stack on an accepted connection, so a plain Linux host can
// talk to netstackd with nothing else running. Each reads and writes through
// the ordinary socket calls, so flow control applies: echo stops reading
// while its peer does not read the echo back (its sndbuf is full), and the
// window closes on the sender; chargen writes only as fast as the peer reads.

import { NetError } from '../../errno.ts';
import { TcpState, type TcpSock } from './sock.ts';

export type TcpServiceName = 'echo' | 'discard' | 'chargen';

/** RFC 864's 72-character lines over the 95 printable ASCII characters, rotating by one per line. */
export function chargenLine(n: number): Buffer {
  const line = Buffer.allocUnsafe(74);
  for (let i = 0; i < 72; i++) line[i] = 32 + ((n + i) % 95);
  line[72] = 13;
  line[73] = 10;
  return line;
}

/**
 * Serve `sk` until the peer closes or the connection fails; then close it.
 * Resolves with the bytes read and written. Never rejects: a reset or
 * timeout simply ends the service.
 */
export async function runTcpService(name: TcpServiceName, sk: TcpSock, signal?: AbortSignal): Promise<{ read: number; written: number }> {
  let read = 0;
  let written = 0;
  try {
    if (name === 'chargen') {
      // The peer's data is read and thrown away, and its FIN ends the service.
      let eof = false;
      void (async () => {
        try {
          for (;;) {
            const b = await sk.read(65536, { signal });
            if (b === null) break;
            read += b.length;
          }
        } catch {
          /* the write loop sees the error too */
        }
        eof = true;
      })();
      const block = Buffer.concat(Array.from({ length: 95 }, (_, i) => chargenLine(i)));
      while (!eof && !signal?.aborted && sk.state !== TcpState.CLOSE) {
        written += await sk.write(block, { signal });
      }
    } else {
      for (;;) {
        const b = await sk.read(65536, { signal });
        if (b === null) break;
        read += b.length;
        if (name === 'echo') written += await sk.write(b, { signal });
      }
    }
  } catch (e) {
    if (!(e instanceof NetError)) throw e;
  }
  sk.close();
  return { read, written };
}
