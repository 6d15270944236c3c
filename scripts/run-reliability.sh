#!/bin/sh
# The reliability suite (npm run test:reliability): the service against
# crashes, fuzzed input and hostile clients. Slower than the unit tests, so
# apart from `npm test`; CI runs it after them. Files: test/reliability/*.reliability.ts.
set -eu
files=$(find test/reliability -name '*.reliability.ts' | sort)
if [ -z "$files" ]; then
  echo "run-reliability: no test files found under test/reliability/" >&2
  exit 1
fi
exec node --import tsx --test --test-concurrency=1 $files
