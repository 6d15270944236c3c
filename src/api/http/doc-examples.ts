// What the OpenAPI document says beyond the schemas: an operationId for every
// operation (client generators name their methods after it), a working
// example for every request (Swagger UI's "Try it out" sends it as is, so it
// must succeed against a fresh server once the first session's veth0/veth1
// exist, veth0 holds 198.51.100.1/24 as the README's IPv4 session gives it,
// and one UDP socket (id 1) is open), and for every error answer a problem
// body with that status. A DELETE example removes what the same path's POST
// example adds (Try it out: POST, then DELETE). Addresses are documentation
// ones (RFC 5737). test/api/http/openapi-examples.test.ts makes that state,
// sends each example and checks the answer.

import { type ErrnoName, strerror } from '../../errno.ts';

/** "METHOD /path" -> operationId. */
export const OPERATION_IDS: Readonly<Record<string, string>> = {
  'GET /healthz': 'getHealth',
  'GET /metrics': 'getMetrics',
  'GET /v1/addresses': 'listAddresses',
  'GET /v1/capture': 'captureAll',
  'GET /v1/devices': 'listDevices',
  'POST /v1/devices': 'createDevice',
  'GET /v1/devices/{name}': 'getDevice',
  'PATCH /v1/devices/{name}': 'setDevice',
  'DELETE /v1/devices/{name}': 'deleteDevice',
  'POST /v1/devices/{name}/addresses': 'addAddress',
  'DELETE /v1/devices/{name}/addresses/{addr}': 'deleteAddress',
  'GET /v1/devices/{name}/capture': 'captureDevice',
  'GET /v1/devices/{name}/fdb': 'listFdb',
  'POST /v1/devices/{name}/fdb': 'addFdbEntry',
  'DELETE /v1/devices/{name}/fdb': 'deleteFdbEntry',
  'GET /v1/devices/{name}/qdisc': 'getQdisc',
  'PUT /v1/devices/{name}/qdisc': 'replaceQdisc',
  'POST /v1/devices/{name}/frames': 'sendFrames',
  'POST /v1/devices/{name}/ioctl': 'deviceIoctl',
  'GET /v1/devices/{name}/stream': 'streamFrames',
  'GET /v1/events': 'watchEvents',
  'GET /v1/neighbours': 'listNeighbours',
  'POST /v1/neighbours': 'addNeighbour',
  'DELETE /v1/neighbours': 'deleteNeighbours',
  'GET /v1/netstat': 'getNetstat',
  'POST /v1/ping': 'ping',
  'GET /v1/routes': 'listRoutes',
  'POST /v1/routes': 'addRoute',
  'DELETE /v1/routes': 'deleteRoute',
  'GET /v1/routes/get': 'getRoute',
  'GET /v1/session': 'getSession',
  'POST /v1/session': 'login',
  'DELETE /v1/session': 'logout',
  'GET /v1/sockets': 'listSockets',
  'POST /v1/sockets': 'createSocket',
  'GET /v1/sockets/{id}': 'getSocket',
  'DELETE /v1/sockets/{id}': 'closeSocket',
  'POST /v1/sockets/{id}/send': 'sendDatagram',
  'GET /v1/sockets/{id}/stream': 'streamDatagrams',
  'GET /v1/stack': 'getStack',
  'PATCH /v1/stack/sysctl': 'setSysctls',
};

/** "camelCase" from method and path, for an operation the table does not name (a route added later). */
export function fallbackOperationId(method: string, path: string): string {
  const words = path
    .split('/')
    .filter((s) => s !== '' && s !== 'v1')
    .map((s) => (s.startsWith('{') ? 'By' + s.slice(1, -1) : s))
    .flatMap((s) => s.split(/[^A-Za-z0-9]+/))
    .filter((s) => s !== '');
  return method.toLowerCase() + words.map((w) => w[0]!.toUpperCase() + w.slice(1)).join('');
}

const ARP_REQUEST = 'ffffffffffff02000000000108060001080006040001020000000001c0000201000000000000c0000202';

