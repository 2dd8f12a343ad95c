#!/bin/sh
# Runs libFuzzer harnesses: tests/fuzz/run.sh HARNESS|all SECONDS
# Builds them first (clang, FUZZ=ON) into $FUZZ_BUILD_DIR (default
# build-fuzz/), then runs each for SECONDS on a core of its own, as many at
# once as there are cores ($FUZZ_JOBS to say otherwise; each harness is one
# process and one core), from its seed corpus (tests/fuzz/<harness>/, never written) plus a working
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
jobs=${FUZZ_JOBS:-$(nproc)}
case $jobs in
''|*[!0-9]*|0) echo "$0: FUZZ_JOBS must be a whole number of at least 1 (is '$jobs')" >&2; exit 2 ;;
esac
dir=${FUZZ_BUILD_DIR:-$top/build-fuzz}
cmake -S "$top" -B "$dir" -DCMAKE_C_COMPILER=clang -DFUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$dir" -j 2 >/dev/null
mkdir -p "$dir/artifacts"
# fuzz_one HARNESS: runs it for SECONDS, its output in fuzz-HARNESS.log and
# its exit status in fuzz-HARNESS.rc (none: it could not start).
fuzz_one() {
	h=$1
	work="$dir/corpus/$h"
	mkdir -p "$work"
	dict=""
	[ -f "$top/tests/fuzz/$h.dict" ] && dict="-dict=$top/tests/fuzz/$h.dict"
	# tmpfs when there is one: every commit of the engines syncs.
	sbase=/tmp
	[ -w /dev/shm ] && sbase=/dev/shm
	scratch=$(mktemp -d "$sbase/ssfuzz-run.XXXXXX")
	rc=0
	# shellcheck disable=SC2086 # $dict: no word, or one
	SS_FUZZ_SCRATCH=$scratch ASAN_OPTIONS=detect_leaks=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		"$dir/tests/fuzz/fuzz_$h" -max_total_time="$secs" -timeout=30 -rss_limit_mb=2048 \
		-max_len=65536 -use_value_profile=1 $dict -print_final_stats=1 -artifact_prefix="$dir/artifacts/$h-" \
		"$work" "$top/tests/fuzz/$h" >"$dir/fuzz-$h.log" 2>&1 || rc=$?
	rm -rf "$scratch"
	echo "$rc" >"$dir/fuzz-$h.rc"
}
# report HARNESS: its figures, and its log's end when it failed; fails then.
report() {
	rc=$(cat "$dir/fuzz-$1.rc" 2>/dev/null || echo "none: it did not start")
	echo "== fuzz $1 for ${secs}s: $([ "$rc" = 0 ] && echo passed || echo "FAILED (status $rc)")"
	[ "$rc" = 0 ] || tail -40 "$dir/fuzz-$1.log" 2>/dev/null || true
	grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb|cov: " "$dir/fuzz-$1.log" | tail -3 || true
	[ "$rc" = 0 ]
}
failed=""
# shellcheck disable=SC2086 # one word a harness
set -- $which
while [ $# -gt 0 ]; do
	group=""
	for _ in $(seq 1 "$jobs"); do
		[ $# -gt 0 ] || break
		rm -f "$dir/fuzz-$1.rc"
		fuzz_one "$1" &
		group="$group $1"
		shift
	done
	wait
	for h in $group; do
		report "$h" || failed="$failed $h"
	done
done
if [ -n "$failed" ]; then
	echo "fuzzing failed:$failed (inputs in $dir/artifacts)" >&2
	exit 1
fi
