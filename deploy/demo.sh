#!/bin/sh
# README's command one: installs what is missing, builds, and runs the demo:
# a hub and three store agents on this machine, each fed a mixed business day
# through `storectl submit`, until `hqctl stores` shows every store caught up.
# Usage: deploy/demo.sh [RECORDS_PER_STORE]   (default 5000)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-5000}
"$top/deploy/build.sh"
bin=$top/build
run=$(mktemp -d /tmp/storesync-demo.XXXXXX)
pids=""
cleanup() {
	# shellcheck disable=SC2086
	[ -n "$pids" ] && kill $pids 2>/dev/null && wait 2>/dev/null
	echo "demo files (logs, data) kept in $run"
}
trap cleanup EXIT INT TERM

hubq=ipc://$run/hubq.sock
"$bin/hq-hub" --foreground --data-dir "$run/hub" --listen "ipc://$run/hub.sock" \
	--query "$hubq" 2>"$run/hub.log" &
pids="$pids $!"
for s in S001 S002 S003; do
	"$bin/store-agent" --store-id $s --data-dir "$run/$s" --hub "ipc://$run/hub.sock" \
		--local "ipc://$run/$s.sock" 2>"$run/$s.log" &
	pids="$pids $!"
done
sleep 1

echo "== each store submits a business day of $n records (storectl submit)"
seed=1
for s in S001 S002 S003; do
	"$bin/ss-gen" --store $s --records "$n" --seed $seed --expect "$run/$s.expect" >"$run/$s.jsonl"
	printf '%s: ' $s
	"$bin/storectl" --agent "ipc://$run/$s.sock" submit "$run/$s.jsonl"
	seed=$((seed + 1))
done

echo "== one store's agent (storectl status)"
"$bin/storectl" --agent "ipc://$run/S001.sock" status

echo "== waiting for the hub to hold every record"
for i in $(seq 1 100); do
	caught=0
	for s in S001 S002 S003; do
		want=$(sed 's/.*"records":\([0-9]*\).*/\1/' "$run/$s.expect")
		got=$("$bin/hqctl" --hub "$hubq" stores --csv | awk -F, -v s=$s '$1==s {print $4}')
		[ "${got:-0}" -ge "$want" ] && caught=$((caught + 1))
	done
	[ $caught -eq 3 ] && break
	sleep 0.2
done
sleep 2   # one heartbeat, so the backlog column shows the agents' word too

echo "== hqctl stores"
"$bin/hqctl" --hub "$hubq" stores
echo "== expected (computed by the generator)"
for s in S001 S002 S003; do printf '%s %s\n' $s "$(cat "$run/$s.expect")"; done
[ $caught -eq 3 ] || { echo "demo: not every store caught up" >&2; exit 1; }
echo "demo: every store caught up"
