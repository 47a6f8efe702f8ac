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
# Chains ("chain A B C OPTS"): the VM saved on A is loaded and resumed on B
# and migrated on from B, then loaded on C (phase 2b).  Asserted per chain:
# the passports (A's cpregd at birth; B's cpregd after its trial; the kernel
# model's hop) equal the cpu section of the stream QEMU sent
# (tests/vmstate-cpregs); C's cpregd and cpregctl offline, judging by the
# passport after B, agree with what C's QEMU did.  CPREG_MIGRATE=chains runs
# the chains alone.
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
# CPREG_MIGRATE=chains: only the chains (and their first hops).
want() { [ "$MODE" = all ] || [ "$MODE" = "${2:-}" ] || { [ "$MODE" = ci ] && [ "${1:-}" = ci ]; }; }
pairs=()
while read -r kw src dst opts flag; do
	[ "$kw" = pair ] || continue
	want "${flag:-}" pairs || continue
	pairs+=("$src $dst $opts")
done <"$PAIRS"
# "chain A B C OPTS": the VM born on A is saved, loaded and resumed on B,
# migrated on from B, and loaded on C.  Its first hop is a pair.
chains=()
while read -r kw a b c opts flag; do
	[ "$kw" = chain ] || continue
	want "${flag:-}" chains || continue
	chains+=("$a $b $c $opts")
	printf '%s\n' "${pairs[@]}" | grep -qxF "$a $b $opts" || pairs+=("$a $b $opts")
done <"$PAIRS"
# "profile A B": the VM profile cpregctl computes for the two hosts (from
# their recorded inventories, tests/data/migrate) becomes a pair both ways:
# real QEMU and the destinations' cpregd must accept it.
while read -r kw a b flag; do
	[ "$kw" = profile ] || continue
	want "${flag:-}" pairs || continue
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
diag "mode $MODE: ${#pairs[@]} pairs, ${#chains[@]} chains"

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
		[ -n "$id" ] || continue
		echo "save $id $MACHINE $(cpu_arg "$opts")"
		# The passport this host's cpregd gives a VM born here (for the chains).
		echo "passport $id $(ctl_opts "$opts")"
	done >"$d.plan"
	cp "$d.plan" "$OUT/plan"
	hboot "$src" "$d" "$OUT/plan"
	ok $? "source $src (${H_CPU[$src]}, ${H_KREL[$src]} kernel, ${H_QREL[$src]} QEMU) boots, probes and saves"
	cp "$d/inventory" "$OUT/$src.json" 2>/dev/null
	while read -r step id rest; do
		[ "$step" = save ] || continue
		cp "$d/passport-$id" "$OUT/$id.passport.json" 2>/dev/null
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
declare -A LOADS RELAY
for c in "${chains[@]}"; do
	read -r a b _ opts <<<"$c"
	RELAY[$a $b $opts]=1
