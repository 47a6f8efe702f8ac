#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# A real Debian arm64 host for the package test (tests/vm/vm-system.sh):
# trixie with systemd as PID 1, booted on an emulated neoverse-n1 with EL2,
# so its KVM is real.
#
#   system.sh image CACHE
#       Build CACHE/system/base.img once: debootstrap --foreign here (no
#       arm64 code runs), the second stage inside an emulated host (about
#       6 minutes under TCG), kept for every later run.
#   system.sh boot CACHE DISK PAYLOAD CONSOLE
#       Boot DISK (a qcow2 overlay of base.img) with PAYLOAD (an ext4 image)
#       as the second disk; cpregd-test.service runs PAYLOAD's run.sh after
#       multi-user.target and powers off.  CPREG_SYS_KERNEL names the
#       release whose kernel boots (trixie by default; bookworm, sid), so
#       one image is a host of another kernel; CPREG_SYS_NET adds a NIC on
#       a QEMU socket network ("listen:PORT" or "connect:PORT", on the
#       loopback) linking two hosts that run at the same time.
#
# The archive address comes from the machine's apt sources through fetch.sh's
# private sources list; none is written here.
set -euo pipefail

cmd=${1:?usage: system.sh image CACHE | boot CACHE DISK PAYLOAD CONSOLE}
cache=$(cd "${2:?}" && pwd)
dir=$cache/system
krel=${CPREG_SYS_KERNEL:-trixie}
kdir=$cache/kernel-$krel
initrd=$dir/initramfs-$krel.cpio.gz
mkdir -p "$dir"

# The initramfs: busybox, and the modules of the booted kernel that Debian's
# cloud kernel does not build in (ext4 and virtio-pci are): virtio_blk, and
# virtio_net with what it needs for the link between hosts.  Loaded here,
# they stay loaded in the system (whose image holds no kernel).  The kernel
# does not pass init= to an initramfs's /init, so the mode comes from
# cpreg.mode= on the command line.
initramfs() {
	local st=$dir/initramfs.tmp deb mod m
	[ -f "$initrd" ] && [ "$initrd" -nt "$0" ] && return
	rm -rf "$st" && mkdir -p "$st"/{bin,dev,proc,sys,newroot}
	cp "$cache/sysroot/bin/busybox" "$st/bin/busybox"
	# fetch.sh kept the kernel's package (linux-image-* or, since 7.x, linux-binary-*).
	deb=$(ls "$cache"/debs/linux-*-"$(cat "$kdir/release")"_*_arm64.deb 2>/dev/null | head -n 1)
	[ -n "$deb" ] || { echo "system.sh: no package of kernel $(cat "$kdir/release") in $cache/debs" >&2; exit 1; }
	mkdir -p "$st/k" && dpkg-deb -x "$deb" "$st/k"
	: >"$st/modules"
	# add_module NAME: it, after what it depends on (its .modinfo; the
	# package has no modules.dep), unless built in or already there.
	add_module() {
		local m=$1 mod d
		grep -qx "$m" "$st/modules" && return 0
		mod=$(find "$st/k" -name "$m.ko*" | head -n 1)
		case $mod in
		"") return 0 ;; # built in
		*.xz) xz -dc "$mod" >"$st/$m.ko" ;;
		*.zst) zstd -dqc "$mod" >"$st/$m.ko" ;;
		*) cp "$mod" "$st/$m.ko" ;;
		esac
		for d in $(LC_ALL=C readelf -p .modinfo "$st/$m.ko" | sed -n 's/.*depends=//p' | tr ',' ' '); do
			add_module "$d"
		done
		echo "$m" >>"$st/modules"
	}
	# Debian 6.1's cloud kernel has virtio itself as modules; later ones build it in.
	for m in virtio_pci virtio_blk virtio_net; do
		add_module "$m"
	done
	rm -rf "$st/k"
	cat >"$st/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t devtmpfs dev /dev
mount -t proc proc /proc
mount -t sysfs sys /sys
for m in $(cat /modules); do insmod /$m.ko; done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i + 1)); done
mount -t ext4 /dev/vda /newroot || { echo "@@CPREG-NO-ROOT@@"; poweroff -f; }
case "$(cat /proc/cmdline)" in
*cpreg.mode=second-stage*)
	mount -t devtmpfs dev /newroot/dev
	if chroot /newroot /debootstrap/debootstrap --second-stage; then
		echo "@@CPREG-STAGE2-OK@@"
	else
		tail -n 30 /newroot/debootstrap/debootstrap.log
		echo "@@CPREG-STAGE2-FAILED@@"
	fi
	umount /newroot/dev
	sync
	umount /newroot
	poweroff -f
	;;
esac
umount /sys /proc
mount --move /dev /newroot/dev
exec switch_root /newroot /sbin/init
INIT
	chmod +x "$st/init"
	(cd "$st" && find . | cpio -o -H newc --quiet | gzip -1) >"$initrd"
	rm -rf "$st"
}

