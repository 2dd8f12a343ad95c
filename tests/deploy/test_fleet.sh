#!/bin/bash
# The fleet test (issue 13): six store hosts on this machine, each a network
# namespace on a private bridge with its own overlay root, PID namespace
# and sshd (tests/deploy/hostlib.sh), and a hub in a namespace of its own.
#
#   1. builds the agent's package twice: version N from the tree under
#      test, N+1 (N+rollout) from the same tree in BUILD/deploy-next;
#   2. enrolls all six stores with deploy/enroll (dpkg -i of the real .deb on
#      each host, the key pair made there, the agent run the way its unit
#      says, as the storesync user, reaching the hub over the bridge with
#      CurveZMQ); enrolling again is harmless, another store's host refused;
#   3. while a generator submits to every store (tests/deploy/gen.py), checks
#      the --dry-run plan (waves, hosts, nothing installed), then rolls
#      N -> N+1 with waves 1,3,100% and --max-failures 1 while the new
#      version's install fails on h2 and breaks the config of h3 (both in
#      wave 2): two failures are more than one, so the rollout must halt,
#      roll wave 2 back (healthy again, on N), keep a log per host it
#      touched, and never touch wave 3;
#   4. fixes h2 and h3 and resumes with --max-failures 1 while h5's install
#      fails: one failure is tolerated (S05 alone rolled back, the rest on
#      N+1); fixes h5 and rolls S05 alone: every store on N+1;
#   5. stops the hub: S06 buffers; h6 is downgraded by hand meanwhile and
#      its agent restarted, the buffered records still there;
#   6. rolls the whole fleet back to N by hand (a rollout to N: downgrade);
#   7. stops the generator: the hub holds exactly what the agents accepted,
#      per store, records and amount_fen (nothing lost, nothing twice),
#      across all of that;
#   8. on h6: dpkg -r keeps the store's data and config, dpkg -P deletes them;
#   9. on a seventh host, hq2: the hub's packages installed with dpkg and the
#      hub started and stopped by its unit (as storesync, READY, stop in 5 s).
# Everything it made (namespaces, mounts, processes) goes at the end, by PID;
# anything of it still there after that fails the test.
#
# Run alone (as root; about two minutes on two cores):
#   ctest --test-dir build -R deploy_fleet --output-on-failure
#   tests/deploy/test_fleet.sh build        # the same, directly
# KEEP=1 keeps the work directory (logs of every host, the rollout's state).
# Needs root, network namespaces, overlayfs and openssh-server
# (deploy/install-deps.sh installs the packages); without them it says why
# and exits 77, which CTest reports as skipped.
# -E: the ERR trap below holds inside functions too, so a command that
# fails there says where and keeps the work directory.
set -Eeuo pipefail
BUILD=$(cd "${1:?usage: $0 BUILD_DIR [sanitize]}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
T0=$(date +%s)
skip() { echo "SKIPPED: deploy_fleet: $*"; exit 77; }
[ "${2:-}" = sanitize ] && skip "runs in the plain build only (the packages of an ASan build would need libasan on every host)"

HL_DIR=$(mktemp -d /tmp/ss-fleet.XXXXXX)
HL_PREFIX=ssf$$
. "$SRC/tests/deploy/hostlib.sh"
why=$(hosts_missing)
if [ -n "$why" ]; then
	rm -rf "$HL_DIR"
	skip "$why"
fi

HUB_PID=""
GEN_PID=""
FAILED=0
teardown() {
	local rc=$?
	trap - ERR   # what teardown kills may be gone already: not a failure
	set +e
	[ "$rc" -eq 0 ] || FAILED=1
	[ -n "$GEN_PID" ] && { touch "$HL_DIR/gen.stop"; kill "$GEN_PID" 2>/dev/null; wait "$GEN_PID" 2>/dev/null; }
	[ -n "$HUB_PID" ] && { kill -TERM "$HUB_PID" 2>/dev/null; wait "$HUB_PID" 2>/dev/null; }
	hosts_teardown
	# Whatever is left of it fails the test: namespaces, mounts under the
	# work directory, processes (a host's init or unshare, the hub, an ssh
	# master) that name it. Gone within a few seconds, or left.
	local i left=""
	for i in $(seq 1 30); do
		left=$(leftovers)
		[ -z "$left" ] && break
		sleep 0.2
	done
	if [ -n "$left" ]; then
		echo "FAIL: teardown left:" >&2
		echo "$left" | sed 's/^/  /' >&2
		FAILED=1
		[ "$rc" -ne 0 ] || rc=1
	fi
	if [ "${KEEP:-0}" = 1 ] || [ "$FAILED" = 1 ]; then
		echo "work directory kept: $HL_DIR"
	else
		rm -rf "$HL_DIR"
	fi
	exit "$rc"
}
leftovers() {
	ip netns list | awk -v p="$HL_PREFIX-" 'index($1, p) == 1 { print "namespace " $1 }'
	awk -v d="$HL_DIR" 'index($5, d) == 1 { print "mount " $5 }' /proc/self/mountinfo
	local f pid
	for f in "$HL_DIR"/hosts/*/init.pid "$HL_DIR"/hosts/*/unshare.pid; do
		[ -f "$f" ] || continue
		pid=$(cat "$f")
		kill -0 "$pid" 2>/dev/null && echo "process $pid ($f)"
	done
	pgrep -af -- "$HL_DIR" | sed 's/^/process /' || true
}
trap teardown EXIT
trap 'FAILED=1; echo "FAILED: line $LINENO: $BASH_COMMAND (exit $?)" >&2' ERR

checks=0
fails=0
check() { # check DESCRIPTION COMMAND...
	local what=$1
	shift
	checks=$((checks + 1))
	if "$@"; then
		echo "ok: $what"
	else
		echo "FAIL: $what"
		fails=$((fails + 1))
		FAILED=1
	fi
}
phase() { echo "== $(($(date +%s) - T0))s: $*"; }
ms() { echo $(( $(date +%s%N) / 1000000 )); }

# ---- 1. two versions of the packages ----
N=$("$BUILD/store-agent" --version | awk '{print $3}')
N1="$N+rollout"
phase "packages: $N (this build) and $N1 (BUILD/deploy-next)"
debs=$HL_DIR/debs
mkdir -p "$debs"
(cd "$BUILD" && cpack -G DEB -B "$HL_DIR/cpack-n" >"$HL_DIR/cpack-n.log" 2>&1)
cp "$HL_DIR"/cpack-n/storesync-agent_"$N"-1_*.deb "$debs/"
next=$BUILD/deploy-next
cmake -S "$SRC" -B "$next" -DSS_TESTS=OFF -DSS_VERSION="$N1" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	>"$HL_DIR/next-cmake.log" 2>&1
cmake --build "$next" -j 2 >"$HL_DIR/next-build.log" 2>&1 || { tail -30 "$HL_DIR/next-build.log"; exit 1; }
(cd "$next" && cpack -G DEB -B "$HL_DIR/cpack-n1" >"$HL_DIR/cpack-n1.log" 2>&1)
cp "$HL_DIR"/cpack-n1/storesync-agent_"$N1"-1_*.deb "$debs/"
ls "$debs"

# ---- 2. the hosts, the hub, enrolment ----
phase "hosts: a bridge, the hq host, six store hosts"
STORES="S01 S02 S03 S04 S05 S06"
hosts_lan_up
host_net hq 1
for i in 1 2 3 4 5 6; do host_boot "h$i" "1$i"; done
hosts_wait h1 h2 h3 h4 h5 h6

"$BUILD/hq-hub" keygen "$HL_DIR/hub.key" >/dev/null
ADMIN=ipc://$HL_DIR/hub-admin.sock
hqctl() { "$BUILD/hqctl" --hub "$ADMIN" "$@"; }
start_hub() {
	# Not through a function: $! must be the hub itself (ip netns exec
	# execs it), which teardown stops by PID.
	ip netns exec "$HL_PREFIX-hq" "$BUILD/hq-hub" --foreground --data-dir "$HL_DIR/hub" --listen tcp://10.213.0.1:7701 \
		--query "ipc://$HL_DIR/hubq.sock" --admin "$ADMIN" --admin-group "" \
		--curve-key "$HL_DIR/hub.key" 2>>"$HL_DIR/hub.log" &
	HUB_PID=$!
	for i in $(seq 1 50); do hqctl stats >/dev/null 2>&1 && break; sleep 0.1; done
}
start_hub

export SS_SSH="ssh -F $HL_DIR/ssh_config" SS_HQCTL="$BUILD/hqctl --hub $ADMIN"
export SS_HUB_LINK=tcp://10.213.0.1:7701 SS_HUB_KEY=$HL_DIR/hub.key.pub SS_PACKAGES=$debs
enroll() { hq_exec "$SRC/deploy/enroll" "$@"; }
# A soak of 4 s, not the default 10: the generator's traffic has the hub
# hear from every store every second.
rollout() { hq_exec "$SRC/deploy/rollout" --inventory "$HL_DIR/inventory.csv" --version "$N1" \
	--waves 1,3,100% --gate-timeout 60 --gate-soak 4 --state "$HL_DIR/rollout.state" \
	--log-dir "$HL_DIR/rollout-logs" "$@"; }
field() { # field STORE COLUMN: the hub's stores --json value
	hqctl stores --json | python3 -c 'import json,sys; r={x["store_id"]:x for x in json.load(sys.stdin)}; print(r.get(sys.argv[1],{}).get(sys.argv[2]))' "$1" "$2"
}
host_version() { hl_ssh "$1" "dpkg-query -W -f='\${Version}' storesync-agent" 2>/dev/null | sed 's/-[^-]*$//'; }
agent_pid() { hl_ssh "$1" 'cat /run/fake-systemd/store-agent.service.main.pid 2>/dev/null'; }
# fleet_on V: the hub sees all six stores on agent version V and no other
# (hqctl versions: one row, V, six stores), and each host has V installed.
fleet_on() {
	hqctl versions --json | python3 -c '
import json, sys
rows = json.load(sys.stdin)
sys.exit(not (len(rows) == 1 and rows[0]["agent_version"] == sys.argv[1] and rows[0]["stores"] == 6))' "$1" || return 1
	for i in 1 2 3 4 5 6; do
		[ "$(host_version "h$i")" = "$1" ] || return 1
	done
}

phase "enroll six stores (in parallel)"
echo "store_id,host" >"$HL_DIR/inventory.csv"
i=0
for s in $STORES; do
	i=$((i + 1))
	echo "$s,h$i" >>"$HL_DIR/inventory.csv"
	enroll "$s" --host "h$i" --name "Store $i" --region "r$(( (i + 1) / 2 ))" \
		--version "$N" >"$HL_DIR/enroll-$s.log" 2>&1 &
	eval "enroll_$s=$!"
done
enrolled() { # enrolled STORE PID: the enroll job ended well (else its log)
	wait "$2" && return 0
	sed 's/^/  /' "$HL_DIR/enroll-$1.log"
	return 1
}
for s in $STORES; do
	eval "pid=\$enroll_$s"
	check "enroll $s" enrolled "$s" "$pid"
done
phase "enrolled"
registered() { # the hub has every store under the name and region enroll gave it
	hqctl stores --json | python3 -c '
import json, sys
r = {x["store_id"]: x for x in json.load(sys.stdin)}
sys.exit(any((r[f"S0{i}"]["name"], r[f"S0{i}"]["region"]) != (f"Store {i}", f"r{(i + 1) // 2}")
             for i in range(1, 7)))'
}
check "enroll registered each store's name and region (hqctl stores --json)" registered
check "hqctl versions: six stores on $N, none on another" fleet_on "$N"
hqctl versions
check "enrolling S01 on h1 again is harmless" enroll S01 --host h1 --version "$N"
out=$(enroll S09 --host h1 --version "$N" 2>&1 || true)
echo "$out" | tail -1
check "enrolling S09 on S01's host is refused" \
	sh -c "echo \"\$1\" | grep -q 'this host is store S01'" _ "$out"
user=$(hl_ssh h1 'ps -o user= -p $(cat /run/fake-systemd/store-agent.service.main.pid)')
check "the agent on h1 runs as storesync (is: $user)" test "$user" = storesync
check "the agent on h1 runs with NoNewPrivs" \
	hl_ssh h1 'grep -q "NoNewPrivs:.*1" /proc/$(cat /run/fake-systemd/store-agent.service.main.pid)/status'
check "h1's secret key is the storesync user's, 0600" \
	test "$(hl_ssh h1 'stat -c %U:%a /etc/storesync/agent.key')" = storesync:600
check "systemctl reload store-agent on h1: the agent logs what it reloaded" \
	hl_ssh h1 'systemctl reload store-agent; for i in 1 2 3 4 5 6 7 8 9 10; do
		journalctl -u store-agent -n 5 | grep -q "SIGHUP: reloaded /etc/storesync/agent.ini" && exit 0
		sleep 0.2; done; exit 1'
for i in 4 5 6; do eval "pid_h$i=$(agent_pid h$i)"; done

# ---- 3. the rollout that halts ----
phase "generator: every store, until told to stop"
targets=""
i=0
for s in $STORES; do
	i=$((i + 1))
	targets="$targets $s=$(host_path "h$i" /run/storesync/agent.sock)"
done
# shellcheck disable=SC2086
python3 "$SRC/tests/deploy/gen.py" "$BUILD" "$HL_DIR/gen.stop" "$HL_DIR/gen.json" $targets \
	2>"$HL_DIR/gen.log" &
GEN_PID=$!
sleep 2

# fault HOST config|install: the new version's install goes wrong on HOST.
# config: it leaves a broken agent.ini (a conffile merge gone wrong, say),
# so the agent will not start and the gate sees its unit fail; install:
# dpkg -i fails (a hook that exits 1). Older versions are left alone, so a
# rollback (package and /etc/storesync) heals it.
fault() {
	local what
	case $2 in
	config) what="grep -q '^batch = lots' /etc/storesync/agent.ini || echo 'batch = lots' >>/etc/storesync/agent.ini" ;;
	install) what="echo 'storesync-test-fault: no $N1 on this host' >&2; exit 1" ;;
	esac
	hl_ssh "$1" "cat >/usr/local/sbin/storesync-test-fault <<'SH'
