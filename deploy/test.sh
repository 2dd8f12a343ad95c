#!/bin/sh
# The whole test suite: builds the tree twice, plain and with
# AddressSanitizer + UndefinedBehaviorSanitizer, and runs every test in both;
# then, where clang with libFuzzer is installed, runs every fuzzing harness
# for FUZZ_SECONDS (default 60) each. This is README's command two and what
# CI runs (.ci/run). The deploy tests (tests/deploy: the packages and units,
# and six store hosts in namespaces rolled from one version to the next)
# run in the plain build, as root; without root or the tools they need they
# say why and are reported as skipped.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
BUILD_DIR=$top/build "$top/deploy/build.sh"
BUILD_DIR=$top/build-sanitize "$top/deploy/build.sh" -DSANITIZE=ON
echo "== tests (plain build)"
ctest --test-dir "$top/build" --output-on-failure -j 2
echo "== tests (ASan + UBSan build)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ctest --test-dir "$top/build-sanitize" --output-on-failure -j 2
# libFuzzer ships with clang's runtime (Debian: clang, libclang-rt-14-dev);
# the plain build never needs it.
if command -v clang >/dev/null && echo 'int LLVMFuzzerTestOneInput(const char *d, long n)
{ (void)d; (void)n; return 0; }' | clang -x c -fsanitize=fuzzer -o /dev/null - 2>/dev/null; then
	echo "== fuzzing (${FUZZ_SECONDS:-60} s per harness)"
	"$top/tests/fuzz/run.sh" all "${FUZZ_SECONDS:-60}"
else
	echo "== fuzzing skipped: no clang with libFuzzer (deploy/install-deps.sh installs it)"
fi
