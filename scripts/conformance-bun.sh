#!/usr/bin/env bash
# The conformance suite on Bun, against the Bun adapter (the "bun" exports
# condition). `bun test` runs the suite's node:test files unchanged: Bun maps
# node:test's test/describe/before onto its own runner. Prints Bun's summary,
# whose "N pass" line is the count.
set -euo pipefail
cd "$(dirname "$0")/.."
bun=./node_modules/.bin/bun
files=("${@:-test/conformance/}")
exec "$bun" test --conditions sockworker-source --timeout 20000 "${files[@]}"
