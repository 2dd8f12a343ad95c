#!/bin/sh
# The whole test suite: builds the tree twice, plain and with
# AddressSanitizer + UndefinedBehaviorSanitizer, and runs every test in both;
# then, where clang with libFuzzer is installed, runs every fuzzing harness
# for FUZZ_SECONDS (default 60) each. This is README's command two and what
# CI runs (.ci/run): with CI=true, no libFuzzer is an error, found before
# anything is built, not a skip. The deploy tests (tests/deploy: the packages and units,
# and six store hosts in namespaces rolled from one version to the next)
# run in the plain build, as root; without root or the tools they need they
# say why and are reported as skipped (and why, after each run).
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
# --test-dir (CTest 3.20) and --output-junit (3.21) below; Debian 12 has 3.25.
ctest_version=$(ctest --version 2>/dev/null | awk 'NR == 1 { print $3 }')
if ! printf '3.21\n%s\n' "${ctest_version:-0}" | sort -C -V; then
	echo "test.sh: CTest ${ctest_version:-(none)} is older than 3.21, which this script needs: run deploy/install-deps.sh" >&2
	exit 1
fi
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
# CTest says only "***Skipped" of a skipped test: after each run, why, in
# the test's own words (the SKIPPED: lines it printed before exiting 77,
# else its last line), from the run's JUnit report (CTest 3.21 or later).
skip_reasons() {
	[ -f "$1/ctest-junit.xml" ] || return 0
	python3 - "$1/ctest-junit.xml" <<-'PY'
	import sys
	import xml.etree.ElementTree as ET
	for t in ET.parse(sys.argv[1]).getroot().iter("testcase"):
	    skipped = t.find("skipped")
	    if skipped is None:
	        continue
	    out = (t.findtext("system-out") or "").splitlines()
	    name = t.get("name")
	    why = [l[8:].strip() for l in out if l.startswith("SKIPPED:")] \
	        or out[-1:] or [skipped.get("message")]
	    for line in why:
	        print(f"skipped {name}: {line[len(name) + 2:] if line.startswith(name + ': ') else line}")
	PY
}
# ctest DIR [ctest options]: runs the tests of build DIR, then says why any
# was skipped, and fails as the run did.
run_ctest() {
	dir=$1
	shift
	rc=0
	ctest --test-dir "$dir" --output-on-failure -j 2 --output-junit ctest-junit.xml "$@" || rc=$?
	skip_reasons "$dir"
	return "$rc"
}
echo "== tests (plain build)"
run_ctest "$top/build"
echo "== tests (ASan + UBSan build)"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	run_ctest "$top/build-sanitize"
if [ $fuzz = yes ]; then
	echo "== fuzzing (${FUZZ_SECONDS:-60} s per harness)"
	"$top/tests/fuzz/run.sh" all "${FUZZ_SECONDS:-60}"
else
	echo "== fuzzing skipped: no clang with libFuzzer (deploy/install-deps.sh installs it)"
fi
