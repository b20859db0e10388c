#!/usr/bin/env bash
# Quick start: installs what the hub needs, then runs the hub and a local spoke in one process on the
# embedded database (.data/). Uses libvirt when `virsh -c qemu:///system` answers, otherwise the fake driver.
# Runs with DEV_MODE=true unless told otherwise, so a newcomer can sign in without a mail server, and with
# PROVIDE_TEST_GUEST=true, so that on libvirt the first capsul has an image that boots.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
command -v openssl >/dev/null || { echo "capsul: openssl is needed: apt-get install -y openssl" >&2; exit 1; }
ensure_node_modules
case "${HUB_MODE:-true}" in false|0|no|off) ;; *) ensure_build ;; esac  # a spoke alone serves no console
# No SMTP here: DEV_MODE (sign-in links in the log and on /dev/mailbox) unless the environment or .env says.
if [ -z "${DEV_MODE+set}" ] && ! grep -qs '^DEV_MODE=' .env; then export DEV_MODE=true; fi
# A first image that boots: on libvirt, the test guest is built and listed when missing (unless told otherwise).
if [ -z "${PROVIDE_TEST_GUEST+set}" ] && ! grep -qs '^PROVIDE_TEST_GUEST=' .env; then export PROVIDE_TEST_GUEST=true; fi
exec node --import tsx src/main.ts
