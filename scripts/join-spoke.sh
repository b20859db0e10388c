#!/usr/bin/env bash
# On a new spoke machine (Debian 12, as root, in a copy of this repository): installs what a spoke needs,
# starts libvirt, writes the certificate from the env file that `npm run capsul -- host join` printed on the
# hub, and starts the spoke with that environment. Variables already set in the environment win over the
# file (e.g. SPOKE_DRIVER=fake, DATA_DIR=…). Usage: sudo scripts/join-spoke.sh spoke.env
set -euo pipefail
envfile=$(realpath "${1:?usage: scripts/join-spoke.sh <spoke.env from capsul host join>}")
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "join-spoke: run it as root (it installs packages and starts libvirt)" >&2; exit 1; }

if [ "${CAPSUL_SKIP_APT:-}" != 1 ]; then
  echo "join-spoke: installing the spoke's packages" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    openssl qemu-utils qemu-system-x86 libvirt-clients libvirt-daemon libvirt-daemon-system dnsmasq-base iptables xorriso >&2
fi
scripts/services.sh libvirt

# The environment: the file's values, unless already set here.
while IFS= read -r line || [ -n "$line" ]; do
  case "$line" in ''|'#'*) continue ;; esac
  name=${line%%=*}
  [[ "$name" =~ ^[A-Z_][A-Z0-9_]*$ ]] || { echo "join-spoke: bad line in $envfile: $name" >&2; exit 1; }
  [ -n "${!name:-}" ] || export "$name=${line#*=}"
done < "$envfile"

export DATA_DIR=${DATA_DIR:-/var/lib/capsul}
if [ -n "${TLS_CERT_B64:-}" ]; then
  mkdir -p "$DATA_DIR/tls"; chmod 700 "$DATA_DIR/tls"
  (umask 077
   printf '%s' "$TLS_CERT_B64" | base64 -d > "$DATA_DIR/tls/spoke.pem"
   printf '%s' "$TLS_KEY_B64" | base64 -d > "$DATA_DIR/tls/spoke.key"
   printf '%s' "$TLS_CA_B64" | base64 -d > "$DATA_DIR/tls/ca.pem")
  export TLS_CERT_FILE=$DATA_DIR/tls/spoke.pem TLS_KEY_FILE=$DATA_DIR/tls/spoke.key TLS_CA_FILE=$DATA_DIR/tls/ca.pem
  unset TLS_CERT_B64 TLS_KEY_B64 TLS_CA_B64
fi
exec scripts/start.sh
