#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Regenerate tests/data/dumps/*.json from ../shared/data/reg-dumps/*.txt
# with tests/dump2json.  Usage: tests/convert-dumps.sh BUILDDIR [DUMPDIR]
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: convert-dumps.sh BUILDDIR [DUMPDIR]}
dumps=${2:-$top/../shared/data/reg-dumps}
mkdir -p "$top/tests/data/dumps"
for d in "$dumps"/*.txt; do
	name=$(basename "$d" .txt)
	"$build/tests/dump2json" "$d" "$name.txt" >"$top/tests/data/dumps/$name.json"
	echo "tests/data/dumps/$name.json"
done
