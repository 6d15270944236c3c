// GET /console/: the web console's static files, served from memory. The
// page's own files are src/web/console/; the libraries it uses (preact, its
// hooks, htm, uPlot) come from node_modules, where `npm ci` put them: nothing
// is fetched from a CDN or downloaded at run time, and there is no build step.
// Only the files listed here exist (no path from the URL touches the disk).
// The files are public (auth.ts): the page must load to show its login form;
// every piece of data it shows comes from the API, which asks for credentials.

import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, extname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyPluginAsync } from 'fastify';
import { problem, sendProblem } from '../api/http/problem.ts';

export const CONSOLE_PREFIX = '/console/';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/**
 * Scripts and styles from this origin only (preact and uPlot set styles
 * through the CSSOM, which CSP allows); the WebSockets go back to the same
 * host; no inline script, no frames, no forms posted elsewhere.
 */
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self'; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

interface Asset {
  body: Buffer;
  type: string;
}

const here = dirname(fileURLToPath(import.meta.url));
const require = createRequire(import.meta.url);

/** A file of an installed package (some export no package.json: find the root from the main entry). */
function packageFile(pkg: string, file: string): string {
  const main = require.resolve(pkg);
  const marker = `${sep}node_modules${sep}${pkg}${sep}`;
  const at = main.lastIndexOf(marker);
  if (at < 0) throw new Error(`cannot find the package directory of ${pkg} from ${main}`);
  return join(main.slice(0, at + marker.length), file);
}

/** The hooks module imports "preact" by bare name; a browser without an import map needs the path. */
function rewriteBareImports(text: string): string {
  return text.replace(/(from\s*)(["'])preact\2/g, '$1$2./preact.mjs$2');
}

export function loadConsoleAssets(): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const dir = join(here, 'console');
  for (const name of readdirSync(dir)) {
    const type = TYPES[extname(name)];
    if (type !== undefined) assets.set(name, { body: readFileSync(join(dir, name)), type });
  }
  const vendor: [string, string, string][] = [
    ['vendor/preact.mjs', 'preact', 'dist/preact.module.js'],
    ['vendor/hooks.mjs', 'preact', 'hooks/dist/hooks.module.js'],
    ['vendor/htm.mjs', 'htm', 'dist/htm.module.js'],
    ['vendor/uplot.mjs', 'uplot', 'dist/uPlot.esm.js'],
    ['vendor/uplot.css', 'uplot', 'dist/uPlot.min.css'],
  ];
  for (const [path, pkg, file] of vendor) {
    // Source map comments would make devtools fetch files that are not served.
    const text = rewriteBareImports(readFileSync(packageFile(pkg, file), 'utf8')).replace(/\n?\/[/*][#@] sourceMappingURL=\S+(\s*\*\/)?\s*$/, '\n');
    assets.set(path, { body: Buffer.from(text), type: TYPES[extname(path)]! });
  }
  return assets;
}

const consoleRoutes: FastifyPluginAsync = async function consoleRoutes(app) {
  const assets = loadConsoleAssets();
  const send = (path: string) => assets.get(path === '' ? 'index.html' : path);

  app.get('/console', { schema: { hide: true } }, async (_request, reply) => reply.redirect(CONSOLE_PREFIX, 301));
  app.get<{ Params: { '*': string } }>('/console/*', { schema: { hide: true }, logLevel: 'warn' }, async (request, reply) => {
    const asset = send(request.params['*']);
    if (asset === undefined) return sendProblem(reply, problem(request, 404, 'ENOENT', `the console has no file ${request.params['*']}`));
    reply.header('content-type', asset.type);
    reply.header('cache-control', 'no-cache');
    reply.header('x-content-type-options', 'nosniff');
    if (asset.type.startsWith('text/html')) reply.header('content-security-policy', CSP);
    return reply.send(asset.body);
  });
};

export default consoleRoutes;
