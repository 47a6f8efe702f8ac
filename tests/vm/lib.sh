# SPDX-License-Identifier: GPL-2.0-or-later
# Shared by the emulated-host tests: TAP helpers, and the one-time setup
# (downloads and the aarch64 cross-build, cached in the build tree).
: "${top_srcdir:?run through make check-vm}"
: "${top_builddir:?run through make check-vm}"
VM_CACHE=${CPREG_VM_CACHE:-$top_builddir/vmcache}
. "$top_srcdir/tests/tap.sh"

# Fetch and cross-build once per build tree; several test scripts may run
# at once (make -j), so serialise on a lock.
vm_setup() {
	mkdir -p "$VM_CACHE"
	(
		flock 9
		"$top_srcdir/tests/vm/fetch.sh" "$VM_CACHE" >"$VM_CACHE/fetch.log" 2>&1 ||
			{ cat "$VM_CACHE/fetch.log" >&2; exit 1; }
		"$top_srcdir/tests/vm/cross-build.sh" "$top_srcdir" "$VM_CACHE" >"$VM_CACHE/build.log" 2>&1 ||
			{ cat "$VM_CACHE/build.log" >&2; exit 1; }
	) 9>"$VM_CACHE/.lock" || { echo "Bail out! test bed setup failed"; exit 1; }
	VM_BUILD=$VM_CACHE/build-aarch64
}

# The release whose kernel series is given (6.1, 6.12, 7).
release_of() {
	case $1 in 6.1) echo bookworm ;; 6.12) echo trixie ;; 7*) echo sid ;; *) return 1 ;; esac
}
# "6.12.117+deb13-cloud-arm64" -> 6.12; "7.2.13+deb14-..." -> 7.2
series_of() { echo "$1" | sed -n 's/^\([0-9]*\.[0-9]*\).*/\1/p'; }

# boot CPU RELEASE HOSTNAME SCRIPT OUTDIR [FILE...]: seconds taken go to OUTDIR/seconds
boot() {
	local t0 t1 rc=0
	t0=$(date +%s.%N)
	"$top_srcdir/tests/vm/run-vm.sh" "$VM_CACHE" "$VM_BUILD" "$@" || rc=$?
	t1=$(date +%s.%N)
	echo "$t1 - $t0" | bc >"$5/seconds" 2>/dev/null || true
	return $rc
}

# info FILE KEY: a fact of an inventory (tests/invinfo)
info() { "$top_builddir/tests/invinfo" "$1" | sed -n "s/^$2=//p"; }
