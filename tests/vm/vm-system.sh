#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The Debian package on a real Debian arm64 host run by systemd: the
# packages cross-built for arm64 (debian/, against the test bed's sysroot),
# installed with dpkg in a trixie system (tests/vm/system.sh: systemd as
# PID 1, real KVM on an emulated neoverse-n1), where tests/vm/system-test.sh
# does what an operator does and writes TAP to a second disk, read back
# here with debugfs.
set -u
. "$top_srcdir/tests/vm/lib.sh"
. "$top_srcdir/tests/vm/closure.sh"
OUT=$top_builddir/tests/vm-out/system
# relay PREFIX FILE: a system's own TAP, renumbered into ours.
relay() {
	local line
	while IFS= read -r line; do
		case $line in
		"ok "*) ok 0 "$1: ${line#ok * - }" ;;
		"not ok "*) ok 1 "$1: ${line#not ok * - }" ;;
		"# "*) echo "$line" ;;
		esac
	done <"$2"
}
rm -rf "$OUT" && mkdir -p "$OUT"

if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP building the Debian system image needs root (debootstrap)"
	exit 0
fi
for tool in debootstrap qemu-img debugfs mkfs.ext4 dpkg-buildpackage; do
	command -v "$tool" >/dev/null || { echo "1..0 # SKIP $tool is not installed (tests/install-deps.sh installs it)"; exit 0; }
done
vm_setup
# The image's path is the last line system.sh prints (the first run also prints what it does).
"$top_srcdir/tests/vm/system.sh" image "$VM_CACHE" >"$OUT/image.out" 2>"$OUT/image.err"
rc=$?
img=$(tail -n 1 "$OUT/image.out")
ok $rc "a Debian trixie arm64 system image (debootstrap, second stage on an emulated host; cached): $(tail -n 3 "$OUT/image.err" | tr '\n' ' ')"
[ -f "$img" ] || { done_testing; exit 1; }

# The arm64 packages from a clean copy of this tree.
src=$OUT/src/cpregd-0.1.0
mkdir -p "$src"
if git -C "$top_srcdir" rev-parse --git-dir >/dev/null 2>&1; then
	(cd "$top_srcdir" && git ls-files -z --cached --others --exclude-standard | xargs -0 tar cf - --no-recursion) | tar xf - -C "$src"
else
	(cd "$top_srcdir" && tar cf - --exclude='./build*' --exclude=./.git .) | tar xf - -C "$src"
fi
S=$VM_CACHE/sysroot
L=$S/usr/lib/aarch64-linux-gnu
(cd "$src" && CC="aarch64-linux-gnu-gcc --sysroot=$S" PKG_CONFIG_LIBDIR="$L/pkgconfig:$S/usr/share/pkgconfig" \
	PKG_CONFIG_SYSROOT_DIR="$S" DEB_LDFLAGS_APPEND="-Wl,-rpath-link,$L" DEB_BUILD_OPTIONS=nocheck \
	CPREGD_SYSROOT="$S" env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS dpkg-buildpackage -us -uc -b -aarm64 -d) >"$OUT/deb-build.log" 2>&1
ok $? "dpkg-buildpackage -aarm64 cross-builds the packages ($(tail -n 1 "$OUT/deb-build.log"))"

# The payload disk: the packages, the test, and two releases' real QEMU (10.0, 11.1) for the upgrade.
pl=$OUT/payload
mkdir -p "$pl/debs" "$pl/out"
cp "$OUT"/src/cpregd_*_arm64.deb "$OUT"/src/libcpreg0_*_arm64.deb "$pl/debs/"
cp "$top_srcdir/tests/vm/system-test.sh" "$pl/run.sh"
cp "$top_srcdir/tests/tap.sh" "$pl/tap.sh"
for rel in trixie sid; do
	copy_qemu "$VM_CACHE/qemu-$rel/root" "$pl/qemu-$rel"
done
mkfs.ext4 -q -F -L payload -d "$pl" "$OUT/payload.img" 1G
qemu-img create -q -f qcow2 -b "$img" -F raw "$OUT/root.qcow2"

# CPREG_SYS_LIBVIRT_ONLY=1: the libvirt hosts only (for working on them).
if [ "${CPREG_SYS_LIBVIRT_ONLY:-0}" != 1 ]; then
	t0=$(date +%s)
	"$top_srcdir/tests/vm/system.sh" boot "$VM_CACHE" "$OUT/root.qcow2" "$OUT/payload.img" "$OUT/console.log"
	diag "the system booted, ran the test and powered off in $(($(date +%s) - t0)) s"
	for f in tap run.log journal.json security socket-status warnings dpkg-install.log check.json reboot-pending; do
		debugfs -R "dump /out/$f $OUT/$f" "$OUT/payload.img" >/dev/null 2>&1
	done
	# Publishing was configured for the next boot: boot the same disks again (a reboot).
	if [ -e "$OUT/reboot-pending" ]; then
		t0=$(date +%s)
		"$top_srcdir/tests/vm/system.sh" boot "$VM_CACHE" "$OUT/root.qcow2" "$OUT/payload.img" "$OUT/console2.log"
		diag "the system rebooted, ran the second part and powered off in $(($(date +%s) - t0)) s"
		debugfs -R "dump /out/tap2 $OUT/tap2" "$OUT/payload.img" >/dev/null 2>&1
		debugfs -R "dump /out/run.log $OUT/run2.log" "$OUT/payload.img" >/dev/null 2>&1
		[ -s "$OUT/tap2" ]
		ok $? "the second boot ran its checks (console in $OUT/console2.log)"
		cat "$OUT/tap2" >>"$OUT/tap"
	fi
	[ -s "$OUT/tap" ]
	ok $? "the test ran inside the system (TAP came back on the payload disk; console in $OUT/console.log)"
	# The system's own TAP, renumbered into ours.
	relay system "$OUT/tap"
	# Each boot's part ends with its plan line: two when the system rebooted.
	want=$(sed -n 's/^1\.\.//p' "$OUT/tap" | paste -sd+ -)
	parts=$(grep -c '^1\.\.' "$OUT/tap")
	ok "$([ -n "$want" ] && [ "$parts" = "$([ -e "$OUT/reboot-pending" ] && echo 2 || echo 1)" ]; echo $?)" \
		"the system's test ran to its end in each boot (plans ${want:-none}; see $OUT/run.log)"
	[ -s "$OUT/security" ] && sed -n '/Overall exposure/p' "$OUT/security" | sed 's/^/# /'
fi

# ---- libvirt (issue 24): two hosts at once, linked on the loopback ----
# Host a boots Debian's 6.12 kernel, host b the 6.1 kernel, each a fresh
# overlay of the same image with its own payload (the packages, the script,
# its role); a QEMU socket network joins them (a listens on a port of the
# loopback, b connects).  tests/vm/libvirt-test.sh does the rest.
if [ "${CPREG_SYS_LIBVIRT:-1}" = 1 ]; then
	for r in a b; do
		mkdir -p "$OUT/lv-$r/out" "$OUT/lv-$r/debs"
		cp "$pl"/debs/*.deb "$OUT/lv-$r/debs/"
		cp "$top_srcdir/tests/vm/libvirt-test.sh" "$OUT/lv-$r/run.sh"
		cp "$top_srcdir/tests/tap.sh" "$OUT/lv-$r/tap.sh"
		echo "$r" >"$OUT/lv-$r/role"
		mkfs.ext4 -q -F -L payload -d "$OUT/lv-$r" "$OUT/lv-$r.img" 256M
		qemu-img create -q -f qcow2 -b "$img" -F raw "$OUT/lv-$r.qcow2"
	done
	port=$((20000 + $$ % 20000))
	t0=$(date +%s)
	CPREG_SYS_KERNEL=trixie CPREG_SYS_NET=listen:$port CPREG_VM_TIMEOUT=2700 \
		"$top_srcdir/tests/vm/system.sh" boot "$VM_CACHE" "$OUT/lv-a.qcow2" "$OUT/lv-a.img" "$OUT/console-lv-a.log" &
	pa=$!
	# b connects once a listens (QEMU's socket netdev fails at once otherwise).
	for _ in $(seq 1 100); do
		grep -q "127.0.0.1:$port\b" <(ss -ltn 2>/dev/null) && break
		sleep 0.2
	done
	CPREG_SYS_KERNEL=bookworm CPREG_SYS_NET=connect:$port CPREG_VM_TIMEOUT=2700 \
		"$top_srcdir/tests/vm/system.sh" boot "$VM_CACHE" "$OUT/lv-b.qcow2" "$OUT/lv-b.img" "$OUT/console-lv-b.log"
	wait "$pa"
	diag "the two libvirt hosts booted, ran their tests and powered off in $(($(date +%s) - t0)) s"
	for r in a b; do
		for f in tap run.log dpkg-install.log journal-$r hook-journal-b metrics-a migrate-a-b.log migrate-b-a.log \
			migrate-rollback.log restore-a.log restore-b-hook.log restore-b-nohook.log restore-stopped.log restore-refuse.log; do
			debugfs -R "dump /out/$f $OUT/lv-$r/out/$f" "$OUT/lv-$r.img" >/dev/null 2>&1
		done
		[ -s "$OUT/lv-$r/out/tap" ]
		ok $? "libvirt host $r ran its test (console in $OUT/console-lv-$r.log)"
		relay libvirt "$OUT/lv-$r/out/tap"
		grep -q '^1\.\.' "$OUT/lv-$r/out/tap"
		ok $? "libvirt host $r's test ran to its end (see $OUT/lv-$r/out/run.log)"
	done
fi
done_testing