#!/bin/sh
case \"\$(dpkg-query -W -f='\${Version}' storesync-agent 2>/dev/null)\" in
'$N1'-*) $what ;;
esac
SH
chmod 755 /usr/local/sbin/storesync-test-fault
echo 'post-invoke=/usr/local/sbin/storesync-test-fault' >/etc/dpkg/dpkg.cfg.d/zz-storesync-test-fault"
}
unfault() { hl_ssh "$1" 'rm /etc/dpkg/dpkg.cfg.d/zz-storesync-test-fault'; }
# Both hosts of wave 2 fail: more than --max-failures 1.
fault h2 install
fault h3 config

phase "rollout --dry-run"
rollout --dry-run >"$HL_DIR/dry-run.out" 2>&1
cat "$HL_DIR/dry-run.out"
check "the dry run changed nothing (no state, no logs)" \
	test ! -e "$HL_DIR/rollout.state" -a ! -e "$HL_DIR/rollout-logs"
check "the dry run lists waves 1,3,100% as 1, 2 and 3 stores" \
	sh -c 'grep -q "^wave 1: 1 stores" "$1" && grep -q "^wave 2: 2 stores" "$1" && grep -q "^wave 3: 3 stores" "$1"' _ "$HL_DIR/dry-run.out"
check "the dry run lists every store with its host and version $N, in wave order" \
	sh -c 'test "$(grep -E "^  S0[1-6] +h[1-6] +now " "$1" | awk "{print \$1 \$2 \$4}" | tr "\n" " ")" = "S01h1$2 S02h2$2 S03h3$2 S04h4$2 S05h5$2 S06h6$2 "' _ "$HL_DIR/dry-run.out" "$N"
