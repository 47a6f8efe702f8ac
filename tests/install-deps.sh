#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Install what building, testing and the emulated-host test bed need, on
# Debian 12 or later, from the machine's configured apt sources.
set -eu
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
	build-essential autoconf automake libtool pkg-config clang \
	libjson-c-dev libevent-dev libsystemd-dev libhttp-parser-dev nettle-dev zlib1g-dev nginx-light \
	libxml2-dev libxml2-utils libvirt-dev curl systemd util-linux bc cpio file jq python3-jsonschema python3-yaml time prometheus \
	qemu-system-arm gcc-aarch64-linux-gnu libc6-dev-arm64-cross iproute2 \
	debhelper dpkg-dev fakeroot lintian debootstrap qemu-utils e2fsprogs xz-utils \
	ca-certificates >/dev/null