/** "METHOD /path" -> content type -> example body. */
export const REQUEST_EXAMPLES: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {
  'POST /v1/devices': { 'application/json': { kind: 'veth', name: 'veth2', peer: 'veth3', up: true } },
  'PATCH /v1/devices/{name}': { 'application/json': { mtu: 1400, up: true } },
  'POST /v1/devices/{name}/fdb': { 'application/json': { mac: '02:00:00:00:00:aa', ifname: 'veth1' } },
  'POST /v1/devices/{name}/frames': { 'application/json': { frames: [ARP_REQUEST] } },
  'POST /v1/devices/{name}/ioctl': { 'application/json': { request: 'SIOCGIFMTU' } },
  'PUT /v1/devices/{name}/qdisc': { 'application/json': { kind: 'pfifo', limit: 100 } },
  'POST /v1/devices/{name}/addresses': { 'application/json': { address: '192.0.2.1/24' } },
  'POST /v1/neighbours': { 'application/json': { dst: '198.51.100.2', dev: 'veth0', lladdr: '02:00:00:00:00:02' } },
  // Our own address: the reply comes back through lo at once.
  'POST /v1/ping': { 'application/json': { dst: '198.51.100.1', count: 1 } },
  'POST /v1/routes': { 'application/json': { dst: '203.0.113.0/24', gateway: '198.51.100.254' } },
  // Without --token the server answers 204 and sets no cookie; with one, put the server's token here.
  'POST /v1/session': { 'application/json': { token: 'the-token-netstackd-was-started-with' } },
  'POST /v1/sockets': { 'application/json': { type: 'udp', bind: '198.51.100.1:7', service: 'echo' } },
  // "hello" to the echo socket the POST /v1/sockets example opens (any port works: UDP does not wait for an answer).
  'POST /v1/sockets/{id}/send': { 'application/json': { to: '198.51.100.1:7', data: '68656c6c6f' } },
  // Linux's syntax: integers, a congestion control by name, a vector as sysctl prints it (or as an array).
  'PATCH /v1/stack/sysctl': {
    'application/json': { 'net.core.rmem_default': 212992, 'net.ipv4.tcp_congestion_control': 'cubic', 'net.ipv4.tcp_rmem': '4096 131072 6291456' },
  },
};

/** The device an operation's {name} example names: a bridge for the fdb routes, veth0 elsewhere. */
export function nameExample(path: string): string {
  return path.endsWith('/fdb') ? 'br0' : 'veth0';
}

/** Query examples that make a GET or DELETE work as is ("Try it out" leaves other fields empty). */
export const QUERY_EXAMPLES: Readonly<Record<string, Readonly<Record<string, unknown>>>> = {
  'DELETE /v1/devices/{name}/fdb': { mac: '02:00:00:00:00:aa' },
  'DELETE /v1/neighbours': { dev: 'veth0', dst: '198.51.100.2' },
  'DELETE /v1/routes': { dst: '203.0.113.0/24', gateway: '198.51.100.254' },
  'GET /v1/routes/get': { dst: '198.51.100.2' },
  'GET /v1/devices/{name}/capture': { count: 1, duration_s: 5 },
  'GET /v1/capture': { count: 1, duration_s: 5 },
};

/** The errno an answer of this status usually carries, for its example. */
const ERRNO_OF_STATUS: Readonly<Record<number, ErrnoName>> = {
  400: 'EINVAL',
  401: 'EACCES',
  404: 'ENODEV',
  409: 'EEXIST',
  413: 'EMSGSIZE',
  415: 'EINVAL',
  422: 'EADDRNOTAVAIL',
  429: 'EAGAIN',
  500: 'EIO',
  501: 'EOPNOTSUPP',
  503: 'EAGAIN',
};

/** A problem body with this status, as the server would send it. */
export function problemExample(status: number, path: string): Record<string, unknown> {
  const errno = ERRNO_OF_STATUS[status] ?? 'EINVAL';
  const detail =
    status === 401 ? 'this API needs "Authorization: Bearer <token>"' : status === 404 ? 'device "veth9" does not exist' : `${strerror(errno)}`;
  return {
    type: `urn:netstack:errno:${errno}`,
    title: strerror(errno),
    status,
    detail,
    errno,
    instance: path.replace('{name}', status === 404 ? 'veth9' : 'veth0'),
  };
}