# run_qemu CONSOLE MODE DRIVE-ARGS...: -smp 2 boots systemd in about 11 s (ECOSYSTEM).
run_qemu() {
	local console=$1 mode=$2 net=(-nic none)
	shift 2
	# A NIC on the loopback only: traffic between two of the test's own hosts.
	case ${CPREG_SYS_NET:-} in
	listen:* | connect:*)
		net=(-netdev "socket,id=l0,${CPREG_SYS_NET%%:*}=127.0.0.1:${CPREG_SYS_NET#*:}"
			-device "virtio-net-pci,netdev=l0,romfile=,mac=52:54:00:c9:00:0$([ "${CPREG_SYS_NET%%:*}" = listen ] && echo 1 || echo 2)")
		;;
	"") ;;
	*) echo "system.sh: CPREG_SYS_NET=$CPREG_SYS_NET: expected listen:PORT or connect:PORT" >&2; exit 2 ;;
	esac
	timeout "${CPREG_VM_TIMEOUT:-1200}" qemu-system-aarch64 \
		-M virt,virtualization=on,gic-version=3 -cpu neoverse-n1 -smp 2 -m 2048 \
		-nographic -no-reboot "${net[@]}" \
		-kernel "$kdir/vmlinuz" -initrd "$initrd" \
		-append "console=ttyAMA0 rdinit=/init panic=-1 cpreg.mode=$mode" \
		"$@" </dev/null >"$console" 2>&1 || true
}

case $cmd in
image)
	# What the package needs at run time, and what the test uses (curl, jq);
	# base.img.done holds the list it was built with: a change here rebuilds it.
	include=systemd,systemd-sysv,udev,dbus,libjson-c5,libevent-core-2.1-7t64,libevent-extra-2.1-7t64,libhttp-parser2.9,libnettle8t64
	include=$include,curl,jq,passwd,util-linux,procps
	# The libvirt tests (issue 24): Debian's libvirt and QEMU, iproute2 for the
	# link between two hosts, the runtime libraries cpregctl links, and the
	# logind that polkitd (a dependency of libvirt) needs, which debootstrap
	# does not pick for the virtual package by itself.
	include=$include,libvirt-daemon-system,qemu-system-arm,iproute2,libxml2,libpam-systemd
	[ "$(cat "$dir/base.img.done" 2>/dev/null)" = "$include" ] && { echo "$dir/base.img"; exit 0; }
	[ "$(id -u)" = 0 ] || { echo "system.sh: building the image needs root (debootstrap)" >&2; exit 77; }
	command -v debootstrap >/dev/null || { echo "system.sh: debootstrap is not installed" >&2; exit 77; }
	uri=$(awk '$1 == "deb" && $4 == "trixie" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' \
		"$cache/apt/sources.list")
	[ -n "$uri" ] || { echo "system.sh: no trixie source in $cache/apt/sources.list (run fetch.sh)" >&2; exit 1; }
	root=$dir/root
	rm -rf "$root" "$dir/base.img.tmp"
	debootstrap --foreign --arch=arm64 --variant=minbase --include="$include" \
		trixie "$root" "$uri" >"$dir/debootstrap.log" 2>&1 ||
		{ tail -n 20 "$dir/debootstrap.log" >&2; exit 1; }
	echo cpregd-host >"$root/etc/hostname"
	echo 'LABEL=root / ext4 defaults 0 1' >"$root/etc/fstab"
	# The test runner: after multi-user.target, run the payload's script, then power off.
	cat >"$root/etc/systemd/system/cpregd-test.service" <<'UNIT'
[Unit]
Description=cpregd package test (tests/vm/vm-system.sh)
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/bin/sh -c 'mkdir -p /payload && mount LABEL=payload /payload && /payload/run.sh >/payload/out/run.log 2>&1; sync; umount /payload; true'
ExecStartPost=/bin/systemctl --no-block poweroff
StandardOutput=journal+console

[Install]
WantedBy=multi-user.target
UNIT
	mkdir -p "$root/etc/systemd/system/multi-user.target.wants"
	ln -sf ../cpregd-test.service "$root/etc/systemd/system/multi-user.target.wants/cpregd-test.service"
	# No console login prompt in the way of the markers.
	ln -sf /dev/null "$root/etc/systemd/system/serial-getty@ttyAMA0.service"
	mkfs.ext4 -q -F -L root -d "$root" "$dir/base.img.tmp" 2G >&2
	initramfs
	run_qemu "$dir/stage2.log" second-stage -drive file="$dir/base.img.tmp",format=raw,if=none,id=d0 -device virtio-blk-pci,drive=d0
	grep -q '@@CPREG-STAGE2-OK@@' "$dir/stage2.log" || { tail -n 40 "$dir/stage2.log" >&2; exit 1; }
	mv "$dir/base.img.tmp" "$dir/base.img"
	rm -rf "$root"
	echo "$include" >"$dir/base.img.done"
	echo "$dir/base.img"
	;;
boot)
	disk=${3:?} payload=${4:?} console=${5:?}
	initramfs
	run_qemu "$console" boot \
		-drive file="$disk",format=qcow2,if=none,id=d0 -device virtio-blk-pci,drive=d0 \
		-drive file="$payload",format=raw,if=none,id=d1 -device virtio-blk-pci,drive=d1
	;;
*)
	echo "system.sh: unknown command $cmd" >&2
	exit 2
	;;
esac
