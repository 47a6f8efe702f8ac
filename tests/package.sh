#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
#
# The Debian package from a clean copy of the tree: dpkg-buildpackage -us
# -uc -b, lintian over the result (no error, no warning that is not
# overridden with a reason in debian/*.lintian-overrides), and what an
# operator relies on in the .debs: the programs, units, sysusers file, man
# pages, completion and docs in cpregd; the socket enabled and the service
# left to socket activation by the maintainer scripts; the user created
# through systemd-sysusers; the library's symbols file matching what the
# version script exports; systemd-analyze security on the unit as shipped.
set -u
: "${top_srcdir:?}" "${top_builddir:?}"
T=$(mktemp -d /tmp/cpregd-deb.XXXXXX)
trap 'rm -rf "$T"' EXIT
. "$top_srcdir/tests/tap.sh"

for tool in dpkg-buildpackage lintian dh; do
	command -v "$tool" >/dev/null || { echo "1..0 # SKIP $tool is not installed (tests/install-deps.sh installs it)"; exit 0; }
done

# A clean checkout: the files git tracks (the working tree's contents, so an
# uncommitted debian/ change is tested too), or the tree without build output.
src=$T/cpregd-0.1.0
mkdir -p "$src"
if git -C "$top_srcdir" rev-parse --git-dir >/dev/null 2>&1; then
	(cd "$top_srcdir" && git ls-files -z --cached --others --exclude-standard | xargs -0 tar cf - --no-recursion) | tar xf - -C "$src"
else
	(cd "$top_srcdir" && tar cf - --exclude='./build*' --exclude=./.git .) | tar xf - -C "$src"
