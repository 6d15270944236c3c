// The kernel side of kernel-tcp-rr: `node tcp-rr.mjs server PORT` echoes
// every byte; `node tcp-rr.mjs client HOST PORT SECONDS` sends 1 byte, waits
// for the 1-byte answer, repeats, and prints transactions per second. Both
// with TCP_NODELAY. Run inside network namespaces by bench/tcp-kernel.bench.ts.
import net from 'node:net';

const [mode, a, b, c] = process.argv.slice(2);
if (mode === 'server') {
  net.createServer({ noDelay: true }, (s) => s.on('data', (d) => s.write(d))).listen(Number(a), () => process.stdout.write('ready\n'));
} else {
  const seconds = Number(c);
  const s = net.connect({ host: a, port: Number(b), noDelay: true }, () => {
    let n = 0;
    const one = Buffer.from([1]);
    const t0 = performance.now();
    s.on('data', (d) => {
      n += d.length;
      if (performance.now() - t0 >= seconds * 1000) {
        process.stdout.write(`${n / ((performance.now() - t0) / 1000)}\n`);
        s.destroy();
        return;
      }
      for (let i = 0; i < d.length; i++) s.write(one);
    });
    s.write(one);
  });
}
