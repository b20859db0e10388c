#!/usr/bin/env bash
# `npm run bench [-- --quick]`: builds what it needs, then runs scripts/bench/run.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_node_modules
ensure_build
exec npx tsx scripts/bench/run.ts "$@"