for i in 1 2 3 4 5 6; do
	check "the dry run installed nothing on h$i" \
		test "$(host_version h$i):$(hl_ssh h$i 'ls /var/cache/storesync/ | grep -c rollout || true')" = "$N:0"
done
phase "rollout $N -> $N1, waves 1,3,100%, --max-failures 1: h2 and h3 (wave 2) break"
t=$(ms)
rc=0
rollout --max-failures 1 >"$HL_DIR/rollout-1.out" 2>&1 || rc=$?
cat "$HL_DIR/rollout-1.out"
echo "first rollout (halted, rolled back): $(( $(ms) - t )) ms"
check "the rollout halted (exit 1; was $rc)" test "$rc" = 1
check "two failures of a wave are more than --max-failures 1: it halted the wave" \
	grep -q "wave 2/3: 2 of 2 stores failed (more than --max-failures 1): halting" "$HL_DIR/rollout-1.out"
check "it names S02 and why (the install failed)" \
	grep -q "S02 on h2 failed the gate: install failed" "$HL_DIR/rollout-1.out"
check "it names S03 and why" grep -q "S03 on h3 failed the gate" "$HL_DIR/rollout-1.out"
check "it shows S03's agent's last lines" grep -q "batch" "$HL_DIR/rollout-1.out"
st() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["stores"][sys.argv[2]]["state"])' "$HL_DIR/rollout.state" "$1"; }
check "S01 (wave 1) healthy on $N1" test "$(st S01):$(field S01 agent_version)" = "healthy:$N1"
for s in S02 S03; do
	check "$s (wave 2) rolled back to $N and healthy" \
		test "$(st $s):$(field $s agent_version)" = "rolled_back:$N"
