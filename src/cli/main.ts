// The netstackctl executable: run the command line, then exit with its status
// once stdout has drained (process.exitCode, not process.exit(), so a large
// `link show -s` is never cut short). A reader that goes away
// (`netstackctl link | head -1`) ends the process quietly.

import { runCli } from './cli.ts';

process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

process.exitCode = await runCli(process.argv.slice(2));
