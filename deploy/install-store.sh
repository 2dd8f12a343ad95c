#!/bin/sh
# Installs the store agent on this machine (run as root from a built tree):
#   deploy/install-store.sh STORE_ID HUB_ENDPOINT HUB_PUBLIC_KEY
# HUB_PUBLIC_KEY is the hub's public key: its 40 characters, or the hub.pub
# file HQ gave you. Copies the binaries to /usr/local/bin, creates the
# storesync group (whose members may submit on the agent's socket), writes
# /etc/storesync/agent.ini, makes this store's key pair in
# /etc/storesync/agent.key (the secret never leaves this machine) and
# prints the public key HQ registers, then enables the systemd unit.
# Re-running upgrades the binaries and keeps the config, the key pair and
# the data directory (and so the store's epoch and its buffered records).
set -eu
[ $# -eq 3 ] || { echo "usage: $0 STORE_ID HUB_ENDPOINT HUB_PUBLIC_KEY" >&2; exit 2; }
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${BUILD_DIR:-$top/build}
[ -x "$bin/store-agent" ] || { echo "$0: build first (deploy/build.sh)" >&2; exit 1; }
install -m 0755 "$bin/store-agent" "$bin/storectl" /usr/local/bin/
getent group storesync >/dev/null || groupadd --system storesync
mkdir -p /etc/storesync
if [ -f "$3" ]; then
	install -m 0644 "$3" /etc/storesync/hub.pub
else
	printf '%s\n' "$3" >/etc/storesync/hub.pub
fi
[ -e /etc/storesync/agent.key ] || /usr/local/bin/store-agent keygen /etc/storesync/agent.key
if [ ! -e /etc/storesync/agent.ini ]; then
	sed -e "s|^store_id = .*|store_id = $1|" -e "s|^hub = .*|hub = $2|" \
		"$top/deploy/agent.ini" >/etc/storesync/agent.ini
fi
install -m 0644 "$top/deploy/store-agent.service" /etc/systemd/system/
systemctl daemon-reload
systemctl enable --now store-agent
echo "store-agent for $1 installed. HQ registers this store's key with:"
echo "  hqctl store add $1 --key '$(cat /etc/storesync/agent.key.pub)'"
echo "then check it with: storectl status"