done
check "h3's agent is active again" test "$(hl_ssh h3 'systemctl is-active store-agent')" = active
check "S01's log records its upgrade" grep -q "upgrade S01 on h1 to $N1" "$HL_DIR/rollout-logs/S01.log"
for s in S02 S03; do
	check "$s's log records its upgrade and its rollback" \
		sh -c 'grep -q "upgrade $1 on" "$2" && grep -q "rollback $1 on .* to $3" "$2"' _ "$s" \
		"$HL_DIR/rollout-logs/$s.log" "$N"
done
check "no log for the stores of wave 3 (never reached)" \
	test ! -e "$HL_DIR/rollout-logs/S04.log" -a ! -e "$HL_DIR/rollout-logs/S05.log" -a ! -e "$HL_DIR/rollout-logs/S06.log"
for i in 4 5 6; do
	s=S0$i
	pid_var=pid_h$i; before=${!pid_var}
	check "$s (wave 3) untouched: state pending, package $N, same agent process" \
		test "$(st $s):$(host_version h$i):$(agent_pid h$i)" = "pending:$N:$before"
	check "nothing of $N1 reached h$i" \
		hl_ssh "h$i" "! ls /var/cache/storesync/ | grep -q rollout && ! ls /var/backups/storesync 2>/dev/null | grep -q ."
