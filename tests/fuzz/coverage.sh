#!/bin/sh
# Line coverage of what each fuzzing harness targets, from its corpus:
# tests/fuzz/coverage.sh [HARNESS...]  (default: all; after tests/fuzz/run.sh)
# Builds the replay drivers (tests/fuzz/replay.c) with clang's source-based
# coverage into $COV_BUILD_DIR (default build-cov/), replays the seeds and
# what run.sh learnt ($FUZZ_BUILD_DIR/corpus/HARNESS), and prints one line per
# harness: inputs replayed, then lines covered of the files it targets (the
# door's own code, not the libraries it reaches). docs/testing.md's table
# "Fuzzing: what a 60 s run covers" is this script's output.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
dir=${COV_BUILD_DIR:-$top/build-cov}
corpus=${FUZZ_BUILD_DIR:-$top/build-fuzz}/corpus
all="hub_link hub_query agent_local agent_apply json_record csv"
[ $# -gt 0 ] && all="$*"
targets() {
	case $1 in
	hub_link) echo hq-hub/hub_writer.c hq-hub/hub_link.c hq-hub/hub_handle_hello.c \
		hq-hub/hub_handle_batch.c hq-hub/hub_handle_heartbeat.c \
		hq-hub/hub_handle_update_ack.c common/ss_proto.c ;;
	hub_query) echo hq-hub/hub_query_server.c hq-hub/hub_query.c hq-hub/hub_op.c \
		hq-hub/hub_op_keys.c hq-hub/hub_op_policy.c hq-hub/hub_op_price.c \
		hq-hub/hub_op_replenish.c hq-hub/hub_op_store.c ;;
	agent_local) echo store-agent/agent_local.c store-agent/agent_requests.c \
		store-agent/agent_submit.c store-agent/agent_enforce.c ;;
	agent_apply) echo store-agent/agent_apply.c store-agent/agent_prices.c \
		store-agent/agent_dated.c ;;
	json_record) echo common/ss_json.c common/ss_validate.c ;;
	csv) echo common/ss_csv.c ;;
	esac
}
cmake -S "$top" -B "$dir" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
	-DCMAKE_C_FLAGS="-fprofile-instr-generate -fcoverage-mapping" \
	-DCMAKE_EXE_LINKER_FLAGS="-fprofile-instr-generate" >/dev/null
for h in $all; do
	cmake --build "$dir" -j 2 --target "fuzz_replay_$h" >/dev/null
done
printf '%-12s %8s %s\n' harness inputs "covered: files"
for h in $all; do
	sbase=/tmp
	[ -w /dev/shm ] && sbase=/dev/shm
	scratch=$(mktemp -d "$sbase/ssfuzz-cov.XXXXXX")
	rm -f "$dir/$h".*.profraw
	set -- "$top/tests/fuzz/$h"
	[ -d "$corpus/$h" ] && set -- "$@" "$corpus/$h"
	n=$(find "$@" -type f | wc -l)
	SS_FUZZ_SCRATCH=$scratch LLVM_PROFILE_FILE="$dir/$h.%p.profraw" \
		"$dir/tests/fuzz/fuzz_replay_$h" "$@" >/dev/null 2>&1
	rm -rf "$scratch"
	llvm-profdata merge -sparse "$dir/$h".*.profraw -o "$dir/$h.profdata"
	files=""
	for f in $(targets "$h"); do files="$files $top/$f"; done
	# shellcheck disable=SC2086
	llvm-cov report "$dir/tests/fuzz/fuzz_replay_$h" -instr-profile="$dir/$h.profdata" \
		$files >"$dir/$h.report"
	# TOTAL ... lines, missed lines, cover, branches, missed branches, cover
	total=$(awk '$1 == "TOTAL" { print $(NF-5) - $(NF-4) " of " $(NF-5) " lines (" $(NF-3) \
		"), branches " $NF }' "$dir/$h.report")
	printf '%-12s %8s %s: %s\n' "$h" "$n" "$total" "$(targets "$h" | sed 's|[^ ]*/||g')"
done
