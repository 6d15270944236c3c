// Network namespaces for tests that talk to the Linux kernel: create what the
// test uses (names carry the pid), remove it in `finally`, and remove what
// a killed earlier run left behind. Underlay links take a free /30 of the
// documentation range 198.51.100.0/24; everything else lives inside the
// namespaces the tests create.

import { execFileSync, spawn } from 'node:child_process';

export function run(cmd: string, args: string[], input?: string): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'], ...(input !== undefined ? { input } : {}) });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')}: ${(e.stderr ?? '').trim() || e.message}`);
  }
}

/** Run, and return exit status and both outputs instead of throwing. */
export function runStatus(cmd: string, args: string[], timeoutMs = 20_000): { status: number; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: timeoutMs });
    return { status: 0, stdout, stderr: '' };
  } catch (err) {
    const e = err as { status?: number | null; stdout?: string; stderr?: string };
    return { status: e.status ?? -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

export function tryRun(cmd: string, args: string[]): void {
  try {
    run(cmd, args);
  } catch {
    // Cleanup of something that may already be gone.
  }
}

export function hasTool(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore', env: { ...process.env, PATH: `${process.env.PATH}:/usr/sbin:/sbin` } });
    return true;
  } catch {
    return false;
  }
}

function pidAlive(p: number): boolean {
  try {
    process.kill(p, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Why this machine cannot run a namespace test needing `tools`, or null. */
export function cannotRun(tools: string[]): string | null {
  if (process.platform !== 'linux') return 'needs Linux network namespaces';
  if (process.getuid?.() !== 0) return 'needs root to create a network namespace';
  for (const tool of ['ip', ...tools]) if (!hasTool(tool)) return `${tool} is not installed`;
  return null;
}

/**
 * Namespaces named PREFIX<pid> (and host links `hostIf(pid)`) of earlier runs
 * whose process is gone.
 */
export function removeStale(prefix: string, hostIfs: (pid: number) => string[]): void {
  let names: string[] = [];
  try {
    names = run('ip', ['netns', 'list']).split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith(prefix));
  } catch {
    return;
  }
  for (const n of names) {
    const rest = n.slice(prefix.length);
    const owner = Number(rest.split('-')[0]);
    if (Number.isInteger(owner) && owner !== process.pid && !pidAlive(owner)) {
      tryRun('ip', ['netns', 'del', n]);
      for (const l of hostIfs(owner)) tryRun('ip', ['link', 'del', l]);
    }
  }
}

/** A /30 of 198.51.100.0/24 that no interface here uses yet: [host end, namespace end]. */
export function pickUnderlay(avoid: string[] = []): { host: string; ns: string } {
  const used = run('ip', ['-4', '-o', 'addr', 'show']) + avoid.join(' ');
  for (let i = 0; i < 64; i++) {
    const base = ((process.pid + i) % 64) * 4;
    const host = `198.51.100.${base + 1}`;
    const ns = `198.51.100.${base + 2}`;
    if (!used.includes(` ${host}/`) && !used.includes(` ${ns}/`) && !avoid.includes(host)) return { host, ns };
  }
  throw new Error('no free /30 in 198.51.100.0/24');
}

export interface KernelVxlan {
  ns: string;
  hostIf: string;
  /** Underlay addresses: this process binds `host`, the kernel vxlan `ns`. */
  host: string;
  nsAddr: string;
}

/**
 * A namespace `ns` joined to this one by a veth pair (host end `hostIf`) on a
 * free /30, with a kernel vxlan `vx0` (VNI `vni`, MAC `mac`) whose remote is
 * the host end, IPv6 off (no MLD/RS frames), up, optionally with an address.
 * Throws if the kernel cannot; the caller removes `ns` and `hostIf`.
 */
export function kernelVxlan(opts: { ns: string; hostIf: string; nsIf: string; vni: number; mac: string; cidr?: string; avoid?: string[]; txChecksum?: boolean }): KernelVxlan {
  const { host, ns: nsAddr } = pickUnderlay(opts.avoid);
  const ns = opts.ns;
  run('ip', ['netns', 'add', ns]);
  run('ip', ['link', 'add', opts.hostIf, 'type', 'veth', 'peer', 'name', opts.nsIf, 'netns', ns]);
  run('ip', ['addr', 'add', `${host}/30`, 'dev', opts.hostIf]);
  run('ip', ['link', 'set', opts.hostIf, 'up']);
  run('ip', ['-n', ns, 'addr', 'add', `${nsAddr}/30`, 'dev', opts.nsIf]);
  run('ip', ['-n', ns, 'link', 'set', opts.nsIf, 'up']);
  run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  run('ip', ['-n', ns, 'link', 'add', 'vx0', 'type', 'vxlan', 'id', String(opts.vni), 'dstport', '4789', 'remote', host, 'local', nsAddr, 'nolearning']);
  run('ip', ['-n', ns, 'link', 'set', 'vx0', 'address', opts.mac]);
  run('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.vx0.disable_ipv6=1']);
  // With checksum offload the kernel leaves the inner UDP/TCP checksum for
  // the hardware to finish (CHECKSUM_PARTIAL), and a veth underlay never
  // does: a VTEP outside the kernel would get it unfinished. Off, the kernel
  // computes it before encapsulating.
  if (opts.txChecksum === false) run('ip', ['netns', 'exec', ns, 'ethtool', '-K', 'vx0', 'tx', 'off']);
  if (opts.cidr !== undefined) run('ip', ['-n', ns, 'addr', 'add', opts.cidr, 'dev', 'vx0']);
  run('ip', ['-n', ns, 'link', 'set', 'vx0', 'up']);
  return { ns, hostIf: opts.hostIf, host, nsAddr };
}

/**
 * Run without blocking the event loop (the stack in this process must keep
 * answering while the kernel side runs): exit status and both outputs.
 */
export function runAsync(cmd: string, args: string[], opts: { input?: string; timeoutMs?: number } = {}): Promise<{ status: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d: Buffer) => { stdout += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 20_000);
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ status: -1, stdout, stderr: stderr + String(err) });
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ status: code ?? -1, stdout, stderr });
    });
    if (opts.input !== undefined) child.stdin!.end(opts.input);
  });
}
