#!/usr/bin/env node
// `npx netstackctl`: runs the compiled CLI from dist/ (built by `npm ci`
// through `prepare`, or `npm run build`), so a call does not compile
// TypeScript first. A checkout without dist/ falls back to the sources
// through tsx, with a note on stderr that the call is slow for that reason.
import { existsSync } from 'node:fs';

const compiled = new URL('../dist/cli/main.js', import.meta.url);
if (existsSync(compiled)) {
  await import(compiled.href);
} else {
  process.stderr.write('netstackctl: dist/ not built (npm run build); running from src/ through tsx\n');
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}