done

# ---- 4. fix h2 and h3, resume; h5 fails alone ----
phase "fix h2 and h3; h5 (wave 3) breaks; rollout --resume --max-failures 1"
unfault h2
unfault h3
fault h5 install
t=$(ms)
rc=0
rollout --resume --max-failures 1 >"$HL_DIR/rollout-2.out" 2>&1 || rc=$?
cat "$HL_DIR/rollout-2.out"
echo "resumed rollout: $(( $(ms) - t )) ms"
check "the resumed rollout is done (exit 0; was $rc)" test "$rc" = 0
check "one failure of a wave is within --max-failures 1: S05 alone rolled back" \
	sh -c 'grep -q "S05 on h5 failed the gate: install failed" "$1" && grep -q "wave 3/3: 1 failure(s), within --max-failures 1: rolling back those only" "$1"' _ "$HL_DIR/rollout-2.out"
check "S05 rolled back, healthy on $N" \
	test "$(st S05):$(field S05 agent_version):$(host_version h5)" = "rolled_back:$N:$N"
for s in S02 S03 S04 S06; do
	check "$s healthy on $N1" test "$(st $s):$(field $s agent_version)" = "healthy:$N1"
done

phase "fix h5, roll S05 alone to $N1"
unfault h5
echo "S05,h5" >"$HL_DIR/inventory-S05.csv"
rc=0
hq_exec "$SRC/deploy/rollout" --inventory "$HL_DIR/inventory-S05.csv" --version "$N1" \
	--waves 100% --gate-timeout 60 --gate-soak 4 --state "$HL_DIR/rollout-S05.state" \
	--log-dir "$HL_DIR/rollout-logs" >"$HL_DIR/rollout-S05.out" 2>&1 || rc=$?
