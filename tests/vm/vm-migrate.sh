#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# Ground truth: real QEMU migrations between emulated hosts, side by side
# with cpregd's verdicts (tests/vm/README, "Real migrations").
#
# For every pair of tests/vm/migrate-pairs.txt (CPREG_MIGRATE=ci: the pairs
# marked ci; all: every pair):
#   1. each source host boots with its own kernel and QEMU; cpregd exports
#      its inventory (QEMU's version read from the real binary) and real
#      QEMU saves a VM ("-cpu host[,options] -S") for each option set;
#   2. each destination host boots; real QEMU loads every stream meant for
#      it (the real outcome: loaded, or failed with QEMU's own lines and the
#      registers KVM refused, from the kvm_failed_reg_set trace event), and
#      its cpregd checks the source's inventory with the trial;
#   3. cpregctl checks the two inventories offline.
# Asserted, per pair: the offline verdict and the destination's verdict
# equal the real outcome, and the registers each predicts QEMU's write-back
# to refuse equal the ones KVM refused.  For the pairs without VM options,
# the destination's cpregd also judged the source as a peer (--peers, with
# the trial): its NFD accepts- label must be set exactly when the real
# migration loaded.  A pair cpregd gets wrong must be
# listed in tests/vm/migrate-known-issues.txt with its cause (it is then
# reported as TODO, not hidden); real outcomes are kept with their
# provenance in tests/vm/migrate-expected.txt, and a real outcome that
# changes from the recording (a kernel or QEMU moved on) is reported.
# CPREG_RECORD=1 rewrites migrate-expected.txt from the real outcomes (never
# from cpregd's verdicts).
set -u
. "$top_srcdir/tests/vm/lib.sh"
. "$top_srcdir/tests/verdict.sh"
vm_setup
OUT=$top_builddir/tests/vm-out/migrate
# CPREG_MIGRATE_COMPARE=1: compare again what the last run left in $OUT, without booting.
COMPARE_ONLY=${CPREG_MIGRATE_COMPARE:-0}
[ "$COMPARE_ONLY" = 1 ] || { rm -rf "$OUT"; mkdir -p "$OUT"; }
PAIRS=$top_srcdir/tests/vm/migrate-pairs.txt
EXPECTED=$top_srcdir/tests/vm/migrate-expected.txt
KNOWN=$top_srcdir/tests/vm/migrate-known-issues.txt
MODE=${CPREG_MIGRATE:-ci}
RECORD=${CPREG_RECORD:-0}
MACHINE=virt-7.2
script=$top_srcdir/tests/vm/migrate-host.sh

declare -A H_CPU H_KREL H_QREL
while read -r kw name cpu krel qrel; do
	[ "$kw" = host ] || continue
	H_CPU[$name]=$cpu; H_KREL[$name]=$krel; H_QREL[$name]=$qrel
done <"$PAIRS"
pairs=()
while read -r kw src dst opts flag; do
	[ "$kw" = pair ] || continue
	[ "$MODE" = all ] || [ "${flag:-}" = ci ] || continue
	pairs+=("$src $dst $opts")
