#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The kernel model's table is the kernels' own source (issue 25):
# lib/gen-kernel-rules.py run on the source trees of the test bed's kernels
# (Debian's linux-source packages, tests/vm/fetch.sh CACHE kernel-sources,
# which make check-kernel-rules runs) writes exactly lib/kernel-rules.c as
# checked in.  Without the trees (a download of about 450 MB) it is skipped.
set -u
. "$top_srcdir/tests/tap.sh"
KSRC=${CPREG_KSRC:-${CPREG_VM_CACHE:-$top_builddir/vmcache}/ksrc}
trees=()
for d in "$KSRC"/*/; do
	[ -f "$d/.done" ] && trees+=("${d%/}")
done
if [ ${#trees[@]} = 0 ]; then
	echo "1..0 # SKIP no kernel source trees in $KSRC (make check-kernel-rules fetches them)"
	exit 0
fi
T=$(mktemp -d /tmp/cpregd-krules.XXXXXX)
trap 'rm -rf "$T"' EXIT
python3 "$top_srcdir/lib/gen-kernel-rules.py" "$T/kernel-rules.c" "${trees[@]}" 2>"$T/err"
ok $? "the generator reads ${#trees[@]} kernel trees ($(cat "${trees[@]/%//.done}" | paste -sd, -)) $(head -n 1 "$T/err")"
diff -u "$top_srcdir/lib/kernel-rules.c" "$T/kernel-rules.c" >"$T/diff"
ok $? "  and writes lib/kernel-rules.c as checked in ($(grep -c '^[-+][^-+]' "$T/diff") lines differ)"
# The generator refuses a tree it cannot read rather than guess.
mkdir -p "$T/broken" && cp -r "${trees[0]}/." "$T/broken/" && sed -i 's/kvm_arm_set_fw_reg_bmap/renamed_bmap/g' "$T/broken/arch/arm64/kvm/hypercalls.c"
python3 "$top_srcdir/lib/gen-kernel-rules.py" "$T/x.c" "$T/broken" 2>"$T/err2"
rc=$?
ok "$([ $rc = 1 ] && grep -q 'hypercalls.c: no function kvm_arm_set_fw_reg_bmap()' "$T/err2" && [ ! -e "$T/x.c" ]; echo $?)" \
	"  a tree it cannot read is an error naming the file and what is missing ($(cat "$T/err2"))"
done_testing
