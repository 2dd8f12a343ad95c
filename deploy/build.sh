#!/bin/sh
# Configures and builds storesync into DIR (default build/), installing
# missing Debian packages first. Extra arguments go to cmake.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
dir=${BUILD_DIR:-$top/build}
"$top/deploy/install-deps.sh"
cmake -S "$top" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
cmake --build "$dir" -j "$(nproc)"
