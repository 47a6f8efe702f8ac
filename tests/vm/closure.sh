# SPDX-License-Identifier: GPL-2.0-or-later
# Sourced by run-vm.sh, system.sh and vm-system.sh.
# copy_closure DEST LIBDIR... -- FILE...: the libraries FILEs need, recursively, from LIBDIRs into DEST.
copy_closure() {
	local dest=$1 dirs=() need=() f lib d src
	shift
	while [ "$1" != -- ]; do dirs+=("$1"); shift; done
	shift
	need=("$@")
	declare -A seen=()
	while [ ${#need[@]} -gt 0 ]; do
		f=${need[0]}; need=("${need[@]:1}")
		for lib in $(LC_ALL=C readelf -d "$f" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
			[ -n "${seen[$lib]:-}" ] && continue
			seen[$lib]=1
			src=""
			for d in "${dirs[@]}"; do
				[ -e "$d/$lib" ] && { src=$(readlink -f "$d/$lib"); break; }
			done
			[ -f "$src" ] || { echo "copy_closure: $lib not found in ${dirs[*]}" >&2; exit 1; }
			cp "$src" "$dest/$lib"
			need+=("$dest/$lib")
		done
	done
}


# copy_qemu QROOT DEST: a release's qemu-system-aarch64 (fetch.sh's QROOT) as
# DEST/bin/qemu-system-aarch64 with its own loader and libraries in DEST/lib,
# to run as DEST/lib/ld-linux-aarch64.so.1 --library-path DEST/lib DEST/bin/...
copy_qemu() {
	local qroot=$1 dest=$2 ld
	mkdir -p "$dest/bin" "$dest/lib"
	cp "$qroot/usr/bin/qemu-system-aarch64" "$dest/bin/"
	for ld in "$qroot/lib/ld-linux-aarch64.so.1" "$qroot/usr/lib/ld-linux-aarch64.so.1"; do
		[ -e "$ld" ] && { cp "$(readlink -f "$ld")" "$dest/lib/ld-linux-aarch64.so.1"; break; }
	done
	copy_closure "$dest/lib" "$qroot/usr/lib/aarch64-linux-gnu" "$qroot/lib/aarch64-linux-gnu" -- \
		"$dest/bin/qemu-system-aarch64"
}
