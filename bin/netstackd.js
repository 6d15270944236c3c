#!/usr/bin/env node
// `npx netstackd`: the service runs from its TypeScript sources through tsx,
// registered here so that the installed command needs no --import flag.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
