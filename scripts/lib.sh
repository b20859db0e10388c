# Shared by the scripts: install npm dependencies, build the console when needed, start a daemon detached.

detached() {
  # `detached <log> <command…>` runs a command that leaves a daemon behind (pg_ctl, libvirtd -d) with stdio
  # on <log> and every other inherited descriptor closed. A daemon that keeps one of our descriptors keeps
  # the pipe of whoever reads our output open: `$(…)` or a CI log then waits for it forever.
  local log=$1; shift
  (
    for fd in $(ls /proc/$BASHPID/fd); do [ "$fd" -gt 2 ] && eval "exec $fd>&-"; done
    "$@"
  ) </dev/null >>"$log" 2>&1
}

ensure_node_modules() {
  # npm ci when node_modules is missing or older than the lockfile.
  if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
    echo "capsul: installing npm dependencies (npm ci)" >&2
    npm ci --no-audit --no-fund >&2
  fi
}

ensure_build() {
  # next build when there is no build or a source file is newer than it.
  if [ ! -f .next/BUILD_ID ] || [ -n "$(find src public next.config.mjs package-lock.json -newer .next/BUILD_ID -print -quit 2>/dev/null)" ]; then
    echo "capsul: building the console (next build)" >&2
    # `ensure_build strict` (the tests): a warning from the build is a defect to fix, and fails it.
    local out status=0
    out=$(npx next build 2>&1) || status=$?
    printf '%s\n' "$out" >&2
    [ "$status" = 0 ] || return "$status"
    if [ "${1:-}" = strict ] && grep -q 'build encountered [0-9]* warning' <<<"$out"; then echo "capsul: next build printed warnings (above)" >&2; return 1; fi
  fi
}
