#!/usr/bin/env node
// `npx netstackd`: runs the compiled service from dist/ (built by `npm ci`
// through `prepare`, or `npm run build`). A checkout without dist/ falls back
// to the sources through tsx, with a note on stderr.
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/main.js', import.meta.url);
if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  process.stderr.write('netstackd: dist/ not built (npm run build); running from src/ through tsx\n');
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/main.ts');
}
