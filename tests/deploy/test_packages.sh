#!/bin/bash
# The Debian packages and the systemd units (issue 13, parts 1 and 2):
#   - cpack makes storesync-agent, storesync-hub, storesync-tools and
#     storesync-export, with
#     Debian's library packages as dependencies (dpkg-shlibdeps), the
#     maintainer scripts, /etc/storesync/*.ini as conffiles, man pages and
#     --help in /usr/share/doc; nothing of the tests, benchmarks or the
#     generator goes in;
#   - the tree configures for packaging without libcheck (SS_TESTS=OFF);
#   - lintian on each package: no error (what it still says is printed);
#   - systemd-analyze verify on both units, and systemd-analyze security:
#     exposure at most 2.0 each.
# A tool this machine lacks (lintian, systemd-analyze) is reported as
# skipped, by name; the checks that can run still run.
# Run alone: ctest --test-dir build -R deploy_packages --output-on-failure
set -euo pipefail
BUILD=$(cd "${1:?usage: $0 BUILD_DIR [sanitize]}" && pwd)
SRC=$(cd "$(dirname "$0")/../.." && pwd)
if [ "${2:-}" = sanitize ]; then
	echo "SKIPPED: deploy_packages: runs in the plain build only (an ASan build is not packaged)"
	exit 77
fi
command -v dpkg-deb >/dev/null || { echo "SKIPPED: deploy_packages: no dpkg-deb"; exit 77; }
T=$(mktemp -d /tmp/ss-packages.XXXXXX)
trap 'rm -rf "$T"' EXIT
checks=0
fails=0
skipped=""
check() {
	local what=$1
	shift
	checks=$((checks + 1))
	if "$@"; then echo "ok: $what"; else echo "FAIL: $what"; fails=$((fails + 1)); fi
}
skip() { echo "SKIPPED: $*"; skipped="$skipped; $*"; }

N=$("$BUILD/store-agent" --version | awk '{print $3}')
(cd "$BUILD" && cpack -G DEB -B "$T/out" >"$T/cpack.log" 2>&1) || { cat "$T/cpack.log"; exit 1; }
agent=$(ls "$T"/out/storesync-agent_"$N"-1_*.deb)
hub=$(ls "$T"/out/storesync-hub_"$N"-1_*.deb)
tools=$(ls "$T"/out/storesync-tools_"$N"-1_*.deb)
export_deb=$(ls "$T"/out/storesync-export_"$N"-1_*.deb)
for d in "$agent" "$hub" "$tools" "$export_deb"; do
	echo "== $(basename "$d"): $(dpkg-deb -f "$d" Depends)"
done

has() { dpkg-deb -c "$1" | awk '{print $6}' | grep -qx "$2"; }
deps() { dpkg-deb -f "$1" Depends | tr ',' '\n' | sed 's/^ *//; s/ .*//'; }
check "agent: store-agent, storectl, the unit, the config" \
	sh -c "$(declare -f has); has '$agent' ./usr/sbin/store-agent && has '$agent' ./usr/bin/storectl \
		&& has '$agent' ./lib/systemd/system/store-agent.service && has '$agent' ./etc/storesync/agent.ini"
check "hub: hq-hub, the backup script, the unit, the config" \
	sh -c "$(declare -f has); has '$hub' ./usr/sbin/hq-hub && has '$hub' ./usr/sbin/storesync-backup-hub \
		&& has '$hub' ./lib/systemd/system/hq-hub.service && has '$hub' ./etc/storesync/hub.ini"
check "tools: hqctl" has "$tools" ./usr/bin/hqctl
check "export: hq-export, the unit, the config" \
	sh -c "$(declare -f has); has '$export_deb' ./usr/sbin/hq-export \
		&& has '$export_deb' ./lib/systemd/system/hq-export.service \
		&& has '$export_deb' ./etc/storesync/export.ini"
check "export depends on libpq5 and on storesync-hub of its version" \
	sh -c "$(declare -f deps); deps '$export_deb' | grep -qx libpq5 \
		&& dpkg-deb -f '$export_deb' Depends | grep -q 'storesync-hub (= $N-1)'"
