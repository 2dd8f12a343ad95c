#!/bin/sh
# Installs the store agent on this machine by hand (run as root from a built
# tree), for a store HQ has not enrolled over SSH (docs/deploy.md, deploy/enroll):
#   deploy/install-store.sh STORE_ID HUB_ENDPOINT HUB_PUBLIC_KEY [AGENT_DEB]
# HUB_PUBLIC_KEY is the hub's public key: its 40 characters, or a copy of
# the hub.key.pub file HQ gave you (hq-hub keygen wrote it on the hub),
# installed as /etc/storesync/hub.pub (the agent's default hub_key).
# Installs the storesync-agent package (AGENT_DEB, else
# the one cpack makes in the build directory), which creates the storesync
# user and group (whose members may submit on the agent's socket) and the
# unit; writes /etc/storesync/agent.ini's store_id and hub; makes this
# store's key pair in /etc/storesync/agent.key (the secret never leaves
# this machine) and prints the public key HQ registers; then starts the
# agent. Re-running upgrades the package and keeps the config, the key pair
# and the data directory (and so the store's epoch and its buffered records).
set -eu
[ $# -ge 3 ] && [ $# -le 4 ] || {
	echo "usage: $0 STORE_ID HUB_ENDPOINT HUB_PUBLIC_KEY [AGENT_DEB]" >&2
	exit 2
}
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${BUILD_DIR:-$top/build}
deb=${4:-}
if [ -z "$deb" ]; then
	[ -x "$bin/store-agent" ] || { echo "$0: build first (deploy/build.sh)" >&2; exit 1; }
	(cd "$bin" && cpack -G DEB >/dev/null)
	deb=$(ls "$bin"/storesync-agent_*.deb | tail -n 1)
fi
dpkg -i --force-confold "$deb" || apt-get -f install -y
if [ -f "$3" ]; then
	install -m 0644 "$3" /etc/storesync/hub.pub
else
	printf '%s\n' "$3" >/etc/storesync/hub.pub
fi
[ -e /etc/storesync/agent.key ] || store-agent keygen /etc/storesync/agent.key >/dev/null
chown storesync:storesync /etc/storesync/agent.key
chmod 0600 /etc/storesync/agent.key
sed -i -e "s|^store_id *=.*|store_id = $1|" -e "s|^hub *=.*|hub = $2|" /etc/storesync/agent.ini
systemctl enable store-agent
systemctl restart store-agent
echo "store-agent for $1 installed. HQ registers this store's key with:"
echo "  hqctl store add $1 --key '$(cat /etc/storesync/agent.key.pub)'"
echo "then check it with: storectl status"
