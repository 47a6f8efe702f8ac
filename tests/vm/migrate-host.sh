# SPDX-License-Identifier: GPL-2.0-or-later
# Run inside an emulated host (sourced by /init, see run-vm.sh) that carries
# a real qemu-system-aarch64 (CPREG_VM_QEMU): real QEMU saves and loads
# migration streams on real KVM, and cpregd, which finds that QEMU and reads
# its version, exports this host's inventory and checks sources against it.
#
# /data/plan, one step a line:
#   save ID MACHINE CPU          start QEMU -S, migrate "exec:cat > FILE", print
#                                the stream (gzip, base64) as section state-ID
#   load ID MACHINE CPU          load /data/ID.st.gz with -incoming; section
#                                load-ID says "result loaded|failed" and QEMU's
#                                own lines (errors, kvm_failed_reg_set trace)
#   relay ID MACHINE CPU         a hop in a chain: load /data/ID.st.gz as load
#                                does, resume the VM, and migrate it on ("exec:cat
#                                > FILE"): section relay-ID is the stream QEMU
#                                sent on (gzip, base64)
#   check ID FILE [OPTION...]    cpregctl check FILE (an inventory or a passport)
#                                through this host's cpregd (with the trial),
#                                options as cpregctl takes them
#   passport ID [OPTION...]      the passport this host's cpregd gives a VM born
#                                here with those options (GET /v1/passport)
#   peers                        a second cpregd with /data/*.json (the sources'
#                                inventories) as its peers directory and an NFD
#                                file; once every source is judged, sections
#                                peers (cpreg-peers/1) and nfd (the labels)
# MACHINE is a versioned virt machine type (virt-7.2), shared by both ends of
# a migration across QEMU versions; CPU is "host" plus the VM's options
# ("host,kvm-psci-version=1.1", "host,pmu=off").
QEMU_COMMON="-accel kvm -m 64 -smp 1 -S -nodefaults -display none -monitor stdio"

# qemu_start LOG ARGS...: QEMU with its HMP monitor on a FIFO (fd 3 writes to it)
qemu_start() {
	log=$1; shift
	rm -f /tmp/mon; mkfifo /tmp/mon
	# shellcheck disable=SC2086
	qemu-system-aarch64 $QEMU_COMMON "$@" </tmp/mon >"$log" 2>&1 &
	qpid=$!
	exec 3>/tmp/mon
}
# qemu_wait TEST COMMAND: send COMMAND every half second until the shell
# function TEST succeeds on the log or QEMU exits; 0 when TEST succeeded.
# Emulated hosts are slow: wait up to 5 minutes.
qemu_wait() {
	n=0
	while [ $n -lt 600 ]; do
		$1 && return 0
		kill -0 "$qpid" 2>/dev/null || { $1; return; }
		echo "$2" >&3 2>/dev/null
		sleep 0.5
		n=$((n + 1))
	done
	return 1
}
qlog() { tr -d '\r' <"$log" | grep -v '^(qemu)'; }
# "info migrate" says "Migration status: completed" up to QEMU 10.x, "Status: completed" since.
migrate_done() { qlog | grep -qE '[Ss]tatus:.*(completed|failed)'; }
# After the load, "info status" no longer says inmigrate ("paused (prelaunch)").
load_done() { qlog | grep 'VM status:' | grep -qv inmigrate; }
qemu_stop() {
	echo quit >&3 2>/dev/null
	exec 3>&-
	wait "$qpid"
	echo "exit $?"
}

qsave() { # ID MACHINE CPU
	qemu_start "/tmp/save-$1.log" -M "$2,gic-version=3" -cpu "$3"
	echo "migrate \"exec:cat > /tmp/$1.st\"" >&3
	if qemu_wait migrate_done 'info migrate' && qlog | grep -qE '[Ss]tatus:.*completed'; then
		res=saved
	else
		res=failed
	fi
	qemu_stop >>"$log"
	echo "result $res"
	qlog | grep -E 'qemu-system-aarch64:|kvm_failed_reg_set|^exit '
}

