#!/bin/sh
# The whole test suite: builds the tree twice, plain and with
# AddressSanitizer + UndefinedBehaviorSanitizer, and runs every test in both.
# This is README's command two and what CI runs (.ci/run).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=$top/build "$top/deploy/build.sh"
BUILD_DIR=$top/build-sanitize "$top/deploy/build.sh" -DSANITIZE=ON
echo "== tests (plain build)"
ctest --test-dir "$top/build" --output-on-failure -j 2
echo "== tests (ASan + UBSan build)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ctest --test-dir "$top/build-sanitize" --output-on-failure -j 2
