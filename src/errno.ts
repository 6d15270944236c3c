// Errno names, numbers and strerror text (Linux x86-64 values), and the one
// error type the control plane throws. The hot path never throws: it returns
// a verdict and counts; only control operations raise NetError.

export const ERRNO = {
  EPERM: { no: 1, text: 'Operation not permitted' },
  ENOENT: { no: 2, text: 'No such file or directory' },
  ESRCH: { no: 3, text: 'No such process' },
  EINTR: { no: 4, text: 'Interrupted system call' },
  EIO: { no: 5, text: 'Input/output error' },
  ENXIO: { no: 6, text: 'No such device or address' },
  EBADF: { no: 9, text: 'Bad file descriptor' },
  EAGAIN: { no: 11, text: 'Resource temporarily unavailable' },
  ENOMEM: { no: 12, text: 'Cannot allocate memory' },
  EACCES: { no: 13, text: 'Permission denied' },
  EFAULT: { no: 14, text: 'Bad address' },
  EBUSY: { no: 16, text: 'Device or resource busy' },
  EEXIST: { no: 17, text: 'File exists' },
  ENODEV: { no: 19, text: 'No such device' },
  EINVAL: { no: 22, text: 'Invalid argument' },
  ENFILE: { no: 23, text: 'Too many open files in system' },
  EMFILE: { no: 24, text: 'Too many open files' },
  EPIPE: { no: 32, text: 'Broken pipe' },
  ERANGE: { no: 34, text: 'Numerical result out of range' },
  ENOSPC: { no: 28, text: 'No space left on device' },
  ENAMETOOLONG: { no: 36, text: 'File name too long' },
  EPROTO: { no: 71, text: 'Protocol error' },
  EDESTADDRREQ: { no: 89, text: 'Destination address required' },
  EBADMSG: { no: 74, text: 'Bad message' },
  EMSGSIZE: { no: 90, text: 'Message too long' },
  EPROTONOSUPPORT: { no: 93, text: 'Protocol not supported' },
  EOPNOTSUPP: { no: 95, text: 'Operation not supported' },
  EAFNOSUPPORT: { no: 97, text: 'Address family not supported by protocol' },
  EADDRINUSE: { no: 98, text: 'Address already in use' },
  EADDRNOTAVAIL: { no: 99, text: 'Cannot assign requested address' },
  ENETDOWN: { no: 100, text: 'Network is down' },
  ENETUNREACH: { no: 101, text: 'Network is unreachable' },
  ECONNABORTED: { no: 103, text: 'Software caused connection abort' },
  ECONNRESET: { no: 104, text: 'Connection reset by peer' },
  ENOBUFS: { no: 105, text: 'No buffer space available' },
  EISCONN: { no: 106, text: 'Transport endpoint is already connected' },
  ENOTCONN: { no: 107, text: 'Transport endpoint is not connected' },
  ESHUTDOWN: { no: 108, text: 'Cannot send after transport endpoint shutdown' },
  ETIMEDOUT: { no: 110, text: 'Connection timed out' },
  ECONNREFUSED: { no: 111, text: 'Connection refused' },
  EHOSTUNREACH: { no: 113, text: 'No route to host' },
  EALREADY: { no: 114, text: 'Operation already in progress' },
} as const;

export type ErrnoName = keyof typeof ERRNO;

const byNumber = new Map<number, ErrnoName>(
  (Object.keys(ERRNO) as ErrnoName[]).map((name) => [ERRNO[name].no, name]),
);

export function errnoNumber(name: ErrnoName): number {
  return ERRNO[name].no;
}

export function errnoName(no: number): ErrnoName | undefined {
  return byNumber.get(Math.abs(no));
}

export function strerror(name: ErrnoName): string {
  return ERRNO[name].text;
}

export function isErrnoName(value: unknown): value is ErrnoName {
  return typeof value === 'string' && Object.hasOwn(ERRNO, value);
}

/**
 * An error with an errno name, as the kernel returns -errno from a syscall.
 * `detail` says what was wrong in words a user can act on.
 */
export class NetError extends Error {
  readonly errno: ErrnoName;
  readonly code: ErrnoName;

  constructor(errno: ErrnoName, detail?: string, options?: { cause?: unknown }) {
    super(detail ?? ERRNO[errno].text, options);
    this.name = 'NetError';
    this.errno = errno;
    this.code = errno;
  }

  get errnoNumber(): number {
    return ERRNO[this.errno].no;
  }

  get strerror(): string {
    return ERRNO[this.errno].text;
  }
}

/**
 * EAGAIN from a nonblocking call: the answer a busy socket gives many times a
 * second (a reader draining its queue ends on it each time), so it is built
 * without a stack trace, whose capture would cost more than the call itself.
 * Everything else about it is an ordinary NetError.
 */
export function wouldBlock(detail: string): NetError {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return new NetError('EAGAIN', detail);
  } finally {
    Error.stackTraceLimit = limit;
  }
}

export function isNetError(err: unknown): err is NetError {
  return err instanceof NetError;
}
