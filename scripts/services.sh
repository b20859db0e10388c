#!/usr/bin/env bash
# Starts system services on a Debian machine without systemd (run as root): PostgreSQL 15 (a role that may
# create test databases; prints `export TEST_DATABASE_URL=…` for the caller to eval) and libvirt (virtlogd,
# libvirtd, the default network and storage pool). `services.sh libvirt` starts libvirt alone (a spoke
# machine). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
exec 3>&1 1>&2   # everything goes to stderr but the export line, which goes to the caller's stdout (fd 3)
only=${1:-all}

# ---- PostgreSQL --------------------------------------------------------------------------------------
if [ "$only" != libvirt ]; then
cluster=$(pg_lsclusters -h | awk 'NR==1 {print $1" "$2}')
[ -n "$cluster" ] || { echo "no PostgreSQL cluster: apt-get install -y postgresql" >&2; exit 1; }
# shellcheck disable=SC2086
detached /var/log/capsul-postgresql-start.log pg_ctlcluster $cluster start || true
for _ in $(seq 1 60); do pg_isready -q -h 127.0.0.1 && break; sleep 0.5; done
pg_isready -q -h 127.0.0.1 || { echo "PostgreSQL did not start" >&2; exit 1; }
runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 <<'SQL'
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'capsul_test') THEN
    CREATE ROLE capsul_test LOGIN CREATEDB PASSWORD 'capsul_test';
  END IF;
END $$;
-- A test database is dropped WITH (FORCE), which must be allowed to end every backend in it: an autovacuum
-- worker there has no role, so only pg_signal_backend lets a role that is not a superuser end it.
GRANT pg_signal_backend TO capsul_test;
SQL
echo "export TEST_DATABASE_URL=postgresql://capsul_test:capsul_test@127.0.0.1:5432/postgres" >&3
fi

# ---- libvirt -------------------------------------------------------------------------------------------
command -v libvirtd >/dev/null || { echo "libvirt is not installed: skipping it" >&2; exit 0; }
mkdir -p /run/libvirt
# Without udev nobody gives /dev/kvm its usual owner and mode (root:kvm 0660, Debian's udev rule). libvirt then
# finds KVM present but not usable by QEMU's user, throws its QEMU capabilities away on every call and probes
# QEMU again: about 4 s per virsh call, 32 s per define. (Capsuls here still run with domain type qemu.)
if [ -e /dev/kvm ] && getent group kvm >/dev/null; then chgrp kvm /dev/kvm; chmod 0660 /dev/kvm; fi
pgrep -x virtlogd >/dev/null || detached /var/log/capsul-virtlogd.log virtlogd -d -p /run/virtlogd.pid
pgrep -x libvirtd >/dev/null || detached /var/log/capsul-libvirtd.log libvirtd -d -p /run/libvirtd.pid
for _ in $(seq 1 120); do virsh -c qemu:///system version >/dev/null 2>&1 && break; sleep 0.5; done
virsh -c qemu:///system version >/dev/null || { echo "libvirtd did not answer" >&2; exit 1; }
if ! virsh -c qemu:///system net-info default >/dev/null 2>&1; then
  virsh -c qemu:///system net-define /usr/share/libvirt/networks/default.xml
fi
virsh -c qemu:///system net-start default >/dev/null 2>&1 || true
virsh -c qemu:///system net-autostart default >/dev/null 2>&1 || true
if ! virsh -c qemu:///system pool-info default >/dev/null 2>&1; then
  virsh -c qemu:///system pool-define-as default dir --target /var/lib/libvirt/images
  virsh -c qemu:///system pool-build default >&2 || true
fi
virsh -c qemu:///system pool-start default >/dev/null 2>&1 || true
echo "libvirt ready"
