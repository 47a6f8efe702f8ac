#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Fetch what the emulated aarch64 test bed needs, with a private apt state so
# the build machine's own package database is never touched (BRIEF section 7):
#   - the Debian arm64 "cloud" kernel of three releases (6.1, 6.12, 7.x),
#   - arm64 -dev and runtime packages for a cross-build sysroot,
#   - busybox-static (arm64) for the initramfs,
#   - the arm64 qemu-system-arm of each release (7.2, 10.0, 11.x) with the
#     closure of libraries it needs, for real migrations between emulated
#     hosts (tests/vm/vm-migrate.sh); each release's QEMU runs with that
#     release's own libc and loader.
# The archive address is read from this machine's own apt sources; none is
# written here.  Everything lands under CACHE (default: build tree), and a
# second run downloads nothing that is already there.
#
# Usage: fetch.sh CACHE_DIR [kernel-sources]
#   kernel-sources: only the kernel sources of the three releases (Debian's
#   linux-source-X of each kernel above), the files lib/gen-kernel-rules.py
#   reads unpacked into CACHE_DIR/ksrc/SERIES (tests/test-kernel-rules.sh).
set -euo pipefail

cache=${1:?usage: fetch.sh CACHE_DIR [kernel-sources]}
what=${2:-test-bed}
mkdir -p "$cache"
cache=$(cd "$cache" && pwd)
state=$cache/apt
mkdir -p "$state/lists/partial" "$state/archives/partial" "$cache/debs"

# First deb822 or one-line source that serves Debian's main archive and the
# security archive.  Only the addresses are taken; suites are ours.
archive_uri() {
	local want=$1 f uri=""
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] || continue
		uri=$(awk -v want="$want" '
			/^URIs:/ { u = $2 }
			/^Suites:/ { for (i = 2; i <= NF; i++) if ($i ~ want) { print u; exit } }
		' "$f")
		[ -n "$uri" ] && { echo "$uri"; return; }
	done
	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] || continue
		uri=$(awk -v want="$want" '$1 == "deb" && $3 ~ want { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; exit } }' "$f")
		[ -n "$uri" ] && { echo "$uri"; return; }
	done
}

main_uri=$(archive_uri '^[a-z]+(-updates)?$')
sec_uri=$(archive_uri '-security$')
[ -n "$main_uri" ] || { echo "fetch.sh: no Debian archive found in /etc/apt sources" >&2; exit 1; }

{
	echo "deb [trusted=yes] $main_uri bookworm main"
	echo "deb [trusted=yes] $main_uri bookworm-updates main"
	[ -n "$sec_uri" ] && echo "deb [trusted=yes] $sec_uri bookworm-security main"
	echo "deb [trusted=yes] $main_uri trixie main"
	echo "deb [trusted=yes] $main_uri sid main"
} >"$state/sources.list"

APT=(-o APT::Architecture=arm64 -o APT::Architectures=arm64
     -o Dir::State::Lists="$state/lists" -o Dir::Etc::SourceList="$state/sources.list"
     -o Dir::Etc::SourceParts=/nonexistent -o Dir::Cache="$state"
     -o Dir::State::status=/dev/null -o Acquire::Languages=none
     -o Debug::NoLocking=1 -o APT::Sandbox::User=root)

# Refresh the lists at most once a day: a cached run stays offline.
if [ -z "$(find "$state/lists" -name '*Packages*' -mtime -1 2>/dev/null | head -n 1)" ]; then
	apt-get "${APT[@]}" -qq update
fi

dl() { # download packages (name/release or name=version) into $cache/debs unless there
	local p
	for p in "$@"; do
		local name=${p%%[/=]*} ver
		ver=$(apt-cache "${APT[@]}" show "$p" 2>/dev/null | awk '/^Version:/{print $2; exit}')
		[ -n "$ver" ] || { echo "fetch.sh: package $p not found" >&2; return 1; }
		if ! ls "$cache/debs/${name}_${ver//:/%3a}_"*.deb >/dev/null 2>&1; then
			(cd "$cache/debs" && apt-get "${APT[@]}" -qq download "$p")
		fi
		ls "$cache/debs/${name}_${ver//:/%3a}_"*.deb
	done
}

