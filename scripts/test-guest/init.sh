#!/bin/busybox sh
# PID 1 of the Capsul test guest (busybox only). It reads the cloud-init NoCloud seed, takes a DHCP lease,
# counts its boots in a marker on its own disk, and serves over HTTP what it found:
#   /hostname  /keys (the ssh_authorized_keys, one per line)  /boot (the boot count)  /marker
#   /memtotal (kB)  /nproc  /vda-sectors  /usermark (at boot)
#   /cgi-bin/mark?<word> writes "capsul-usermark <word>" into sector 2048 of vda; /cgi-bin/usermark reads it live
#   /cgi-bin/burn?<seconds> (1..600) keeps one CPU busy that long, in the background, and answers at once
#   /bulk: 1 MiB written at boot, for the network counters
# Its serial line (ttyS0) and its screen (tty1) each get a root shell without a password, for the console
# tests: a test guest, never an image to offer anyone.
export PATH=/bin
/bin/busybox --install -s /bin
mkdir -p /proc /sys /dev /tmp /seed /www /etc
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
say() { echo "capsul-guest: $*"; }

# Modules in dependency order (modules.order, written by the build script); devices can show up late, so
# each load is retried.
for m in $(cat /lib/modules/order); do
  for try in 1 2 3 4 5; do
    insmod "/lib/modules/$m.ko" 2>/dev/null && break
    grep -q "^$m " /proc/modules && break
    sleep 0.2
  done
done

# The seed: an ISO 9660 volume labelled cidata on one of the virtio disks.
seed=""
for try in $(seq 1 100); do
  for dev in /dev/vd[b-z]; do
    [ -b "$dev" ] || continue
    if mount -t iso9660 -o ro "$dev" /seed 2>/dev/null; then
      if [ -f /seed/meta-data ]; then seed="$dev"; break 2; fi
      umount /seed
    fi
  done
  sleep 0.1
done
[ -n "$seed" ] && say "seed found on $seed" || say "no seed found"

name=$(awk -F': *' '$1 == "local-hostname" { print $2 }' /seed/meta-data 2>/dev/null)
[ -n "$name" ] || name=capsul-test-guest
hostname "$name"
echo "$name" > /www/hostname
# The keys: list items under ssh_authorized_keys, written as JSON strings (valid YAML).
awk '
  /^ssh_authorized_keys:/ { inkeys = 1; next }
  inkeys && /^  - / {
    k = substr($0, 5)
    if (k ~ /^".*"$/) { k = substr(k, 2, length(k) - 2); gsub(/\\"/, "\"", k); gsub(/\\\\/, "\\", k) }
    print k; next
  }
  inkeys && !/^  - / { inkeys = 0 }
' /seed/user-data > /www/keys 2>/dev/null

# A marker on the first sector of the disk: "capsul-marker <hostname> boot=<n>", rewritten at each boot.
for try in $(seq 1 100); do [ -b /dev/vda ] && break; sleep 0.1; done
boots=$(dd if=/dev/vda bs=512 count=1 2>/dev/null | head -n 1 | sed -n 's/^capsul-marker [^ ]* boot=\([0-9]*\)$/\1/p')
boots=$(( ${boots:-0} + 1 ))
printf 'capsul-marker %s boot=%s\n' "$name" "$boots" | dd of=/dev/vda bs=512 count=1 conv=sync,notrunc 2>/dev/null
sync
echo "$boots" > /www/boot
dd if=/dev/vda bs=512 count=1 2>/dev/null | head -n 1 > /www/marker
say "boot $boots as $name"

# What a resize changes, as the guest sees it.
awk '/^MemTotal:/ { print $2 }' /proc/meminfo > /www/memtotal
grep -c '^processor' /proc/cpuinfo > /www/nproc
cat /sys/block/vda/size > /www/vda-sectors

# A mark the tests write on the disk (sector 2048), to tell which disk a snapshot revert or rebuild left.
usermark() { dd if=/dev/vda bs=512 skip=2048 count=1 2>/dev/null | tr -d '\000' | head -n 1 | grep '^capsul-usermark '; }
usermark > /www/usermark
mkdir -p /www/cgi-bin
cat > /www/cgi-bin/mark <<'SCRIPT'
#!/bin/sh
case "$QUERY_STRING" in
  ''|*[!A-Za-z0-9-]*) printf 'HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain\r\n\r\nthe mark is letters, digits and -\n'; exit 0 ;;
