#!/bin/sh
# Runs libFuzzer harnesses: tests/fuzz/run.sh HARNESS|all SECONDS
# Builds them first (clang, FUZZ=ON) into $FUZZ_BUILD_DIR (default
# build-fuzz/), then runs each for SECONDS, one after another on one core,
# from its seed corpus (tests/fuzz/<harness>/, never written) plus a working
# corpus in the build tree that grows between runs. A crash, a leak or a
# broken invariant stops the harness and leaves the input in
# $FUZZ_BUILD_DIR/artifacts/: add it to tests/fuzz/<harness>/ once fixed, so
# the normal suite replays it (CTest fuzz_<harness>). Exit status 1 when any
# harness failed.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
all="hub_link hub_query agent_local agent_apply json_record csv"
if [ $# -ne 2 ]; then
	echo "usage: $0 HARNESS|all SECONDS (harnesses: $all)" >&2
	exit 2
fi
which=$1
secs=$2
[ "$which" = all ] && which=$all
dir=${FUZZ_BUILD_DIR:-$top/build-fuzz}
cmake -S "$top" -B "$dir" -DCMAKE_C_COMPILER=clang -DFUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$dir" -j 2 >/dev/null
mkdir -p "$dir/artifacts"
failed=""
for h in $which; do
	work="$dir/corpus/$h"
	mkdir -p "$work"
	dict=""
	[ -f "$top/tests/fuzz/$h.dict" ] && dict="-dict=$top/tests/fuzz/$h.dict"
	echo "== fuzz $h for ${secs}s"
	# tmpfs when there is one: every commit of the engines syncs.
	sbase=/tmp
	[ -w /dev/shm ] && sbase=/dev/shm
	scratch=$(mktemp -d "$sbase/ssfuzz-run.XXXXXX")
	if ! SS_FUZZ_SCRATCH=$scratch ASAN_OPTIONS=detect_leaks=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		"$dir/tests/fuzz/fuzz_$h" -max_total_time="$secs" -timeout=30 -rss_limit_mb=2048 \
		-max_len=65536 -use_value_profile=1 $dict -print_final_stats=1 -artifact_prefix="$dir/artifacts/$h-" \
		"$work" "$top/tests/fuzz/$h" >"$dir/fuzz-$h.log" 2>&1; then
		failed="$failed $h"
		tail -40 "$dir/fuzz-$h.log"
	fi
	rm -rf "$scratch"
	grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb|cov: " "$dir/fuzz-$h.log" | tail -3
done
if [ -n "$failed" ]; then
	echo "fuzzing failed:$failed (inputs in $dir/artifacts)" >&2
	exit 1
fi
