// `npm run openapi`: writes openapi/openapi.json, the OpenAPI 3.1 document of
// the HTTP API, generated from the app's routes and zod schemas. The file is
// committed; test/api/http/openapi.test.ts fails when it drifts from the code.

import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { NetStack } from '../src/stack/index.ts';
import { buildApp } from '../src/api/http/app.ts';

export const OPENAPI_FILE = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'openapi', 'openapi.json');

/** The document as the file holds it: two-space JSON and a final newline. */
export function formatOpenApi(doc: unknown): string {
  return JSON.stringify(doc, null, 2) + '\n';
}

/** Builds the app around a fresh stack and renders its document. */
export async function renderOpenApi(): Promise<string> {
  const stack = new NetStack();
  const app = await buildApp({ stack });
  try {
    await app.ready();
    return formatOpenApi(app.swagger());
  } finally {
    await app.close();
    stack.close();
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  const text = await renderOpenApi();
  await mkdir(path.dirname(OPENAPI_FILE), { recursive: true });
  await writeFile(OPENAPI_FILE, text);
  process.stderr.write(`wrote ${path.relative(process.cwd(), OPENAPI_FILE)} (${text.length} bytes)\n`);
}
