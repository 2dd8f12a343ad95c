# hostlib.sh: store hosts on this machine for tests/deploy (sourced by bash).
#
# A host is a network namespace with an address on a private bridge, a PID,
# UTS and mount namespace whose root is an overlay over this machine's /
# (so dpkg on it installs into the host's own layer), and its own sshd. The
# bridge lives in a namespace of its own (the "lan"), and so does the hub
# (the "hq" host, which shares this machine's filesystem): nothing of it is
# attached to this machine's own network. Everything made is recorded, and
# hosts_teardown removes it by name and by PID.
#
# Needs: root, ip (iproute2) with netns, unshare, overlayfs, sshd.
# Variables: HL_DIR (work directory), HL_PREFIX (namespace prefix, short).

HL_NET=10.213.0
HL_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HL_NS=""        # namespaces made, for teardown
HL_PIDS=""      # host init processes (as this machine sees them)

hl_log() { printf '%s %s\n' "$(date +%T)" "$*" >&2; }

# Why this machine cannot run the hosts, or nothing.
hosts_missing() {
	[ "$(id -u)" -eq 0 ] || { echo "not root"; return; }
	for t in ip unshare nsenter chroot ssh ssh-keygen dpkg-deb python3; do
		command -v $t >/dev/null || { echo "$t not installed"; return; }
	done
	[ -x /usr/sbin/sshd ] || { echo "sshd not installed (openssh-server)"; return; }
	ip netns add "${HL_PREFIX}-probe" 2>/dev/null || { echo "cannot create network namespaces (ip netns add)"; return; }
	ip netns del "${HL_PREFIX}-probe"
	local p=$HL_DIR/probe
	mkdir -p "$p/u" "$p/w" "$p/m"
	unshare --mount --propagation private sh -c \
		"mount -t overlay overlay -o lowerdir=/,upperdir=$p/u,workdir=$p/w $p/m" 2>/dev/null \
		|| { echo "cannot mount an overlay over / in a mount namespace"; rm -rf "$p"; return; }
	rm -rf "$p"
}

hosts_lan_up() {
	local lan=$HL_PREFIX-lan
	ip netns add "$lan" && HL_NS="$HL_NS $lan"
	ip -n "$lan" link set lo up
	ip -n "$lan" link add br0 type bridge
	ip -n "$lan" link set br0 up
	ssh-keygen -q -t ed25519 -N '' -f "$HL_DIR/admin_key"
	: >"$HL_DIR/ssh_config"
	: >"$HL_DIR/known_hosts"
}

# host_net NAME OCTET: namespace $HL_PREFIX-NAME, eth0 at $HL_NET.OCTET.
host_net() {
	local ns=$HL_PREFIX-$1
	ip netns add "$ns" && HL_NS="$HL_NS $ns"
	ip -n "$HL_PREFIX-lan" link add "v-$1" type veth peer name eth0 netns "$ns"
	ip -n "$HL_PREFIX-lan" link set "v-$1" master br0 up
	ip -n "$ns" addr add "$HL_NET.$2/24" dev eth0
	ip -n "$ns" link set eth0 up
	ip -n "$ns" link set lo up
}

# host_boot NAME OCTET: a store host with its own root and sshd.
host_boot() {
	local name=$1 addr=$HL_NET.$2 d=$HL_DIR/hosts/$1
	host_net "$name" "$2"
	mkdir -p "$d/upper" "$d/work" "$d/root"
	# The host's own files, laid in its layer before it starts.
	local u=$d/upper
	mkdir -p "$u/etc/ssh" "$u/usr/local/sbin" "$u/usr/local/bin" "$u/usr/local/lib/storesync-test"
	ssh-keygen -q -t ed25519 -N '' -f "$u/etc/ssh/ssh_host_ed25519_key"
	cp "$HL_DIR/admin_key.pub" "$u/etc/ssh/authorized_keys.test"
	cat >"$u/etc/ssh/sshd_test_config" <<-CFG
		ListenAddress $addr
		HostKey /etc/ssh/ssh_host_ed25519_key
		PermitRootLogin prohibit-password
		AuthorizedKeysFile /etc/ssh/authorized_keys.test
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		UsePAM no
		StrictModes no
		PidFile /run/sshd.pid
		LogLevel ERROR
		MaxStartups 100
		MaxSessions 100
	CFG
	echo "$name" >"$u/etc/hostname"
	install -m 0755 "$HL_SRC/fake-systemd.py" "$u/usr/local/sbin/systemctl"
	install -m 0755 "$HL_SRC/fake-systemd.py" "$u/usr/local/bin/journalctl"
	install -m 0755 "$HL_SRC/hostinit.py" "$u/usr/local/lib/storesync-test/hostinit.py"
	local r=$d/root
	setsid ip netns exec "$HL_PREFIX-$name" unshare --mount --uts --pid --fork \
		--propagation private -- sh -c "
		set -e
		mount -t overlay overlay -o lowerdir=/,upperdir=$d/upper,workdir=$d/work $r
		mount -t proc proc $r/proc
		mount --rbind /dev $r/dev
		mount --rbind /sys $r/sys
		mount -t tmpfs -o mode=0755 tmpfs $r/run
		mount -t tmpfs -o mode=1777 tmpfs $r/tmp
		mkdir -p $r/run/sshd
		# No man-db index rebuild after each dpkg run: seconds per install
		# here, and nothing a store host is tested for.
		rm -f $r/var/lib/man-db/auto-update
		hostname $name
		exec chroot $r /usr/bin/python3 /usr/local/lib/storesync-test/hostinit.py
	" >"$d/init.log" 2>&1 </dev/null &
	echo $! >"$d/unshare.pid"
	cat >>"$HL_DIR/ssh_config" <<-CFG
		Host $name
		    HostName $addr
	CFG
}

