# Shared by scripts/start.sh and scripts/test.sh: install npm dependencies and build the console when needed.

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
    npx next build >&2
  fi
}
