# SPDX-License-Identifier: GPL-2.0-or-later
# The one TAP helper of the shell tests (make check, make check-vm, the
# package test and the system test inside the emulated Debian host):
#   ok STATUS TEXT   a test that passed when STATUS is 0
#   skip TEXT        a test that could not run here, and why
#   diag TEXT...     a comment
#   done_testing     the plan, and the script's exit status
#   jqe ARGS...      jq -e that fails on no input at all (see below)
# TAP goes to standard output, or to descriptor $TAP_FD when set (the system
# test writes it to a file while its commands' output goes to a log).
n=0
failed=0
tap_out() { if [ -n "${TAP_FD:-}" ]; then echo "$*" >&"$TAP_FD"; else echo "$*"; fi; }
ok() {
	n=$((n + 1))
	if [ "$1" = 0 ]; then tap_out "ok $n - $2"; else tap_out "not ok $n - $2"; failed=$((failed + 1)); fi
}
skip() { n=$((n + 1)); tap_out "ok $n # SKIP $1"; }
diag() { tap_out "# $*"; }
done_testing() { tap_out "1..$n"; [ "$failed" = 0 ]; }
# jq -e, except that no input fails.  jq 1.6 (Debian 12's) exits 0 when its
# input is empty, so "curl ... | jq -e FILTER" would pass on an answer that
# never came (a daemon not yet listening).  The output is passed on.
jqe() {
	local out
	out=$(jq -e "$@") || return
	[ -n "$out" ] || return 4
	printf '%s\n' "$out"
}