# Newest version of a package across a release's suites (release, -updates,
# -security): the stable kernel moves on in the security archive.
newest() {
	apt-cache "${APT[@]}" madison "$1" | awk -F'|' -v rel="$2" '
		{ gsub(/ /, "", $2); split($3, a, " "); suite = a[2]; sub(/\/.*/, "", suite) }
		suite == rel || suite == rel "-security" || suite == rel "-updates" { print $2 }' |
		sort -V | tail -n 1
}

# The kernel sources the kernel model's table is generated from (issue 25):
# each release's newest linux-source-SERIES, the files the generator reads.
if [ "$what" = kernel-sources ]; then
	for rel in bookworm trixie sid; do
		ver=$(newest linux-image-cloud-arm64 "$rel")
		series=$(echo "$ver" | sed -n 's/^\([0-9]*\.[0-9]*\).*/\1/p')
		dir=$cache/ksrc/$series
		[ -f "$dir/.done" ] && { echo "kernel source $series: $(cat "$dir/.done")"; continue; }
		src=$(newest "linux-source-$series" "$rel")
		deb=$(dl "linux-source-$series=$src")
		rm -rf "$dir" && mkdir -p "$dir"
		dpkg-deb --fsys-tarfile "$deb" | tar xf - -O --wildcards '*.tar.xz' | xz -dc |
			tar xf - -C "$dir" --strip-components=1 --wildcards '*/Makefile' '*/arch/arm64/kernel/cpufeature.c' \
				'*/arch/arm64/kvm/sys_regs.c' '*/arch/arm64/kvm/hypercalls.c' '*/arch/arm64/tools/sysreg' \
				'*/arch/arm64/include/asm/sysreg.h' '*/arch/arm64/include/uapi/asm/kvm.h' '*/include/kvm/arm_psci.h'
		find "$dir" -name Makefile ! -path "$dir/Makefile" -delete
		echo "linux-source-$series $src" >"$dir/.done"
		echo "kernel source $series: linux-source-$series $src"
	done
	exit 0
fi

# Kernels: the meta package of each release names the image package; since
# 7.x the image itself sits in a linux-binary-* package it depends on.
for rel in bookworm trixie sid; do
	ver=$(newest linux-image-cloud-arm64 "$rel")
	[ -n "$ver" ] || { echo "fetch.sh: no linux-image-cloud-arm64 in $rel" >&2; exit 1; }
	img=$(apt-cache "${APT[@]}" show "linux-image-cloud-arm64=$ver" |
		awk -F': ' '/^Depends:/{print $2; exit}' | tr ',' '\n' |
		sed -n 's/^ *\(linux-image-[^ ]*\).*/\1/p' | head -n 1)
	bin=$(apt-cache "${APT[@]}" show "$img" | awk -F': ' '/^Depends:/{print $2; exit}' |
		tr ',' '\n' | sed -n 's/^ *\(linux-binary-[^ ]*\).*/\1/p' | head -n 1)
	pkg=${bin:-$img}
	kdir=$cache/kernel-$rel
	if [ ! -f "$kdir/vmlinuz" ]; then
		deb=$(dl "$pkg")
		rm -rf "$kdir.tmp" && mkdir -p "$kdir.tmp"
		dpkg-deb -x "$deb" "$kdir.tmp/x"
		vmlinuz=$(find "$kdir.tmp/x" -name 'vmlinuz*' -type f | head -n 1)
		[ -n "$vmlinuz" ] || { echo "fetch.sh: no vmlinuz in $deb" >&2; exit 1; }
		mv "$vmlinuz" "$kdir.tmp/vmlinuz"
		basename "$(dirname "$vmlinuz")" >"$kdir.tmp/dir"
		echo "${pkg#linux-*-}" | sed 's/^image-//' >"$kdir.tmp/release"
		rm -rf "$kdir.tmp/x" "$kdir" && mv "$kdir.tmp" "$kdir"
	fi
	echo "kernel $rel: $(cat "$kdir/release")"
done

# Sysroot and initramfs userland, from the same release as the cross
# toolchain (bookworm), so the target glibc matches the cross compiler's.
sysroot=$cache/sysroot
sysroot_pkgs="libc6 libc6-dev linux-libc-dev libgcc-s1
	libsystemd0 libsystemd-dev libjson-c5 libjson-c-dev
	libevent-2.1-7 libevent-core-2.1-7 libevent-extra-2.1-7
	libevent-pthreads-2.1-7 libevent-openssl-2.1-7 libevent-dev
	libhttp-parser2.9 libhttp-parser-dev libnettle8 nettle-dev zlib1g zlib1g-dev
	libcap2 libgcrypt20 libgpg-error0 liblz4-1 liblzma5 libzstd1
	libssl3 busybox-static"
# release_apt REL: RAPT, apt options over that release's suites alone (its
# -updates and -security), on the same package lists.
release_apt() {
	grep -E " $1(-updates|-security)? " "$state/sources.list" >"$state/sources-$1.list"
	RAPT=("${APT[@]}" -o Dir::Etc::SourceList="$state/sources-$1.list" -o Dir::Cache="$state/cache-$1")
	mkdir -p "$state/cache-$1/archives/partial"
}
# unpack_closure DEST ROOTS -- PKGS...: PKGS and the libraries ROOTS (a
# space-separated list) need, recursively, resolved with RAPT, unpacked into
# DEST.  One apt call names every file (and skips virtual packages), one
# fetches the missing ones into $cache/debs.
unpack_closure() {
	local dest=$1 roots=$2 pkgs uris missing
	shift 3
	pkgs=$(apt-cache "${RAPT[@]}" depends --recurse --no-recommends --no-suggests --no-conflicts \
		--no-breaks --no-replaces --no-enhances $roots | grep -v '^[ <]' | grep -E '^(lib|zlib)' | sort -u)
	uris=$(apt-get "${RAPT[@]}" --print-uris download "$@" $pkgs 2>/dev/null |
		awk '{ gsub(/\047/, ""); print $1, $2 }')
	missing=$(echo "$uris" | while read -r uri file; do [ -f "$cache/debs/$file" ] || echo "$file"; done |
		sed 's/_.*//' | sort -u)
	[ -z "$missing" ] || (cd "$cache/debs" && apt-get "${RAPT[@]}" -qq download $missing)
	echo "$uris" | while read -r uri file; do dpkg-deb -x "$cache/debs/$file" "$dest"; done
}

# The package build (tests/vm/vm-system.sh) also links libxml2 (domain XML)
# and compiles against libvirt's headers (cpregd --libvirt): their -dev
# packages, and the closure of libraries they need, resolved against
# bookworm alone, so that the linker finds every library they name.  The
# test bed's own binaries are built without them (cross-build.sh).
sysroot_closure="libvirt-dev libvirt0 libxml2-dev libicu-dev liblzma-dev"
# .done holds the list it was made from: a package added here rebuilds it.
if [ "$(cat "$sysroot/.done" 2>/dev/null)" != "$(echo $sysroot_pkgs $sysroot_closure)" ]; then
	rm -rf "$sysroot" && mkdir -p "$sysroot"
	for p in $sysroot_pkgs; do
		deb=$(dl "$p/bookworm")
		dpkg-deb -x "$deb" "$sysroot"
	done
	release_apt bookworm
	unpack_closure "$sysroot" "libvirt0 libxml2" -- $sysroot_closure
	echo $sysroot_pkgs $sysroot_closure >"$sysroot/.done"
fi
echo "sysroot: $sysroot"

# QEMU of each release, unpacked into $cache/qemu-REL/root with its library
# closure: the direct dependencies of qemu-system-arm that are libraries,
# and recursively theirs, resolved against that release's suites alone.
# qemu-system-common and -data are left out: the binary runs without them
# for a "-nodefaults -display none" VM.
for rel in bookworm trixie sid; do
	qdir=$cache/qemu-$rel
	[ -f "$qdir/.done" ] && { echo "qemu $rel: $(cat "$qdir/version")"; continue; }
	release_apt "$rel"
	ver=$(newest qemu-system-arm "$rel")
	[ -n "$ver" ] || { echo "fetch.sh: no qemu-system-arm in $rel" >&2; exit 1; }
	direct=$(apt-cache "${RAPT[@]}" show "qemu-system-arm=$ver" | awk -F': ' '/^Depends:/{print $2; exit}' |
		tr ',' '\n' | sed 's/^ *//; s/[ |].*//' | grep -E '^(lib|zlib)')
	rm -rf "$qdir" && mkdir -p "$qdir/root"
	unpack_closure "$qdir/root" "$direct" -- "qemu-system-arm=$ver"
	echo "$ver" >"$qdir/version"
	touch "$qdir/.done"
	echo "qemu $rel: $ver"
done

