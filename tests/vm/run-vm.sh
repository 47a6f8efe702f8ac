#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Boot a Debian arm64 kernel in qemu-system-aarch64 (TCG, EL2 on, so KVM
# comes up inside) on an emulated CPU, run a test script there with the
# cross-built cpregd/cpregctl, and bring what it prints out over the serial
# console (BRIEF section 7).
#
# Usage: [CPREG_VM_QEMU=REL] run-vm.sh CACHE_DIR BUILD_DIR CPU RELEASE HOSTNAME SCRIPT OUTDIR [FILE...]
#   RELEASE: bookworm (6.1), trixie (6.12) or sid (7.x), as fetched by fetch.sh
#   SCRIPT:  shell code run inside as /test.sh; it calls `section NAME CMD...`
#            and each section's output lands in OUTDIR/NAME (exit code in
#            OUTDIR/NAME.rc).  FILEs are copied to /data inside.
# The kernel's release is written to OUTDIR/kernel; the console to OUTDIR/console.log.
set -euo pipefail

cache=$(cd "$1" && pwd); build=$(cd "$2" && pwd); cpu=$3; rel=$4; host=$5; script=$6; out=$7
shift 7
sysroot=$cache/sysroot
kdir=$cache/kernel-$rel
[ -f "$kdir/vmlinuz" ] || { echo "run-vm.sh: no kernel for $rel in $cache (run fetch.sh)" >&2; exit 1; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
stage=$(mktemp -d "$cache/stage.XXXXXX")
trap 'rm -rf "$stage"' EXIT

mkdir -p "$stage"/{bin,sbin,dev,proc,sys,tmp,run,etc,data,var/lib/cpregd,lib/aarch64-linux-gnu}
cp "$sysroot/bin/busybox" "$stage/bin/busybox"
for app in sh mount mkdir cat echo sleep poweroff hostname ls rm kill grep sed head wc cp mv test env printf true false uname dd; do
	ln -s busybox "$stage/bin/$app"
done
# bookworm's libc6 is not merged-/usr: libraries sit in both lib dirs.
libdirs=("$sysroot/lib/aarch64-linux-gnu" "$sysroot/usr/lib/aarch64-linux-gnu")
cp "$(readlink -f "$sysroot/lib/ld-linux-aarch64.so.1")" "$stage/lib/ld-linux-aarch64.so.1"

. "$(dirname "$0")/closure.sh"

# The programs and, recursively, the libraries they need from the sysroot.
progs=()
for p in daemon/cpregctl daemon/cpregd tests/vm/kvm-reglist; do
	if [ -x "$build/$p" ]; then
		cp "$build/$p" "$stage/bin/${p##*/}"
		progs+=("$stage/bin/${p##*/}")
	fi
done
copy_closure "$stage/lib/aarch64-linux-gnu" "${libdirs[@]}" -- "${progs[@]}"

# CPREG_VM_QEMU=RELEASE: that release's qemu-system-aarch64 (fetch.sh) in
# /qemu with its own libc and loader, started through a wrapper on PATH so
# that cpregd finds it and reads its version.
if [ -n "${CPREG_VM_QEMU:-}" ]; then
	qroot=$cache/qemu-$CPREG_VM_QEMU/root
	[ -x "$qroot/usr/bin/qemu-system-aarch64" ] || { echo "run-vm.sh: no QEMU for $CPREG_VM_QEMU in $cache" >&2; exit 1; }
	copy_qemu "$qroot" "$stage/qemu"
	cat >"$stage/bin/qemu-system-aarch64" <<'WRAP'
#!/bin/sh
exec /qemu/lib/ld-linux-aarch64.so.1 --library-path /qemu/lib /qemu/bin/qemu-system-aarch64 "$@"
WRAP
	chmod +x "$stage/bin/qemu-system-aarch64"
fi
for f in "$@"; do cp "$f" "$stage/data/"; done
echo "$host" >"$stage/etc/hostname"
cp "$script" "$stage/test.sh"

cat >"$stage/init" <<'INIT'
#!/bin/sh
export PATH=/bin:/sbin
mount -t devtmpfs dev /dev
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t tmpfs tmp /tmp
mount -t tmpfs run /run
hostname "$(cat /etc/hostname)"
# section NAME CMD...: run CMD, framing its output for the host to cut out.
section() {
	name=$1; shift
	echo "@@CPREG-BEGIN $name@@"
	"$@" 2>&1
	rc=$?
	echo ""
	echo "@@CPREG-END $name rc=$rc@@"
	return $rc
}
echo "@@CPREG-BEGIN kernel@@"; uname -r; echo "@@CPREG-END kernel rc=0@@"
. /test.sh
echo "@@CPREG-DONE@@"
poweroff -f
INIT
chmod +x "$stage/init" "$stage/test.sh"
(cd "$stage" && find . | cpio -o -H newc --quiet | gzip -1) >"$stage.cpio.gz"

# TCG with virtualization=on gives the guest EL2, so its KVM works; -smp 1
# keeps the emulation cheap (BRIEF section 7: KVM up in 3-8 s).
timeout "${CPREG_VM_TIMEOUT:-600}" qemu-system-aarch64 \
	-M virt,virtualization=on,gic-version=3 -cpu "$cpu" -smp 1 -m 1024 \
	-nographic -no-reboot -nic none \
	-kernel "$kdir/vmlinuz" -initrd "$stage.cpio.gz" \
	-append "console=ttyAMA0 rdinit=/init quiet loglevel=0 panic=-1" \
	</dev/null >"$out/console.log" 2>&1 || true
rm -f "$stage.cpio.gz"

# Cut the sections out of the console (its lines end in \r\n).
# section() prints an empty line before its end marker (so the marker starts
# a line even after output without a newline): that line is not output.
tr -d '\r' <"$out/console.log" | awk -v out="$out" '
	/^@@CPREG-BEGIN .*@@$/ { name = $2; sub(/@@$/, "", name); file = out "/" name; printf "" > file; held = 0; next }
	/^@@CPREG-END .*@@$/ { rc = $3; sub(/^rc=/, "", rc); sub(/@@$/, "", rc); print rc > (file ".rc"); close(file); close(file ".rc"); file = ""; next }
	file != "" { if (held) print "" > file; if ($0 == "") { held = 1 } else { held = 0; print > file } }
'
grep -q '@@CPREG-DONE@@' "$out/console.log" || { echo "run-vm.sh: the VM did not finish (see $out/console.log)" >&2; exit 1; }