done <"$PAIRS"
# "profile A B": the VM profile cpregctl computes for the two hosts (from
# their recorded inventories, tests/data/migrate) becomes a pair both ways:
# real QEMU and the destinations' cpregd must accept it.
while read -r kw a b flag; do
	[ "$kw" = profile ] || continue
	[ "$MODE" = all ] || [ "${flag:-}" = ci ] || continue
	inv=$top_srcdir/tests/data/migrate
	if [ ! -f "$inv/$a.json" ] || [ ! -f "$inv/$b.json" ]; then
		diag "profile $a $b: no recorded inventories yet (record with CPREG_RECORD=1)"
		continue
	fi
	popts=$("$top_builddir/daemon/cpregctl" --json profile "$inv/$a.json" "$inv/$b.json" | jq -r '.profile.qemu_cpu')
	popts=${popts#host}; popts=${popts#,}; popts=${popts:--}
	diag "profile $a $b: -cpu host$([ "$popts" = - ] || echo ",$popts") (cpregctl profile)"
	for p in "$a $b $popts" "$b $a $popts"; do
		printf '%s\n' "${pairs[@]}" | grep -qxF "$p" || pairs+=("$p")
	done
done <"$PAIRS"
diag "mode $MODE: ${#pairs[@]} pairs"

# A stream's name: source host and VM options.
sid() { echo "$1_${2//[^a-zA-Z0-9.]/_}"; }
cpu_arg() { [ "$1" = - ] && echo host || echo "host,$1"; }
hboot() { # hboot HOST OUTDIR FILE...: boot HOST with its QEMU
	local h=$1 d=$2
	shift 2
	CPREG_VM_QEMU=${H_QREL[$h]} boot "${H_CPU[$h]}" "${H_KREL[$h]}" "$h" "$script" "$d" "$@"
}

# Phase 1: sources.
declare -A SAVES
for p in "${pairs[@]}"; do
	read -r src dst opts <<<"$p"
	SAVES[$src]="${SAVES[$src]:-}$(sid "$src" "$opts") $opts
"
done
for src in "${!SAVES[@]}"; do
	[ "$COMPARE_ONLY" = 1 ] && break
	d=$OUT/src-$src
	mkdir -p "$d"
	sort -u <<<"${SAVES[$src]}" | while read -r id opts; do
		[ -n "$id" ] && echo "save $id $MACHINE $(cpu_arg "$opts")"
	done >"$d.plan"
	cp "$d.plan" "$OUT/plan"
	hboot "$src" "$d" "$OUT/plan"
	ok $? "source $src (${H_CPU[$src]}, ${H_KREL[$src]} kernel, ${H_QREL[$src]} QEMU) boots, probes and saves"
	cp "$d/inventory" "$OUT/$src.json" 2>/dev/null
	while read -r step id rest; do
		if grep -q '^result saved' "$d/save-$id" 2>/dev/null && base64 -d "$d/state-$id" >"$OUT/$id.st.gz" 2>/dev/null; then
			:
		else
			rm -f "$OUT/$id.st.gz"
			diag "  $id: not saved: $(grep -v '^result' "$d/save-$id" 2>/dev/null | head -n 3)"
		fi
	done <"$d.plan"
	diag "  $src: kernel $(cat "$d/kernel" 2>/dev/null), $(head -n 1 "$d/qemu-version" 2>/dev/null)"
done

# Phase 2: destinations.
declare -A LOADS
for p in "${pairs[@]}"; do
	read -r src dst opts <<<"$p"
	LOADS[$dst]="${LOADS[$dst]:-}$src $opts
"
done
for dst in "${!LOADS[@]}"; do
	[ "$COMPARE_ONLY" = 1 ] && break
	d=$OUT/dst-$dst
	mkdir -p "$d"
	files=()
	: >"$d.plan"
	while read -r src opts; do
		[ -n "$src" ] || continue
		id=$(sid "$src" "$opts")
		[ -f "$OUT/$id.st.gz" ] && files+=("$OUT/$id.st.gz")
		[ -f "$OUT/$src.json" ] && files+=("$OUT/$src.json")
		echo "load $id $MACHINE $(cpu_arg "$opts")"
		echo "check $id $src.json $(ctl_opts "$opts")"
	done <<<"$(sort -u <<<"${LOADS[$dst]}")" >"$d.plan"
	# Then its cpregd judges every source inventory as a peer and publishes NFD labels.
	echo "peers" >>"$d.plan"
	cp "$d.plan" "$OUT/plan"
	hboot "$dst" "$d" "$OUT/plan" $(printf '%s\n' "${files[@]}" | sort -u)
	ok $? "destination $dst (${H_CPU[$dst]}, ${H_KREL[$dst]} kernel, ${H_QREL[$dst]} QEMU) boots, loads and checks"
	[ -f "$OUT/$dst.json" ] || cp "$d/inventory" "$OUT/$dst.json" 2>/dev/null
	diag "  $dst: kernel $(cat "$d/kernel" 2>/dev/null), $(head -n 1 "$d/qemu-version" 2>/dev/null)"
done

real_refused() { # the trace's decimal ids as hex
	sed -n 's/.*kvm_failed_reg_set Warning: Unable to set ONEREG \([0-9]*\) to KVM.*/\1/p' "$1" |
		while read -r v; do printf '0x%016x\n' "$v"; done | sort -u | paste -sd, - | sed 's/^$/-/'
}
# compare WHICH WHO VERDICT WHERE: one TAP line for a verdict against the real
# outcome ($rres, $rset of the pair in hand); counts agreements in
# agree_WHICH and agree_set_WHICH.  A disagreement listed in
# migrate-known-issues.txt ($todo) is reported as TODO.
compare() {
	local which=$1 who=$2 v=$3 where=$4 res set sok r t
	if ! jq -e .result "$v" >/dev/null 2>&1; then
		ok 1 "$name: $who answered (see $where: $(head -c 300 "$where"))"
		return
	fi
	res=$(jq -r .result "$v"); set=$(predicted "$v")
	[ "$res" = "$rres" ] && eval "agree_$which=\$((agree_$which + 1))"
	sok=1; { [ "$rset" = "?" ] || [ "$set" = "$rset" ]; } && sok=0
	[ $sok = 0 ] && eval "agree_set_$which=\$((agree_set_$which + 1))"
	if [ "$res" = "$rres" ] && [ $sok = 0 ]; then r=0; else r=1; fi
	[ $r = 0 ] && t="" || t="$todo"
	echo "$([ $r = 0 ] || echo "not ")ok $((n + 1)) - $name: $who (trial $(jq -r '.trial.ran // false' "$v")) says $res, real QEMU $rres; refused: cpregd $(names "$set" "$v"), KVM $(names "$rset" "$v")$t"
	n=$((n + 1)); [ $r = 0 ] || [ -n "$t" ] || failed=$((failed + 1))
	[ "$which" = trial ] && [ "$rres" = incompatible ] && [ "$rset" = - ] &&
		diag "  QEMU stopped before writing; cpregd: $(index_fails "$v")"
	return 0
}

# Phase 3: compare.
np=0; agree_off=0; agree_trial=0; agree_set_off=0; agree_set_trial=0; agree_peers=0; n_peers=0
[ "$RECORD" = 1 ] && : >"$OUT/expected.new"
for p in "${pairs[@]}"; do
	read -r src dst opts <<<"$p"
	id=$(sid "$src" "$opts")
	d=$OUT/dst-$dst
	name="$src -> $dst${opts/#-/}"
	[ "$opts" = - ] || name="$src -> $dst [$opts]"
	load=$d/load-$id
	if [ ! -f "$OUT/$id.st.gz" ] || ! grep -q '^result ' "$load" 2>/dev/null; then
		ok 1 "$name: a real migration ran (see $d/console.log)"
		continue
	fi
	np=$((np + 1))
	real=$(sed -n 's/^result //p' "$load")
	[ "$real" = loaded ] && rres=compatible || rres=incompatible
	rset=$(real_refused "$load")
	# QEMU before 10.0 writes with a bare ioctl, no kvm_failed_reg_set: its refusals are not seen.
	qmaj=$(sed -n '1s/.*version \([0-9]*\)\..*/\1/p' "$d/qemu-version")
	[ "${qmaj:-0}" -ge 10 ] || rset="?"
	qerr=$(grep 'qemu-system-aarch64:' "$load" | grep -v 'is deprecated' | head -n 3 | sed 's/^qemu-system-aarch64: //' | paste -sd'|' -)
	prov="$(cat "$OUT/src-$src/kernel" 2>/dev/null)/$(sed -n '1s/.*version \([^ ]*\).*/\1/p' "$OUT/src-$src/qemu-version" 2>/dev/null) -> $(cat "$d/kernel")/$(sed -n '1s/.*version \([^ ]*\).*/\1/p' "$d/qemu-version")"
	line="$src $dst $opts $rres refused=$rset"
	diag "$name: real migration $real ($prov)${qerr:+: $qerr}"
	if [ "$RECORD" = 1 ]; then
		echo "$line # $prov" >>"$OUT/expected.new"
	else
		exp=$(grep "^$src $dst $opts " "$EXPECTED" 2>/dev/null | sed 's/ #.*//' | head -n 1)
		if [ -z "$exp" ]; then
			diag "  no recorded real outcome for this pair"
		elif [ "$exp" != "$line" ]; then
			diag "  the real outcome moved on from the recording: was '$exp' ($(grep "^$src $dst $opts " "$EXPECTED" | sed 's/.* # //'))"
		fi
	fi

	known=$(grep "^$src $dst $opts " "$KNOWN" 2>/dev/null | sed 's/^[^ ]* [^ ]* [^ ]* //' | head -n 1)
	todo=""; [ -n "$known" ] && todo=" # TODO known issue: $known"
	# The destination's cpregd, with the trial; then offline, from the two inventories.
	compare trial "the destination's cpregd" "$d/check-$id" "$d/check-$id"
	o=$OUT/offline-$id.json
	# shellcheck disable=SC2046
	"$top_builddir/daemon/cpregctl" --json $(ctl_opts "$opts") check "$OUT/$src.json" "$OUT/$dst.json" >"$o" 2>"$o.err"
	compare off "offline cpregctl" "$o" "$o.err"
	# The same source as a peer of the destination (no VM options: what --peers judged).
	if [ "$opts" = - ]; then
		sd=$(jq -r .digest "$OUT/$src.json" | sed 's/^sha256://' | cut -c1-16)
		acc=$(jq -r --arg s "$sd" '.sources[] | select(.short_digest == $s) | "\(.accepted) \(.trial.ran)"' "$d/peers" 2>/dev/null)
		lbl=$(grep -c "^cpregd.feature.node.kubernetes.io/accepts-$sd=true\$" "$d/nfd" 2>/dev/null)
		want=$([ "$rres" = compatible ] && echo true || echo false)
		r=1
		[ "$acc" = "$want true" ] && [ "$lbl" = "$([ "$want" = true ] && echo 1 || echo 0)" ] && r=0
		agree_peers=$((agree_peers + (1 - r))); n_peers=$((n_peers + 1))
		ok $r "$name: as a peer of the destination's cpregd (trial): accepted ${acc:-?}, NFD label accepts-$sd $([ "${lbl:-0}" = 1 ] && echo set || echo absent); real QEMU $rres"
	fi
done
diag "peer judgements with NFD labels vs real QEMU migrations: $agree_peers/$n_peers"
diag "cpregd vs real QEMU migrations over $np pairs: verdicts offline $agree_off/$np, with the trial $agree_trial/$np; refused registers offline $agree_set_off/$np, with the trial $agree_set_trial/$np"
echo "$np $agree_off $agree_trial $agree_set_off $agree_set_trial" >"$OUT/agreement"
if [ "$RECORD" = 1 ]; then
	{
		sed -n '/^#/p' "$EXPECTED" 2>/dev/null
		sort "$OUT/expected.new"
	} >"$OUT/expected.merged"
	# Keep recorded pairs that this run did not cover (the ci subset).
	grep -v '^#' "$EXPECTED" 2>/dev/null | while read -r s d o rest; do
		grep -q "^$s $d $o " "$OUT/expected.new" || echo "$s $d $o $rest"
	done >>"$OUT/expected.merged"
	{ sed -n '/^#/p' "$OUT/expected.merged"; grep -v '^#' "$OUT/expected.merged" | sort; } >"$EXPECTED"
	# The hosts' own inventories, as their cpregd exported them, for tests/test-real.sh.
	mkdir -p "$top_srcdir/tests/data/migrate"
	for h in "${!H_CPU[@]}"; do
		[ -f "$OUT/$h.json" ] && cp "$OUT/$h.json" "$top_srcdir/tests/data/migrate/$h.json"
	done
	diag "recorded the real outcomes in $EXPECTED"
fi
done_testing
