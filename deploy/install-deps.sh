#!/bin/sh
# Installs the Debian 12 packages storesync needs to build and test, when
# some are missing. Runs apt-get only if something is absent. (clang and its
# runtime are for the fuzzing harnesses only, tests/fuzz; the build is gcc.
# PostgreSQL 15 is started by the export tests, chromium loads the status
# page in a test, prometheus brings promtool, which checks docs/monitoring.md's
# rules and the /metrics format.)
set -eu
PKGS="build-essential cmake pkg-config libzmq3-dev libmicrohttpd-dev libpq-dev postgresql-15
chromium prometheus curl libprotobuf-c-dev protobuf-c-compiler
liblmdb-dev lmdb-utils check libsubunit-dev libjansson-dev libinih-dev uthash-dev libsodium-dev libcsv-dev
clang libclang-rt-14-dev"
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing" >&2
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: run as root (or install:$missing)" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
