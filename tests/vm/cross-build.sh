#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Cross-build the project for aarch64 against the sysroot fetch.sh made
# (BRIEF section 7): ./configure --host=aarch64-linux-gnu with pkg-config
# pointed into the sysroot.  Prints the directory holding the binaries.
#
# Usage: cross-build.sh SRCDIR CACHE_DIR
set -euo pipefail

src=$(cd "${1:?usage: cross-build.sh SRCDIR CACHE_DIR}" && pwd)
cache=$(cd "${2:?usage: cross-build.sh SRCDIR CACHE_DIR}" && pwd)
sysroot=$cache/sysroot
out=$cache/build-aarch64
[ -f "$sysroot/.done" ] || { echo "cross-build.sh: no sysroot in $cache; run fetch.sh" >&2; exit 1; }
command -v aarch64-linux-gnu-gcc >/dev/null || { echo "cross-build.sh: aarch64-linux-gnu-gcc missing (apt-get install gcc-aarch64-linux-gnu)" >&2; exit 1; }

# dpkg -x does not make the merged-/usr links base-files would make, and
# glibc's linker scripts name /lib/aarch64-linux-gnu.
[ -e "$sysroot/lib/aarch64-linux-gnu" ] || { mkdir -p "$sysroot/lib"; ln -sfn ../usr/lib/aarch64-linux-gnu "$sysroot/lib/aarch64-linux-gnu"; }
[ -e "$sysroot/lib/ld-linux-aarch64.so.1" ] || ln -sfn aarch64-linux-gnu/ld-linux-aarch64.so.1 "$sysroot/lib/ld-linux-aarch64.so.1"

mkdir -p "$out"
cd "$out"
libdir=$sysroot/usr/lib/aarch64-linux-gnu
if [ ! -f Makefile ] || [ "$src/configure" -nt Makefile ]; then
	# The binaries packed into the test bed's initramfs stay small: the
	# sysroot's libxml2 and libvirt are for the package (vm-system.sh).
	"$src/configure" -q --host=aarch64-linux-gnu --prefix=/usr --without-libxml2 --without-libvirt \
		CC="aarch64-linux-gnu-gcc --sysroot=$sysroot" \
		CFLAGS="-O2 -g" \
		LDFLAGS="-Wl,-rpath-link,$libdir" \
		PKG_CONFIG_LIBDIR="$libdir/pkgconfig:$sysroot/usr/share/pkgconfig" \
		PKG_CONFIG_SYSROOT_DIR="$sysroot" >&2
fi
make -s -j"$(nproc)" daemon/cpregctl tests/vm/kvm-reglist $(grep -q '^daemon/cpregd' Makefile 2>/dev/null && echo daemon/cpregd || true) >&2
echo "$out"
