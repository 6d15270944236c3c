#!/usr/bin/env node
// `npx netstackctl`: the CLI runs from its TypeScript sources through tsx,
// registered here so that the installed command needs no --import flag.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
