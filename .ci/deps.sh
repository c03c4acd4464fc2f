#!/bin/sh
# Install the Debian packages wiresocket needs to build, test, demo and benchmark.
# Idempotent: installs only what is missing. Run as root (or via sudo).
set -e
PKGS="build-essential pkg-config clang libclang-rt-14-dev \
libsodium-dev libb2-dev libmnl-dev libinih-dev libcunit1-dev libjansson-dev libseccomp-dev \
mandoc iproute2 iputils-ping nftables iperf3 socat procps bc jq python3"
# make deb / deb-check: the package build (its Build-Depends), its lint, and what
# installing it needs (it Depends on adduser, which a minimal Debian lacks).
PKGS="$PKGS debhelper lintian adduser"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "deps: installing$missing"
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing
