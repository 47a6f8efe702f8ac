# SPDX-License-Identifier: GPL-2.0-or-later
# Sourced by run-vm.sh and system.sh.
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