done
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
		if [ -n "${RELAY[$src $dst $opts]:-}" ]; then
			# A chain goes on from here: load, then migrate on; and the
			# destination's cpregd judges the VM's birth passport.
			echo "relay $id $MACHINE $(cpu_arg "$opts")"
			[ -f "$OUT/$id.passport.json" ] && files+=("$OUT/$id.passport.json") &&
				echo "check pp-$id $id.passport.json"
		else
			echo "load $id $MACHINE $(cpu_arg "$opts")"
		fi
		echo "check $id $src.json $(ctl_opts "$opts")"
	done <<<"$(sort -u <<<"${LOADS[$dst]}")" >"$d.plan"
	# Then its cpregd judges every source inventory as a peer and publishes NFD labels.
	echo "peers" >>"$d.plan"
	cp "$d.plan" "$OUT/plan"
	hboot "$dst" "$d" "$OUT/plan" $(printf '%s\n' "${files[@]}" | sort -u)
	ok $? "destination $dst (${H_CPU[$dst]}, ${H_KREL[$dst]} kernel, ${H_QREL[$dst]} QEMU) boots, loads and checks"
	[ -f "$OUT/$dst.json" ] || cp "$d/inventory" "$OUT/$dst.json" 2>/dev/null
	diag "  $dst: kernel $(cat "$d/kernel" 2>/dev/null), $(head -n 1 "$d/qemu-version" 2>/dev/null)"
	for f in "$d"/relay-*; do
		[ -f "$f" ] || continue
		id=${f##*/relay-}
		base64 -d "$f" >"$OUT/$id.via-$dst.st.gz" 2>/dev/null || rm -f "$OUT/$id.via-$dst.st.gz"
		# The passport after the hop, as this host's cpregd read it back after its trial.
		jqe .passport_after "$d/check-pp-$id" >"$OUT/$id.via-$dst.passport.json" 2>/dev/null ||
			rm -f "$OUT/$id.via-$dst.passport.json"
	done
done

# Phase 2b: the chains' last hops, C loading what B sent on, C's cpregd
# judging the passport B's cpregd gave after the hop.
declare -A LAST
for c in "${chains[@]}"; do
	read -r a b c2 opts <<<"$c"
	LAST[$c2]="${LAST[$c2]:-}$(sid "$a" "$opts").via-$b $opts
"
done
for last in "${!LAST[@]}"; do
	[ "$COMPARE_ONLY" = 1 ] && break
	d=$OUT/last-$last
	mkdir -p "$d"
	files=()
	while read -r id opts; do
		[ -n "$id" ] || continue
		[ -f "$OUT/$id.st.gz" ] && files+=("$OUT/$id.st.gz")
		[ -f "$OUT/$id.passport.json" ] && files+=("$OUT/$id.passport.json")
		echo "load $id $MACHINE $(cpu_arg "$opts")"
		echo "check pp-$id $id.passport.json"
	done <<<"$(sort -u <<<"${LAST[$last]}")" >"$d.plan"
	cp "$d.plan" "$OUT/plan"
	hboot "$last" "$d" "$OUT/plan" "${files[@]}"
	ok $? "last hop $last (${H_CPU[$last]}, ${H_KREL[$last]} kernel, ${H_QREL[$last]} QEMU) boots, loads and checks passports"
	[ -f "$OUT/$last.json" ] || cp "$d/inventory" "$OUT/$last.json" 2>/dev/null
done

real_refused() { # the trace's decimal ids as hex
	sed -n 's/.*kvm_failed_reg_set Warning: Unable to set ONEREG \([0-9]*\) to KVM.*/\1/p' "$1" |
		while read -r v; do printf '0x%016x\n' "$v"; done | sort -u | paste -sd, - | sed 's/^$/-/'
}
# real_outcome LOAD DIR: what real QEMU did with a stream (the load-ID section
# LOAD of the host whose sections are in DIR): real, rres, rset and qerr.
real_outcome() {
	local qmaj
	real=$(sed -n 's/^result //p' "$1")
	[ "$real" = loaded ] && rres=compatible || rres=incompatible
	rset=$(real_refused "$1")
	# QEMU before 10.0 writes with a bare ioctl, no kvm_failed_reg_set: its refusals are not seen.
	qmaj=$(sed -n '1s/.*version \([0-9]*\)\..*/\1/p' "$2/qemu-version")
	[ "${qmaj:-0}" -ge 10 ] || rset="?"
	qerr=$(grep 'qemu-system-aarch64:' "$1" | grep -v 'is deprecated' | head -n 3 | sed 's/^qemu-system-aarch64: //' | paste -sd'|' -)
}
# expect LINE PROVENANCE: record the real outcome, or say where it moved on from the recording.
expect() {
	local key=${1%% compatible*} exp
	key=${key%% incompatible*}
	if [ "$RECORD" = 1 ]; then
		echo "$1 # $2" >>"$OUT/expected.new"
		return
	fi
	exp=$(grep "^$key " "$EXPECTED" 2>/dev/null | sed 's/ #.*//' | head -n 1)
	if [ -z "$exp" ]; then
		diag "  no recorded real outcome for this migration"
	elif [ "$exp" != "$1" ]; then
		diag "  the real outcome moved on from the recording: was '$exp' ($(grep "^$key " "$EXPECTED" | sed 's/.* # //'))"
	fi
}
# stream_cmp WHAT PASSPORT STREAM.gz: the passport's registers against the cpu
# section of the stream QEMU sent (tests/vmstate-cpregs decodes it).
stream_cmp() {
	local out=$OUT/cmp.$$ r
	if [ ! -f "$2" ]; then
		ok 1 "$1: a passport to compare ($2 missing)"
		return
	fi
	gunzip -c "$3" >"$out.st"
	"$top_builddir/tests/vmstate-cpregs" --passport "$2" "$out.st" >"$out" 2>&1
	r=$?
	ok $r "$1 equals what QEMU sent ($(tail -n 1 "$out"))"
	[ $r = 0 ] || head -n 20 "$out" | while read -r l; do diag "  $l"; done
	rm -f "$out" "$out.st"
}

# compare WHICH WHO VERDICT WHERE: one TAP line for a verdict against the real
# outcome ($rres, $rset of the pair in hand); counts agreements in
# agree_WHICH and agree_set_WHICH.  A disagreement listed in
# migrate-known-issues.txt ($todo) is reported as TODO.
compare() {
	local which=$1 who=$2 v=$3 where=$4 res set sok r t
	if ! jqe .result "$v" >/dev/null 2>&1; then
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
np_pp=0; agree_pp=0; agree_set_pp=0
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
	real_outcome "$load" "$d"
	prov="$(cat "$OUT/src-$src/kernel" 2>/dev/null)/$(sed -n '1s/.*version \([^ ]*\).*/\1/p' "$OUT/src-$src/qemu-version" 2>/dev/null) -> $(cat "$d/kernel")/$(sed -n '1s/.*version \([^ ]*\).*/\1/p' "$d/qemu-version")"
	line="$src $dst $opts $rres refused=$rset"
	diag "$name: real migration $real ($prov)${qerr:+: $qerr}"
	expect "$line" "$prov"

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
# The chains: the VM judged by its passport at each hop, and each passport
# against the stream QEMU actually sent (born: A's; after the hop: B's).
ctl=$top_builddir/daemon/cpregctl
for c in "${chains[@]}"; do
	read -r a b c2 opts <<<"$c"
	id=$(sid "$a" "$opts"); hid=$id.via-$b
	name="$a -> $b -> $c2"
	[ "$opts" = - ] || name="$name [$opts]"
	todo=""
	if [ ! -f "$OUT/$id.st.gz" ] || ! grep -q '^result ' "$OUT/dst-$b/load-$id" 2>/dev/null; then
		ok 1 "$name: the first hop ran (see $OUT/dst-$b/console.log)"
		continue
	fi
	stream_cmp "$name: the birth passport from $a's cpregd" "$OUT/$id.passport.json" "$OUT/$id.st.gz"
	# shellcheck disable=SC2046
	"$ctl" passport $(ctl_opts "$opts") "$OUT/$a.json" >"$OUT/$id.off.passport.json"
	ok $? "$name: cpregctl passport makes the birth passport offline"
	jqe --slurpfile d "$OUT/$id.passport.json" '(.registers == $d[0].registers) and (.options == $d[0].options)' \
		"$OUT/$id.off.passport.json" >/dev/null
	ok $? "$name: the offline birth passport has the registers and options of $a's cpregd's"
	# Hop 1, judged by B's cpregd from the birth passport.
	real_outcome "$OUT/dst-$b/load-$id" "$OUT/dst-$b"
	np_pp=$((np_pp + 1))
	compare pp "$b's cpregd on the birth passport" "$OUT/dst-$b/check-pp-$id" "$OUT/dst-$b/check-pp-$id"
	[ "$rres" = compatible ] || continue
	"$ctl" passport --hop "$OUT/$b.json" "$OUT/$id.off.passport.json" >"$OUT/$hid.off.passport.json"
	ok $? "$name: cpregctl passport --hop $b gives the passport after the hop"
	if [ ! -f "$OUT/$hid.st.gz" ]; then
		ok 1 "$name: $b sent the VM on (see $OUT/dst-$b/load-$id)"
		continue
	fi
	stream_cmp "$name: the passport after $b ($b's cpregd, read back after its trial)" "$OUT/$hid.passport.json" "$OUT/$hid.st.gz"
	stream_cmp "$name: the passport after $b (the kernel model, offline)" "$OUT/$hid.off.passport.json" "$OUT/$hid.st.gz"
	# Hop 2: what C did with the stream B sent, against the passports' verdicts.
	load=$OUT/last-$c2/load-$hid
	if ! grep -q '^result ' "$load" 2>/dev/null; then
		ok 1 "$name: the last hop ran (see $OUT/last-$c2/console.log)"
		continue
	fi
	np=$((np + 1))
	real_outcome "$load" "$OUT/last-$c2"
	prov="$(cat "$OUT/src-$a/kernel" 2>/dev/null)/$(sed -n '1s/.*version \([^ ]*\).*/\1/p' "$OUT/src-$a/qemu-version" 2>/dev/null) -> $(cat "$OUT/dst-$b/kernel")/$(sed -n '1s/.*version \([^ ]*\).*/\1/p' "$OUT/dst-$b/qemu-version") -> $(cat "$OUT/last-$c2/kernel")/$(sed -n '1s/.*version \([^ ]*\).*/\1/p' "$OUT/last-$c2/qemu-version")"
	diag "$name: real migration of the hop $b -> $c2 $real ($prov)${qerr:+: $qerr}"
	expect "$a>$b $c2 $opts $rres refused=$rset" "$prov"
	known=$(grep "^$a>$b $c2 $opts " "$KNOWN" 2>/dev/null | sed 's/^[^ ]* [^ ]* [^ ]* //' | head -n 1)
	todo=""; [ -n "$known" ] && todo=" # TODO known issue: $known"
	compare trial "$c2's cpregd on the passport after $b" "$OUT/last-$c2/check-pp-$hid" "$OUT/last-$c2/check-pp-$hid"
	o=$OUT/offline-$hid.json
	"$ctl" --json check "$OUT/$hid.off.passport.json" "$OUT/$c2.json" >"$o" 2>"$o.err"
	compare off "offline cpregctl on the passport after $b" "$o" "$o.err"
done
diag "peer judgements with NFD labels vs real QEMU migrations: $agree_peers/$n_peers"
diag "destinations' cpregd on chains' birth passports vs real QEMU: verdicts $agree_pp/$np_pp, refused registers $agree_set_pp/$np_pp"
diag "cpregd vs real QEMU migrations over $np pairs and last hops of chains: verdicts offline $agree_off/$np, with the trial $agree_trial/$np; refused registers offline $agree_set_off/$np, with the trial $agree_set_trial/$np"
echo "$np $agree_off $agree_trial $agree_set_off $agree_set_trial" >"$OUT/agreement"
if [ "$RECORD" = 1 ]; then
	{
		sed -n '/^#/p' "$EXPECTED" 2>/dev/null
		sort "$OUT/expected.new"
	} >"$OUT/expected.merged"
	# Keep recorded pairs that this run did not cover (the ci subset).
	grep -v '^#' "$EXPECTED" 2>/dev/null | while read -r s d o rest; do
		[ -n "$s" ] || continue
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
