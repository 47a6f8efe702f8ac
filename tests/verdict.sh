# SPDX-License-Identifier: GPL-2.0-or-later
# Shared by the tests that compare cpregd's verdicts with real migrations
# (tests/vm/vm-migrate.sh on emulated hosts, tests/test-real.sh offline):
# read a cpreg-verdict/1 document with jq.

# What a verdict predicts KVM to refuse when QEMU writes the registers back
# (the kvm_failed_reg_set trace), following target/arm/machine.c
# cpu_post_load() and the write that follows a failed load: nothing when the
# count check fails (no value is copied); before QEMU 11.1 the values that
# sort before the first unknown id (the merge stops there); else every value
# finding that fails.  Hex ids, sorted, comma-separated; "-" for none.
predicted() {
	jq -r '
		[.findings[] | select(.outcome == "fail" and .kind == "only-in-source") | .id] as $unknown
		| if ([.findings[] | select(.outcome == "fail" and .kind == "count-exceeded")] | length) > 0 then empty
		  elif .policy == "qemu-legacy" and ($unknown | length) > 0 then
			($unknown | min) as $first
			| (.findings[] | select(.outcome == "fail" and .kind == "value-differs" and .id < $first) | .id)
		  else (.findings[] | select(.outcome == "fail" and .kind == "value-differs") | .id) end' "$1" |
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
