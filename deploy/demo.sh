#!/bin/sh
# README's command one: installs what is missing, builds, and runs the demo:
# a hub and three store agents on this machine, each fed the weeks before and
# a mixed business day through `storectl submit`, until `hqctl stores` shows
# every store caught up. Then store S003 falls silent, and the demo ends with
# what HQ watches (`hqctl stale`: stale accounts, the silent store, overdue
# complaints), a sales summary, the receivables' aging, and HQ's decisions
# flowing down: a price list for one region, a policy for all, the rollout
# status, a till's price lookup at S001 (storectl price) and the audit log
# (every operator write). The build shows only its errors. Every link is
# CurveZMQ, as in production: the hub and each store have their key pair
# (keygen), each store is registered with its public key before it starts,
# and an operator with a read-only key looks at the fleet over the hub's
# Curve endpoint; the demo's admin commands use the hub's local admin socket.
# Usage: deploy/demo.sh [RECORDS_PER_STORE]   (default 5000)
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-5000}
echo "== building into $top/build (deploy/build.sh; only errors are shown)"
"$top/deploy/build.sh" >/dev/null || { echo "demo: the build failed (errors above)" >&2; exit 1; }
bin=$top/build
run=$(mktemp -d /tmp/storesync-demo.XXXXXX)
pids=""
cleanup() {
	# shellcheck disable=SC2086
	[ -n "$pids" ] && kill $pids 2>/dev/null && wait 2>/dev/null
	echo "demo files (logs, data) kept in $run"
}
trap cleanup EXIT INT TERM

keys=$run/keys
mkdir -m 700 "$keys"
hubq=ipc://$run/hub-admin.sock   # admins on the hub's host: file permissions
ops=ipc://$run/hubq.sock          # operators anywhere: CurveZMQ, their own key
echo "== keys: the hub's, one per store, one for an operator (keygen)"
"$bin/hq-hub" keygen "$keys/hub.key"
for s in S001 S002 S003; do "$bin/store-agent" keygen "$keys/$s.key" >/dev/null; done
"$bin/hqctl" keygen "$keys/alice.key" >/dev/null
start_hub() { # $1: test clock offset in ms (docs/testing.md)
	"$bin/hq-hub" --foreground --data-dir "$run/hub" --listen "ipc://$run/hub.sock" \
		--query "$ops" --admin "$hubq" --admin-group "" --curve-key "$keys/hub.key" \
		--clock-offset-ms "$1" 2>>"$run/hub.log" &
	hubpid=$!
	pids="$pids $hubpid"
	for _ in $(seq 1 50); do
		"$bin/hqctl" --hub "$hubq" --timeout 1 stats >/dev/null 2>&1 && return 0
		sleep 0.1
	done
	echo "demo: the hub did not start (see $run/hub.log)" >&2
	exit 1
}
# So that a store can fall silent for 40 minutes without the demo waiting
# for them, the hub first runs with its clock 40 minutes back.
start_hub -2400000
echo "== HQ registers its stores with their public keys, and a read-only operator"
"$bin/hqctl" --hub "$hubq" store add S001 --key "$keys/S001.key.pub" --name Chaoyang \
	--region north
"$bin/hqctl" --hub "$hubq" store add S002 --key "$keys/S002.key.pub" --name Haidian \
	--region north
"$bin/hqctl" --hub "$hubq" store add S003 --key "$keys/S003.key.pub" --name Pudong \
	--region east
"$bin/hqctl" --hub "$hubq" operator add alice --key "$keys/alice.key.pub" --role read
for s in S001 S002 S003; do
	"$bin/store-agent" --store-id $s --data-dir "$run/$s" --hub "ipc://$run/hub.sock" \
		--local "ipc://$run/$s.sock" --curve-key "$keys/$s.key" \
		--hub-key "$keys/hub.key.pub" 2>"$run/$s.log" &
	pids="$pids $!"
	eval "pid_$s=$!"
done
sleep 1

echo "== each store submits a business day of $n records (storectl submit)"
seed=1
for s in S001 S002 S003; do
	"$bin/ss-gen" --store $s --records "$n" --seed $seed --history --expect "$run/$s.expect" \
		>"$run/$s.jsonl"
	printf '%s: ' $s
	"$bin/storectl" --agent "ipc://$run/$s.sock" submit "$run/$s.jsonl"
	seed=$((seed + 1))
done

echo "== one store's agent (storectl status)"
"$bin/storectl" --agent "ipc://$run/S001.sock" status

echo "== waiting for the hub to hold every record"
for _ in $(seq 1 100); do
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

echo "== hqctl stores   (as operator alice, over CurveZMQ with her key)"
"$bin/hqctl" --hub "$ops" --identity "$keys/alice.key" --hub-key "$keys/hub.key.pub" stores
echo "== expected (computed by the generator)"
for s in S001 S002 S003; do printf '%s %s\n' $s "$(cat "$run/$s.expect")"; done
[ $caught -eq 3 ] || { echo "demo: not every store caught up" >&2; exit 1; }
echo "demo: every store caught up"

echo "== S003 falls silent; 40 minutes pass (the hub restarts on the real clock)"
# shellcheck disable=SC2154 # pid_S003 is set by the eval at the start of each agent
kill "$pid_S003"
kill "$hubpid"
wait "$hubpid" 2>/dev/null || true
start_hub 0
sleep 3   # S001 and S002 reconnect and send a heartbeat; S003 says nothing
echo "== hqctl stale   (stale accounts, silent stores, overdue complaints)"
"$bin/hqctl" --hub "$hubq" stale
echo "== hqctl sales --from $(date -u +%Y-%m-%d)   (today, per store)"
"$bin/hqctl" --hub "$hubq" sales --from "$(date -u +%Y-%m-%d)"
echo "== hqctl accounts --aging"
"$bin/hqctl" --hub "$hubq" accounts --aging

echo "== HQ decides: a price list for the north, a policy for all"
printf 'sku,price_fen,name\nSOFA-3S,459900,Sofa 3 seats\nCUSHION-01,12900,"Cushion, grey"\n' \
	>"$run/prices.csv"
"$bin/hqctl" --hub "$hubq" price push "$run/prices.csv" --region north
"$bin/hqctl" --hub "$hubq" policy set max_discount_percent=15
sleep 2
echo "== hqctl rollout   (S003 is down: its updates wait for it)"
"$bin/hqctl" --hub "$hubq" rollout
echo "== the till at S001 asks its agent (storectl price, offline-capable)"
"$bin/storectl" --agent "ipc://$run/S001.sock" price SOFA-3S
echo "== hqctl audit   (every operator write: who, when, what, result)"
"$bin/hqctl" --hub "$hubq" audit