cat "$HL_DIR/rollout-S05.out"
check "S05's rollout is done (exit 0; was $rc)" test "$rc" = 0
hqctl versions
check "hqctl versions: six stores on $N1, none on another" fleet_on "$N1"
for i in 1 2 3 4 5 6; do
	check "h$i runs $N1" test "$(host_version h$i)" = "$N1"
done

# ---- 5. records buffered while the hub is away survive a package change ----
phase "hub away: S06 buffers; h6 goes back to $N by hand meanwhile"
kill -TERM "$HUB_PID"
wait "$HUB_PID" || true
HUB_PID=""
sleep 3
backlog() { hl_ssh h6 storectl status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["backlog"])'; }
b0=$(backlog)
hl_ssh h6 "dpkg -i /var/cache/storesync/storesync-agent_$N-1_*.deb >/dev/null 2>&1 && systemctl restart store-agent"
b1=$(backlog)
check "S06 buffered $b0 records with the hub away; after dpkg -i $N and a restart it still holds >= that ($b1)" \
	test "$b0" -gt 0 -a "$b1" -ge "$b0"
start_hub

# ---- 6. rolling back by hand: the whole fleet to N, as a rollout ----
phase "roll the fleet back to $N by hand (rollout --version $N, waves 2,100%)"
t=$(ms)
rc=0
hq_exec "$SRC/deploy/rollout" --inventory "$HL_DIR/inventory.csv" --version "$N" \
	--waves 2,100% --gate-timeout 60 --gate-soak 4 --state "$HL_DIR/rollback.state" \
	--log-dir "$HL_DIR/rollback-logs" >"$HL_DIR/rollout-3.out" 2>&1 || rc=$?
cat "$HL_DIR/rollout-3.out"
echo "6-host rollout (to $N, 2 waves): $(( $(ms) - t )) ms"
check "the rollback by hand exited 0 (was $rc)" test "$rc" = 0
check "the fleet is back on $N: all six stores, none on $N1" fleet_on "$N"