qload() { # ID MACHINE CPU
	gunzip -c "/data/$1.st.gz" >/tmp/in.st || { echo "result failed"; echo "no stream /data/$1.st.gz"; return; }
	qemu_start "/tmp/load-$1.log" -M "$2,gic-version=3" -cpu "$3" -incoming "exec:cat /tmp/in.st" \
		-trace kvm_failed_reg_set
	# Loaded: "info status" no longer says inmigrate; failed: QEMU exits.
	if qemu_wait load_done 'info status'; then
		res=loaded
	else
		res=failed
	fi
	qemu_stop >>"$log"
	echo "result $res"
	qlog | grep -E 'qemu-system-aarch64:|kvm_failed_reg_set|^exit '
}

# A hop in a chain: load as qload does; once loaded, resume the VM ("loaded
# and resumed on B") and migrate it on to /tmp/out.st, what the next host loads.
qrelay() { # ID MACHINE CPU
	rm -f /tmp/out.st
	gunzip -c "/data/$1.st.gz" >/tmp/in.st || { echo "result failed"; echo "no stream /data/$1.st.gz"; return; }
	qemu_start "/tmp/load-$1.log" -M "$2,gic-version=3" -cpu "$3" -incoming "exec:cat /tmp/in.st" \
		-trace kvm_failed_reg_set
	if qemu_wait load_done 'info status'; then
		res=loaded
		echo cont >&3
		echo "migrate \"exec:cat > /tmp/out.st\"" >&3
		qemu_wait migrate_done 'info migrate' && qlog | grep -qE '[Ss]tatus:.*completed' || rm -f /tmp/out.st
	else
		res=failed
	fi
	qemu_stop >>"$log"
	echo "result $res"
	qlog | grep -E 'qemu-system-aarch64:|kvm_failed_reg_set|^exit '
	[ "$res" = failed ] || [ -f /tmp/out.st ] || echo "relay: the migration on did not complete"
}

qpeers() {
	mkdir -p /tmp/peers /tmp/nfd /tmp/pstate
	cp /data/*.json /tmp/peers/ 2>/dev/null
	cpregd --socket /run/cpregd-peers.sock --state-dir /tmp/pstate --timeout 300 --peers /tmp/peers \
		--nfd-file /tmp/nfd/cpregd >/tmp/cpregd-peers.log 2>&1 &
	ppid=$!
	n=0
	# Every source judged with the trial: pending 0 (up to 10 minutes on an emulated host).
	until cpregctl --timeout 600 -s /run/cpregd-peers.sock --json peers 2>/dev/null | grep -Eq '"pending": ?0[^0-9]'; do
		[ $n -ge 1200 ] && break
		sleep 0.5; n=$((n + 1))
	done
	section peers cpregctl --timeout 600 -s /run/cpregd-peers.sock --json peers
	section nfd cat /tmp/nfd/cpregd
	kill -TERM $ppid
	wait $ppid
	section peers-log cat /tmp/cpregd-peers.log
}

busybox --install -s /bin 2>/dev/null
cpregd --socket /run/cpregd.sock --state-dir /var/lib/cpregd --timeout 300 >/tmp/cpregd.log 2>&1 &
cpid=$!
i=0
while [ ! -S /run/cpregd.sock ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
section qemu-version qemu-system-aarch64 --version
section inventory cpregctl --timeout 600 -s /run/cpregd.sock inventory
while read -r step id a b rest; do
	case $step in
	save)
		section "save-$id" qsave "$id" "$a" "$b"
		[ -f "/tmp/$id.st" ] && section "state-$id" sh -c "gzip -9 -c /tmp/$id.st | base64"
		rm -f "/tmp/$id.st"
		;;
	load)
		section "load-$id" qload "$id" "$a" "$b"
		;;
	relay)
		section "load-$id" qrelay "$id" "$a" "$b"
		[ -f /tmp/out.st ] && section "relay-$id" sh -c "gzip -9 -c /tmp/out.st | base64"
		rm -f /tmp/out.st
		;;
	peers)
		qpeers
		;;
	passport)
		# shellcheck disable=SC2086
		section "passport-$id" cpregctl --timeout 600 -s /run/cpregd.sock $a $b $rest passport
		;;
	check)
		# shellcheck disable=SC2086
		section "check-$id" cpregctl --timeout 600 -s /run/cpregd.sock --json $b $rest check "/data/$a"
		;;
	esac
done </data/plan
kill -TERM $cpid
wait $cpid
section log cat /tmp/cpregd.log
