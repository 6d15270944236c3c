// The console's only way to the service: the public HTTP API (fetch, with
// the session cookie the browser holds) and its WebSockets. Nothing here
// knows about pages.

/** @typedef {{ok: boolean, status: number, body: any, problem: any}} Reply */

/** One request; problem+json answers come back as `problem`, never thrown. */
export async function api(method, path, body) {
  const init = { method, credentials: 'same-origin', headers: {} };
  if (body !== undefined) {
    init.headers['content-type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (err) {
    return { ok: false, status: 0, body: null, problem: { title: 'Network error', detail: String(err), errno: 'EIO' } };
  }
  const text = await res.text();
  let parsed = null;
  try {
    parsed = text === '' ? null : JSON.parse(text);
  } catch {
    parsed = text;
  }
  if (res.ok) return { ok: true, status: res.status, body: parsed, problem: null };
  const problem = parsed && typeof parsed === 'object' ? parsed : { title: res.statusText, detail: String(parsed ?? ''), errno: '' };
  return { ok: false, status: res.status, body: null, problem };
}

/** A problem as one line: "EINVAL: mtu must be at least 68". */
export function problemText(problem) {
  if (!problem) return '';
  const detail = problem.detail || problem.title || 'error';
  return problem.errno ? `${problem.errno}: ${detail}` : detail;
}

export function wsUrl(path) {
  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${scheme}//${location.host}${path}`;
}

/** A WebSocket to the service: the session cookie authenticates it (same origin). */
export function openSocket(path) {
  return new WebSocket(wsUrl(path));
}

export const devPath = (name) => `/v1/devices/${encodeURIComponent(name)}`;

let documented = null;

/**
 * Whether the service has a route (method and OpenAPI path, e.g. "get",
 * "/v1/addresses"), from its own OpenAPI document: views for routes that
 * land later (addresses, routes, TCP) ask first instead of collecting 404s.
 */
export async function hasRoute(method, path) {
  documented ??= api('GET', '/openapi.json').then((r) => (r.ok ? r.body.paths ?? {} : {}));
  const paths = await documented;
  return Boolean(paths[path]?.[method]);
}