# ---- 7. nothing lost, nothing twice ----
phase "stop the generator; the hub against what the agents accepted"
touch "$HL_DIR/gen.stop"
wait "$GEN_PID"
GEN_PID=""
cat "$HL_DIR/gen.json"
want() { python3 -c 'import json,sys; r=json.load(open(sys.argv[1]))[sys.argv[2]]; print(r["accepted"]+r["duplicates"])' "$HL_DIR/gen.json" "$1"; }
want_fen() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]]["amount_fen"])' "$HL_DIR/gen.json" "$1"; }
for s in $STORES; do
	w=$(want "$s")
	for i in $(seq 1 60); do
		[ "$(field "$s" records)" = "$w" ] && [ "$(field "$s" backlog)" = 0 ] && break
		sleep 0.5
	done
	check "$s: the hub holds the $w records its agent accepted (has $(field "$s" records))" \
		test "$(field "$s" records)" = "$w"
	f=$(want_fen "$s")
	check "$s: the hub's amount_fen is the $f fen of those records (has $(field "$s" amount_fen))" \
		test "$(field "$s" amount_fen)" = "$f"
done
check "no till's record was refused" \
	python3 -c 'import json,sys; sys.exit(any(r["refused"] for r in json.load(open(sys.argv[1])).values()))' "$HL_DIR/gen.json"
check "the generator went on through restarts (unanswered attempts retried)" \
	python3 -c 'import json,sys; sys.exit(not any(r["unanswered"] for r in json.load(open(sys.argv[1])).values()))' "$HL_DIR/gen.json"
check "every agent stopped within TimeoutStopSec (no SIGKILL)" \
	sh -c "for i in 1 2 3 4 5 6; do test -s $HL_DIR/hosts/h\$i/upper/var/log/fake-journal/store-agent.service.log || exit 1; done; ! grep -l 'stop timed out' $HL_DIR/hosts/*/upper/var/log/fake-journal/*.log"

# ---- 8. remove keeps the data, purge deletes it ----
phase "h6: dpkg -r, then dpkg -P"
hl_ssh h6 'systemctl stop store-agent && dpkg -r storesync-agent >/dev/null'
check "dpkg -r keeps S06's records and config" \
	hl_ssh h6 'test -f /var/lib/storesync/agent/data.mdb && test -f /etc/storesync/agent.ini && test -f /etc/storesync/agent.key'
hl_ssh h6 'dpkg -P storesync-agent >/dev/null'
check "dpkg -P deletes them" \
	hl_ssh h6 '! test -e /var/lib/storesync/agent && ! test -e /etc/storesync/agent.ini && ! test -e /etc/storesync/agent.key'

# ---- 9. the hub's own package, on a host of its own ----
phase "hq2: storesync-hub and storesync-tools installed with dpkg, the hub started by its unit"
host_boot hq2 2
hosts_wait hq2
for p in hub tools; do
	cat "$HL_DIR"/cpack-n/storesync-"$p"_"$N"-1_*.deb | hl_ssh hq2 "cat >/tmp/$p.deb"
done
check "dpkg -i storesync-hub storesync-tools" hl_ssh hq2 'dpkg -i /tmp/hub.deb /tmp/tools.deb >/dev/null'
check "the hub unit does not start before its key exists (ConditionPathExists)" \
	hl_ssh hq2 'systemctl start hq-hub && test "$(systemctl is-active hq-hub)" = inactive'
hl_ssh hq2 'hq-hub keygen /etc/storesync/hub.key >/dev/null && chown storesync:storesync /etc/storesync/hub.key'
check "systemctl start hq-hub returns once the hub said READY" \
	hl_ssh hq2 'systemctl start hq-hub && test "$(systemctl is-active hq-hub)" = active'
check "the hub runs as storesync and answers on its admin socket" \
	hl_ssh hq2 'test "$(ps -o user= -p $(cat /run/fake-systemd/hq-hub.service.main.pid))" = storesync \
		&& hqctl --hub ipc:///run/storesync/hub-admin.sock stats >/dev/null'
check "systemctl stop hq-hub: gone within TimeoutStopSec" \
	hl_ssh hq2 'systemctl stop hq-hub && test "$(systemctl is-active hq-hub)" = inactive \
		&& test -s /var/log/fake-journal/hq-hub.service.log \
		&& ! grep -q "stop timed out" /var/log/fake-journal/hq-hub.service.log'

phase "done: $checks checks, $fails failed"
[ "$fails" -eq 0 ]