fi
# Not the make that runs this test: its MAKEFLAGS (TESTS=tests/package.sh) would run this test again inside the build.
(cd "$src" && env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS dpkg-buildpackage -us -uc -b) >"$T/build.log" 2>&1
ok $? "dpkg-buildpackage -us -uc -b builds from a clean copy ($(tail -n 1 "$T/build.log"))"
[ -s "$T/build.log" ] && grep -E 'dpkg-gensymbols|error|warning: ' "$T/build.log" | grep -v '^checking\|Werror' | head -n 20 | sed 's/^/# /'
debs=$(ls "$T"/*.deb 2>/dev/null | sed 's|.*/||' | sed 's/_.*//' | sort | paste -sd' ' -)
ok "$([ "$debs" = "cpregd cpregd-dbgsym libcpreg-dev libcpreg0 libcpreg0-dbgsym" ] || [ "$debs" = "cpregd libcpreg-dev libcpreg0" ]; echo $?)" \
	"binary packages cpregd, libcpreg0, libcpreg-dev ($debs)"

lintian --fail-on error,warning --display-info --profile debian "$T"/*.changes >"$T/lintian.log" 2>&1
rc=$?
sed 's/^/# /' "$T/lintian.log" | head -n 40
ok $rc "lintian: no error and no warning ($(grep -c '^[EW]:' "$T/lintian.log") E/W lines; overrides in debian/ carry their reason)"

deb() { ls "$T/$1"_*.deb 2>/dev/null | head -n 1; }
dpkg-deb -c "$(deb cpregd)" | awk '{print $NF}' | sed 's|^\./|/|' >"$T/cpregd.list"
missing=0
for f in /usr/sbin/cpregd /usr/bin/cpregctl /usr/share/man/man8/cpregd.8.gz /usr/share/man/man1/cpregctl.1.gz \
	/usr/share/bash-completion/completions/cpregctl /usr/lib/sysusers.d/cpregd.conf \
	/usr/share/doc/cpregd/fleet.md; do
	grep -qxE "$f(.gz)?" "$T/cpregd.list" || { diag "missing in cpregd: $f"; missing=1; }
done
for u in cpregd.socket cpregd.service cpregd-qemu.path cpregd-reprobe.service; do
	grep -qE "/lib/systemd/system/$u\$" "$T/cpregd.list" || { diag "missing in cpregd: $u"; missing=1; }
done
grep -qE '/lib/systemd/system-generators/cpregd-generator$' "$T/cpregd.list" || { diag "missing in cpregd: the generator"; missing=1; }
grep -qx /etc/libvirt/hooks/qemu.d/cpregd "$T/cpregd.list" || { diag "missing in cpregd: the libvirt hook"; missing=1; }
dpkg-deb -I "$(deb cpregd)" conffiles 2>/dev/null | grep -qx /etc/libvirt/hooks/qemu.d/cpregd || { diag "the libvirt hook is no conffile"; missing=1; }
dpkg-deb -f "$(deb cpregd)" Depends Recommends | grep -q libvirt && { diag "libvirt must stay a suggestion"; missing=1; }
ok $missing "cpregd ships the daemon, cpregctl, its units, the generator, the libvirt hook (a conffile; libvirt only suggested), the sysusers file, man pages, completion and docs"
# The test double stays in the test builds (tests/README): nothing of the replay backend is packaged.
mkdir -p "$T/bin" && dpkg-deb -x "$(deb cpregd)" "$T/bin"
! grep -q tests/cpregd "$T/cpregd.list" && ! strings "$T/bin/usr/sbin/cpregd" "$T/bin/usr/bin/cpregctl" | grep -qi replay
ok $? "the packaged cpregd and cpregctl carry no replay backend, and no test program is packaged"
mkdir -p "$T/ctl" && dpkg-deb -e "$(deb cpregd)" "$T/ctl"
grep -q 'systemd-sysusers.*cpregd.conf' "$T/ctl/postinst"
ok $? "postinst creates the cpregd user and group with systemd-sysusers"
# What a fresh install enables: the block debhelper runs unconditionally
# ("was-enabled defaults to true"); the service appears only in the blocks
# guarded by debian-installed (keeping an operator's own choice on upgrade).
fresh=$(grep -A6 'was-enabled defaults to true' "$T/ctl/postinst")
echo "$fresh" | grep -q "enable 'cpregd.socket'" && ! echo "$fresh" | grep -q "cpregd.service"
ok $? "postinst enables cpregd.socket on a fresh install, not the service (socket activation)"
grep -q "deb-systemd-helper enable 'cpregd-qemu.path'" "$T/ctl/postinst" && grep -q "deb-systemd-invoke \$_dh_action .*'cpregd-qemu.path'" "$T/ctl/postinst"
ok $? "  and enables and starts cpregd-qemu.path (re-probe when QEMU is upgraded)"
grep -q "deb-systemd-invoke \$_dh_action .*'cpregd.socket'" "$T/ctl/postinst" &&
	! grep -q "deb-systemd-invoke \$_dh_action .*'cpregd.service'" "$T/ctl/postinst"
ok $? "  and starts the socket only: the service starts with the first request"
grep -q 'rm -rf /var/lib/cpregd' "$T/ctl/postrm" && grep -B3 'rm -rf /var/lib/cpregd' "$T/ctl/postrm" | grep -q purge
ok $? "postrm deletes /var/lib/cpregd on purge only (remove and upgrade keep the state)"

mkdir -p "$T/lib" && dpkg-deb -e "$(deb libcpreg0)" "$T/lib"
# The exported names: what lib/libcpreg.sym lets out of the library as packaged.
mkdir -p "$T/libroot" && dpkg-deb -x "$(deb libcpreg0)" "$T/libroot"
nm -D --defined-only "$(find "$T/libroot" -name 'libcpreg.so.0.*' | head -n 1)" | awk '$2 == "T" {sub(/@.*/, "", $3); print $3}' | sort >"$T/exported"
sed -n 's/^ \([a-z_0-9]*\)@LIBCPREG_0.1 .*/\1/p' "$T/lib/symbols" | sort >"$T/symbols"
ok "$([ -s "$T/symbols" ] && diff -u "$T/exported" "$T/symbols" >&2; echo $?)" \
	"libcpreg0's symbols file lists exactly the $(wc -l <"$T/exported") functions the library exports (version LIBCPREG_0.1)"
dpkg-deb -c "$(deb libcpreg-dev)" | grep -q '/usr/include/cpreg.h$' && dpkg-deb -c "$(deb libcpreg-dev)" | grep -q 'pkgconfig/libcpreg.pc$'
ok $? "libcpreg-dev ships cpreg.h and libcpreg.pc"

if command -v systemd-analyze >/dev/null; then
	mkdir -p "$T/root" && dpkg-deb -x "$(deb cpregd)" "$T/root"
	unit=$(find "$T/root" -name cpregd.service | head -n 1)
	(cd "$(dirname "$unit")" && systemd-analyze security --offline=yes --no-pager ./cpregd.service) >"$T/sec" 2>&1
	rc=$?
	score=$(sed -n 's/.*Overall exposure level for cpregd.service: \([0-9.]*\) \([A-Z]*\).*/\1 \2/p' "$T/sec")
	ok "$([ $rc = 0 ] && [ -n "$score" ]; echo $?)" "systemd-analyze security --offline on the unit as shipped: $score"
fi
done_testing
