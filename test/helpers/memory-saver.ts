// A StateSaver for tests that look at what it writes, not at the disk: its
// write keeps the last text in memory (the path is never opened).

import { StateSaver, type StateSaverOptions } from '../../src/config/state-saver.ts';
import type { NetStack } from '../../src/stack/index.ts';

export function memorySaver(stack: NetStack, opts: Omit<StateSaverOptions, 'write'> = {}): { saver: StateSaver; written: () => string } {
  let written = '';
  const saver = new StateSaver(stack, '/nonexistent/state.json', {
    ...opts,
    write: async (_file, text) => {
      written = text;
    },
  });
  return { saver, written: () => written };
}
