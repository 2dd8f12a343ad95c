#!/bin/sh
# The whole test suite: builds the tree twice, plain and with
# AddressSanitizer + UndefinedBehaviorSanitizer, and runs every test in both;
# then, where clang with libFuzzer is installed, runs every fuzzing harness
# for FUZZ_SECONDS (default 60) each. This is README's command two and what
# CI runs (.ci/run): with CI=true, no libFuzzer is an error, found before
# anything is built, not a skip. The deploy tests (tests/deploy: the packages and units,
# and six store hosts in namespaces rolled from one version to the next)
# run in the plain build, as root; without root or the tools they need they
# say why and are reported as skipped.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
# libFuzzer ships with clang's runtime (Debian: clang, libclang-rt-14-dev);
# the plain build never needs it.
fuzz=no
if command -v clang >/dev/null && echo 'int LLVMFuzzerTestOneInput(const char *d, long n)
{ (void)d; (void)n; return 0; }' | clang -x c -fsanitize=fuzzer -o /dev/null - 2>/dev/null; then
	fuzz=yes
elif [ "${CI:-}" = true ]; then
	echo "test.sh: CI=true and no clang with libFuzzer: run deploy/install-deps.sh (clang, libclang-rt-14-dev)" >&2
	exit 1
fi
BUILD_DIR=$top/build "$top/deploy/build.sh"
BUILD_DIR=$top/build-sanitize "$top/deploy/build.sh" -DSANITIZE=ON
echo "== tests (plain build)"
ctest --test-dir "$top/build" --output-on-failure -j 2
echo "== tests (ASan + UBSan build)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	ctest --test-dir "$top/build-sanitize" --output-on-failure -j 2
if [ $fuzz = yes ]; then
	echo "== fuzzing (${FUZZ_SECONDS:-60} s per harness)"
	"$top/tests/fuzz/run.sh" all "${FUZZ_SECONDS:-60}"
else
	echo "== fuzzing skipped: no clang with libFuzzer (deploy/install-deps.sh installs it)"
fi