check "the documentation the units name is in the packages" sh -c "$(declare -f has); \
	has '$agent' ./usr/share/doc/storesync-agent/README.md \
	&& has '$hub' ./usr/share/doc/storesync-hub/README.md \
	&& has '$export_deb' ./usr/share/doc/storesync-export/export.md"
check "only the export package links libpq" \
	sh -c "$(declare -f deps); ! { deps '$agent'; deps '$hub'; deps '$tools'; } | grep -qx libpq5"
for p in "$agent:store-agent.8 storectl.1" "$hub:hq-hub.8 storesync-backup-hub.8" "$tools:hqctl.1" \
	"$export_deb:hq-export.8"; do
	deb=${p%%:*}
	for m in ${p#*:}; do
		check "$(basename "$deb" | cut -d_ -f1): man page $m" has "$deb" "./usr/share/man/man${m##*.}/$m.gz"
	done
done
check "--help of every program in /usr/share/doc" sh -c "$(declare -f has); \
	has '$agent' ./usr/share/doc/storesync-agent/store-agent.help \
	&& has '$agent' ./usr/share/doc/storesync-agent/storectl.help \
	&& has '$hub' ./usr/share/doc/storesync-hub/hq-hub.help \
	&& has '$tools' ./usr/share/doc/storesync-tools/hqctl.help \
	&& has '$export_deb' ./usr/share/doc/storesync-export/hq-export.help"
for d in "$agent" "$hub" "$tools" "$export_deb"; do
	check "no test, benchmark or generator in $(basename "$d")" \
		sh -c "! dpkg-deb -c '$d' | grep -E 'test_|ss-gen|ss-bench|ss-hubload|ss-rollout|fuzz'"
done
for lib in libzmq5 liblmdb0 libprotobuf-c1 libsodium23 libsystemd0 adduser; do
	check "agent depends on $lib" sh -c "$(declare -f deps); deps '$agent' | grep -qx $lib"
done
check "hub depends on liblmdb0 and lmdb-utils (backups)" \
	sh -c "$(declare -f deps); deps '$hub' | grep -qx liblmdb0 && deps '$hub' | grep -qx lmdb-utils"
check "no package depends on libcheck or libsubunit" \
	sh -c "$(declare -f deps); ! { deps '$agent'; deps '$hub'; deps '$tools'; } | grep -E '^(check|libcheck|libsubunit)'"
mkdir -p "$T/ctl-agent" "$T/ctl-hub" "$T/ctl-export"
dpkg-deb -e "$agent" "$T/ctl-agent"
dpkg-deb -e "$hub" "$T/ctl-hub"
dpkg-deb -e "$export_deb" "$T/ctl-export"
check "agent.ini is a conffile" grep -qx /etc/storesync/agent.ini "$T/ctl-agent/conffiles"
check "hub.ini is a conffile" grep -qx /etc/storesync/hub.ini "$T/ctl-hub/conffiles"
check "export.ini is a conffile" grep -qx /etc/storesync/export.ini "$T/ctl-export/conffiles"
for s in postinst prerm postrm; do
	check "agent $s parses" sh -n "$T/ctl-agent/$s"
	check "hub $s parses" sh -n "$T/ctl-hub/$s"
	check "export $s parses" sh -n "$T/ctl-export/$s"
done
check "the hub's postinst enables and starts its unit" \
	sh -c "grep -q '\\[ \"yes\" = yes \\]' '$T/ctl-hub/postinst' \
		&& grep -q 'deb-systemd-invoke start hq-hub.service' '$T/ctl-hub/postinst'"
check "the exporter's postinst neither enables nor starts it (export.ini first)" \
	grep -q '\[ "no" = yes \]' "$T/ctl-export/postinst"
check "purging the exporter deletes no data (the hub's, PostgreSQL's)" \
	sh -c "! sed -n '/= purge/,/^fi/p' '$T/ctl-export/postrm' | grep -q 'rm -rf /'"
check "postinst makes the storesync system user" grep -q "adduser --quiet --system" "$T/ctl-agent/postinst"
check "postrm deletes the data on purge only" \
	sh -c "sed -n '/= purge/,/^fi/p' '$T/ctl-agent/postrm' | grep -q 'rm -rf /var/lib/storesync/agent'"

# Packaging needs no libcheck: configure with SS_TESTS=OFF where pkg-config
# cannot find check.
mkdir -p "$T/pc"
for dir in $(pkg-config --variable pc_path pkg-config | tr ':' ' '); do
	[ -d "$dir" ] && for pc in "$dir"/*.pc; do
		[ -e "$pc" ] && [ "$(basename "$pc")" != check.pc ] && ln -sf "$pc" "$T/pc/"
	done
done
check "the tree configures without libcheck (SS_TESTS=OFF)" \
	env PKG_CONFIG_LIBDIR="$T/pc" cmake -S "$SRC" -B "$T/nocheck" -DSS_TESTS=OFF >"$T/nocheck.log" 2>&1
check "...and asks for libcheck when the tests are built" \
	sh -c "! env PKG_CONFIG_LIBDIR='$T/pc' cmake -S '$SRC' -B '$T/withcheck' >'$T/withcheck.log' 2>&1 \
		&& grep -Eq \"No package 'check' found|Package 'check'.*not found\" '$T/withcheck.log'"

if command -v lintian >/dev/null; then
	echo "== lintian"
	lintian --tag-display-limit 0 "$agent" "$hub" "$tools" "$export_deb" 2>&1 | grep -v 'running with root privileges' \
		| tee "$T/lintian.txt" || true
	check "lintian: no errors" sh -c "! grep -q '^E:' '$T/lintian.txt'"
else
	skip "lintian is not installed (deploy/install-deps.sh installs it)"
fi

if command -v systemd-analyze >/dev/null && systemd-analyze --version >/dev/null 2>&1; then
	# The units as installed, against the binaries they name, beside this
	# machine's own units (the targets they order against) and kill(1)
	# (ExecReload).
	mkdir -p "$T/root/lib/systemd/system" "$T/root/bin"
	cp -a /lib/systemd/system/. "$T/root/lib/systemd/system/"
	cp /bin/kill "$T/root/bin/"
	dpkg-deb -x "$agent" "$T/root"
	dpkg-deb -x "$hub" "$T/root"
	dpkg-deb -x "$export_deb" "$T/root"
	for u in store-agent hq-hub hq-export; do
		unit=$T/root/lib/systemd/system/$u.service
		echo "== systemd-analyze verify $u.service"
		if systemd-analyze verify --root="$T/root" "$unit" >"$T/verify-$u.txt" 2>&1; then
			cat "$T/verify-$u.txt"
			check "systemd-analyze verify $u.service: no complaint" test ! -s "$T/verify-$u.txt"
		elif grep -qiE 'Failed to (initialize|set up)|not been booted with systemd|Operation not permitted' "$T/verify-$u.txt"; then
			skip "systemd-analyze verify cannot run here: $(head -1 "$T/verify-$u.txt")"
		else
			cat "$T/verify-$u.txt"
			check "systemd-analyze verify $u.service" false
		fi
		echo "== systemd-analyze security $u.service"
		if systemd-analyze security --offline=yes --root="$T/root" "$unit" >"$T/security-$u.txt" 2>&1; then
			score=$(sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p' "$T/security-$u.txt")
			grep "✗" "$T/security-$u.txt" | sed 's/  */ /g' || true
			echo "exposure of $u.service: $score"
			check "$u.service exposure $score <= 2.0" awk -v s="$score" 'BEGIN { exit !(s != "" && s <= 2.0) }'
		else
			head -5 "$T/security-$u.txt"
			skip "systemd-analyze security cannot run here"
		fi
	done
else
	skip "systemd-analyze is not installed (package systemd)"
fi

echo "$checks checks, $fails failed${skipped:+; skipped:${skipped#;}}"
[ "$fails" -eq 0 ] || exit 1
[ -z "$skipped" ] || exit 77
