# SPDX-License-Identifier: GPL-2.0-or-later
# Shared by the tests that compare cpregd's verdicts with real migrations
# (tests/vm/vm-migrate.sh on emulated hosts, tests/test-real.sh offline):
# read a cpreg-verdict/1 document with jq.

# What a verdict predicts QEMU's write-back refuses: nothing when QEMU
# stops before writing (the count check, or an unknown id in the index
# merge; target/arm/machine.c cpu_post_load()), else the value findings
# that fail.  Hex ids, sorted, comma-separated; "-" for none.
predicted() {
	jq -r 'if ([.findings[] | select(.outcome == "fail" and (.kind == "count-exceeded" or .kind == "only-in-source"))] | length) > 0
		then empty else (.findings[] | select(.outcome == "fail" and .kind == "value-differs") | .id) end' "$1" |
		sort | paste -sd, - | sed 's/^$/-/'
}
# What stops QEMU before writing, as the verdict has it.
index_fails() {
	jq -r '.findings[] | select(.outcome == "fail" and (.kind == "count-exceeded" or .kind == "only-in-source")) | .name' "$1" |
		sort | paste -sd, - | sed 's/^$/-/'
}
# Hex ids -> names, from the verdict's findings where it names them.
names() {
	local ids=$1 v=$2 id out=""
	[ "$ids" = - ] && { echo -; return; }
	for id in ${ids//,/ }; do
		out="$out${out:+,}$(jq -r --arg id "$id" '[.findings[] | select(.id == $id) | .name][0] // $id' "$v")"
	done
	echo "$out"
}
# cpregctl options for a pair's VM options: "-", or QEMU -cpu host properties
# separated by commas ("pmu=off,kvm-psci-version=1.1").
ctl_opts() {
	local o out=""
	[ "$1" = - ] && return
	for o in ${1//,/ }; do
		case $o in
		kvm-psci-version=*) out="$out --psci-version ${o#kvm-psci-version=}" ;;
		sve-max-vq=*) out="$out --sve-max-vq ${o#sve-max-vq=}" ;;
		*) out="$out --disable $o" ;;
		esac
	done
	echo "$out"
}