esac
printf 'capsul-usermark %s\n' "$QUERY_STRING" | dd of=/dev/vda bs=512 seek=2048 count=1 conv=sync,notrunc 2>/dev/null
sync
printf 'Content-Type: text/plain\r\n\r\ncapsul-usermark %s\n' "$QUERY_STRING"
SCRIPT
cat > /www/cgi-bin/usermark <<'SCRIPT'
#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\n'
dd if=/dev/vda bs=512 skip=2048 count=1 2>/dev/null | tr -d '\000' | head -n 1 | grep '^capsul-usermark '
exit 0
SCRIPT
# The usage tests' load: a busy shell loop, ended by a sleeper. Its output goes nowhere, so httpd answers at once
# instead of waiting for the loop's end of the CGI pipe.
cat > /www/cgi-bin/burn <<'SCRIPT'
#!/bin/sh
refuse() { printf 'HTTP/1.0 400 Bad Request\r\nContent-Type: text/plain\r\n\r\nseconds: 1 to 600, digits only\n'; exit 0; }
case "$QUERY_STRING" in ''|*[!0-9]*|0*|????*) refuse ;; esac
[ "$QUERY_STRING" -le 600 ] || refuse
sh -c 'while :; do :; done' </dev/null >/dev/null 2>&1 &
loop=$!
( sleep "$QUERY_STRING"; kill "$loop" ) </dev/null >/dev/null 2>&1 &
printf 'Content-Type: text/plain\r\n\r\nburning %s s\n' "$QUERY_STRING"
SCRIPT
chmod +x /www/cgi-bin/mark /www/cgi-bin/usermark /www/cgi-bin/burn
dd if=/dev/zero of=/www/bulk bs=1024 count=1024 2>/dev/null

# ACPI power button (virsh shutdown, and the power-off half of virsh reboot) → power off.
# busybox acpid runs CONFDIR/PWRF/00000080 on a power-button press.
mkdir -p /etc/acpi/PWRF
printf '#!/bin/sh\nsync\npoweroff -f\n' > /etc/acpi/PWRF/00000080
chmod +x /etc/acpi/PWRF/00000080
acpid -c /etc/acpi -l /tmp/acpid.log
grep -q 'Power Button' /proc/bus/input/devices && say "power button ready" || say "no power button"


# DHCP, retried until a lease comes: two guests booting at once on two cores can miss the first replies.
cat > /bin/dhcp-event <<'SCRIPT'
#!/bin/sh
case "$1" in
  deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
  bound|renew)
    ip addr flush dev "$interface"
    ip addr add "$ip/${mask:-24}" dev "$interface"
    [ -n "$router" ] && ip route replace default via "${router%% *}"
    echo "$ip" > /www/ipv4 ;;
esac
SCRIPT
chmod +x /bin/dhcp-event
ip link set lo up
for try in $(seq 1 50); do [ -e /sys/class/net/eth0 ] && break; sleep 0.1; done
ip link set eth0 up
httpd -p 80 -h /www
until udhcpc -i eth0 -s /bin/dhcp-event -t 10 -T 1 -A 1 -b -x hostname:"$name"; do say "no DHCP lease yet; retrying"; sleep 1; done
say "ready"

# Shells for the consoles: busybox getty without a login prompt, started again whenever the shell exits.
# ttyS0 is the serial console (its output is also the boot log); tty1 is the VGA screen (noVNC).
serial_shell() { while true; do getty -n -l /bin/sh 115200 "$1" "$2"; sleep 0.2; done; }
printf '\n%s: Capsul test guest, boot %s, address %s\n' "$name" "$boots" "$(cat /www/ipv4 2>/dev/null)" > /dev/tty1 2>/dev/null
serial_shell ttyS0 vt100 &
[ -c /dev/tty1 ] && serial_shell tty1 linux &
say "console shells on ttyS0 and tty1"
while true; do sleep 3600; done
