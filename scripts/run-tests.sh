#!/bin/sh
# Every test file under test/, named explicitly: Node 20 does not expand
# quoted globs, and `node --test` given nothing finds no TypeScript test and
# exits 0 — an empty run must fail instead.
set -eu
files=$(find test -name '*.test.ts' | sort)
if [ -z "$files" ]; then
  echo "run-tests: no test files found under test/" >&2
  exit 1
fi
# One file at a time: several tests start servers, Prometheus, or network
# namespaces, and the machines have two cores.
exec node --import tsx --test --test-concurrency=1 $files