# The PID (as this machine sees it) of a host's PID 1, once it runs ("" until
# then: pgrep finding no child yet is not an error, under pipefail either).
host_init_pid() {
	local up
	up=$(cat "$HL_DIR/hosts/$1/unshare.pid")
	pgrep -P "$up" | head -1 || true
}

# Waits for every host's sshd; fills HL_PIDS.
hosts_wait() {
	cat >>"$HL_DIR/ssh_config" <<-CFG
		Host *
		    User root
		    IdentityFile $HL_DIR/admin_key
		    IdentitiesOnly yes
		    UserKnownHostsFile $HL_DIR/known_hosts
		    StrictHostKeyChecking accept-new
		    BatchMode yes
		    ConnectTimeout 5
		    LogLevel ERROR
		    # One connection per host, shared by every command (it ends
		    # with the host's sshd): a handshake costs about a second here.
		    ControlMaster auto
		    ControlPath $HL_DIR/cm-%h
		    ControlPersist 300
		    KexAlgorithms curve25519-sha256
	CFG
	local name pid i
	for name in "$@"; do
		for i in $(seq 1 100); do
			pid=$(host_init_pid "$name")
			if [ -n "$pid" ] && hl_ssh "$name" true 2>/dev/null; then
				break
			fi
			sleep 0.1
		done
		[ -n "$pid" ] || { hl_log "host $name did not start:"; cat "$HL_DIR/hosts/$name/init.log" >&2; return 1; }
		hl_ssh "$name" true || { hl_log "host $name: no ssh"; cat "$HL_DIR/hosts/$name/init.log" >&2; return 1; }
		echo "$pid" >"$HL_DIR/hosts/$name/init.pid"
		HL_PIDS="$HL_PIDS $pid"
	done
}

# ssh from the hq host (the namespace the hub and the deploy tools run in).
hl_ssh() { ip netns exec "$HL_PREFIX-hq" ssh -F "$HL_DIR/ssh_config" "$@"; }
hq_exec() { ip netns exec "$HL_PREFIX-hq" "$@"; }
# A path inside a host's root, as this machine reaches it.
host_path() { echo "/proc/$(cat "$HL_DIR/hosts/$1/init.pid")/root$2"; }

hosts_teardown() {
	local d pid up
	for d in "$HL_DIR"/hosts/*/; do
		[ -f "$d/unshare.pid" ] || continue
		pid=$(cat "$d/init.pid" 2>/dev/null || true)
		up=$(cat "$d/unshare.pid")
		# PID 1 of the host: when it ends, the kernel ends every process of
		# the host's PID namespace, and its mounts go with its mount namespace.
		[ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null
	done
	sleep 1
	for d in "$HL_DIR"/hosts/*/; do
		[ -f "$d/unshare.pid" ] || continue
		pid=$(cat "$d/init.pid" 2>/dev/null || true)
		up=$(cat "$d/unshare.pid")
		[ -n "$pid" ] && kill -KILL "$pid" 2>/dev/null
		kill -KILL "$up" 2>/dev/null
		wait "$up" 2>/dev/null || true
	done
	local ns
	for ns in $HL_NS; do
		ip netns del "$ns" 2>/dev/null || true
	done
	HL_NS=""
}
