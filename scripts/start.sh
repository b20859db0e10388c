#!/usr/bin/env bash
# Quick start: installs what the hub needs, then runs the hub and a local spoke in one process on the
# embedded database (.data/). Uses libvirt when `virsh -c qemu:///system` answers, otherwise the fake driver.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
command -v openssl >/dev/null || { echo "capsul: openssl is needed: apt-get install -y openssl" >&2; exit 1; }
ensure_node_modules
case "${HUB_MODE:-true}" in false|0|no|off) ;; *) ensure_build ;; esac  # a spoke alone serves no console
exec node --import tsx src/main.ts
