#!/usr/bin/env bash
# Runs every test: typecheck, lint (ESLint with Next.js and typescript-eslint rules), unit, database, integration (separate hub and spoke processes over HTTPS on
# real PostgreSQL), faults, libvirt (real libvirtd + QEMU guests; libvirtd must be running:
# scripts/services.sh), the browser suite (Playwright, Debian's chromium), then the benchmark in quick mode.
# The node tests run as two runs side by side (below): the real-guest files, and the rest.
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
if [ ${#files[@]} -gt 0 ]; then
  # Two runs side by side: the files that boot real guests or build a fresh copy (mostly CPU in QEMU and the
  # compilers), and the rest (mostly waiting on processes and timers). Each run takes its files one at a time
  # (the libvirt tests expect no other test's domains). Their reports are printed one after the other, with
  # one summary for both.
  real=() rest=()
  for f in "${files[@]}"; do
    case "$f" in test/libvirt/*|test/integration/start.test.ts) real+=("$f") ;; *) rest+=("$f") ;; esac
  done
  logs=$(mktemp -d /tmp/capsul-test-logs.XXXXXX)
  run_files() { # <name> <files…>
    local name=$1; shift
    [ $# -gt 0 ] || { : >"$logs/$name.log"; echo 0 >"$logs/$name.rc"; return; }
    local rc=0
    npx tsx --test --test-force-exit --test-timeout=600000 --test-concurrency=1 --test-reporter=spec "$@" >"$logs/$name.log" 2>&1 || rc=$?
    echo "$rc" >"$logs/$name.rc"
  }
  run_files real "${real[@]}" &
  run_files rest "${rest[@]}" &
  wait
  summary='^ℹ (tests|suites|pass|fail|cancelled|skipped|todo|duration_ms) [0-9.]+$'
  for name in rest real; do grep -Ev "$summary" "$logs/$name.log" || true; done
  for key in tests suites pass fail cancelled skipped todo; do
    echo "ℹ $key $(cat "$logs"/*.log | sed -nE "s/^ℹ $key ([0-9]+)$/\1/p" | awk '{ n += $1 } END { print n + 0 }')"
  done
  echo "ℹ duration_ms $(cat "$logs"/*.log | sed -nE 's/^ℹ duration_ms ([0-9.]+)$/\1/p' | sort -n | tail -1)"
  for name in rest real; do
    rc=$(cat "$logs/$name.rc")
    [ "$rc" = 0 ] || status=$rc
  done
  rm -rf "$logs"
fi
if $browser; then
  echo "capsul: browser suite (Playwright, Debian's chromium)" >&2
  npx playwright test -c e2e/playwright.config.ts || status=$?
fi
if $bench; then
  # The benchmark in quick mode: proves it still runs (figures go to test-results/bench/, not checked here).
  echo "capsul: benchmark, quick mode (npm run bench -- --quick)" >&2
  npx tsx scripts/bench/run.ts --quick || status=$?
fi
exit $status
