#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# make fuzz: run each libFuzzer target for SECONDS from its committed seeds
# (tests/fuzz/TARGET) and regressions, in a corpus under the build tree;
# print the coverage reached and fail on any crash, leaving the input in
# the build tree to be added to tests/fuzz/regressions/TARGET/.
set -u
src=${1:?usage: fuzz-run.sh SRCDIR BUILDDIR SECONDS TARGET...}
build=$2 secs=$3
shift 3
status=0
for t in "$@"; do
	corpus=$build/tests/fuzz-corpus/$t
	art=$build/tests/fuzz-artifacts/$t/
	mkdir -p "$corpus" "$art"
	cp -n "$src/tests/fuzz/$t"/* "$src/tests/fuzz/regressions/$t"/* "$corpus/" 2>/dev/null
	"$build/tests/fuzz-$t" -max_total_time="$secs" -print_final_stats=1 -max_len=1100000 -timeout=20 \
		-rss_limit_mb=2048 -artifact_prefix="$art" "$corpus" >"$build/tests/fuzz-$t.log" 2>&1
	rc=$?
	cov=$(grep -E '^#[0-9]+.*(DONE|pulse|NEW|REDUCE).*cov: ' "$build/tests/fuzz-$t.log" | tail -n 1 |
		sed -n 's/^#\([0-9]*\).*cov: \([0-9]*\) ft: \([0-9]*\).*/\1 runs, \2 edges, \3 features/p')
	if [ $rc = 0 ]; then
		echo "fuzz $t: ${secs} s, ${cov:-?}"
	else
		echo "fuzz $t: FAILED (exit $rc) after ${cov:-?}; the input is in $art (add it to tests/fuzz/regressions/$t/):"
		grep -E 'ERROR|SUMMARY|==[0-9]+==' "$build/tests/fuzz-$t.log" | head -n 10
		status=1
	fi
done
exit $status
