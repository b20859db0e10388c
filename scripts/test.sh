#!/usr/bin/env bash
# Runs every test: typecheck, lint (ESLint with Next.js and typescript-eslint rules), unit, database, integration (separate hub and spoke processes over HTTPS on
# real PostgreSQL), faults, libvirt (real libvirtd + QEMU guests; libvirtd must be running:
# scripts/services.sh), the browser suite (Playwright, Debian's chromium), then the benchmark in quick mode.
# They run in two lanes side by side (below): what boots real guests, and the rest.
# `npm test -- test/unit` runs one folder (`e2e` and `bench` name the last two). PostgreSQL comes from
# TEST_DATABASE_URL or, when that is unset, from a private server started here for this run.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
ensure_node_modules
echo "capsul: typecheck and lint" >&2
npx tsc --noEmit
npx eslint .
ensure_build strict

if [ -z "${TEST_DATABASE_URL:-}" ]; then
  pgdir=$(mktemp -d /tmp/capsul-test-pg.XXXXXX)
  trap 'scripts/test-postgres.sh stop "$pgdir"' EXIT
  TEST_DATABASE_URL=$(scripts/test-postgres.sh start "$pgdir")
  export TEST_DATABASE_URL
fi

targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(test/unit test/db test/integration test/faults test/libvirt e2e bench)
files=()
browser=false
bench=false
for t in "${targets[@]}"; do
  case "$t" in
    e2e|e2e/) browser=true ;;
    bench) bench=true ;;
    *) if [ -d "$t" ]; then files+=("$t"/*.test.ts); else files+=("$t"); fi ;;
  esac
done
status=0
# Two lanes side by side, each one thing at a time. The real lane: the node test files that boot real guests,
# build a fresh copy or storm the hub with claims (mostly CPU), then the browser suite and the quick bench
# (both boot real guests too, so never beside a libvirt test: those expect no other test's domains). The
# other lane: the rest of the node tests (mostly waiting on processes and timers). Each lane's report is
# printed when both are done, the node tests' with one summary for both lanes.
real=() rest=()
for f in "${files[@]}"; do
  case "$f" in test/libvirt/*|test/integration/start.test.ts|test/faults/claim-storm.test.ts) real+=("$f") ;; *) rest+=("$f") ;; esac
done
logs=$(mktemp -d /tmp/capsul-test-logs.XXXXXX)
step() { # <name> <command…>: runs it into the lane's log, keeps its exit code
  local name=$1; shift
  local rc=0
  "$@" >"$logs/$name.log" 2>&1 || rc=$?
  echo "$rc" >"$logs/$name.rc"
}
node_tests() { # <name> <files…>
  local name=$1; shift
  [ $# -gt 0 ] || return 0
  step "$name.node" npx tsx --test --test-force-exit --test-timeout=600000 --test-concurrency=1 --test-reporter=spec "$@"
}
real_lane() {
  node_tests real "${real[@]}"
  # The browser suite, then the benchmark in quick mode: proves it still runs (figures go to
  # test-results/bench/, not checked here).
  if $browser; then step browser npx playwright test -c e2e/playwright.config.ts; fi
  if $bench; then step bench npx tsx scripts/bench/run.ts --quick; fi
}
echo "capsul: tests in two lanes (reports when both are done): real guests, then the browser suite and the quick bench; the rest" >&2
real_lane &
node_tests rest "${rest[@]}" &
wait

summary='^ℹ (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) [0-9.]+$'
if [ ${#files[@]} -gt 0 ]; then
  for name in rest real; do [ ! -f "$logs/$name.node.log" ] || grep -Ev "$summary" "$logs/$name.node.log" || true; done
  for key in tests suites pass fail cancelled skipped todo; do
    echo "ℹ $key $(cat "$logs"/*.node.log | sed -nE "s/^ℹ $key ([0-9]+)$/\1/p" | awk '{ n += $1 } END { print n + 0 }')"
  done
  echo "ℹ duration_ms $(cat "$logs"/*.node.log | sed -nE 's/^ℹ duration_ms ([0-9.]+)$/\1/p' | sort -n | tail -1)"
fi
if $browser; then echo "capsul: browser suite (Playwright, Debian's chromium)" >&2; cat "$logs/browser.log"; fi
if $bench; then echo "capsul: benchmark, quick mode (npm run bench -- --quick)" >&2; cat "$logs/bench.log"; fi
for rc in "$logs"/*.rc; do
  [ ! -f "$rc" ] || [ "$(cat "$rc")" = 0 ] || status=$(cat "$rc")
done
if [ "$status" = 0 ]; then rm -rf "$logs"; else echo "capsul: the lanes' logs are kept in $logs" >&2; fi
exit $status
