#!/bin/sh
# Backs up a hub's LMDB data while the hub runs:
#   deploy/backup-hub.sh [-d DATA_DIR] BACKUP_DIR
# DATA_DIR defaults to /var/lib/storesync/hub. BACKUP_DIR is created if
# missing, owner-only (0700), and must not hold a backup already; the copy
# (BACKUP_DIR/data.mdb, 0600) is a consistent snapshot taken in one LMDB read
# transaction (mdb_copy -c, compacted), so ingest goes on meanwhile. A hub
# started on BACKUP_DIR (as its --data-dir) serves what the copy holds, and
# the stores resend whatever came later (they keep acknowledged records for
# retention_days). Prints what it wrote. Exit status 0, 1 with a reason, 2 on
# a usage error. -h or --help prints the help.
set -eu
umask 077
data=/var/lib/storesync/hub
prog=$(basename "$0")
usage() { echo "usage: $prog [-d DATA_DIR] BACKUP_DIR (-h: help)" >&2; exit 2; }
help() {
	cat <<EOF
Usage: $prog [-d DATA_DIR] BACKUP_DIR
Backs up a storesync hub's LMDB database while the hub runs: a consistent
copy taken in one read transaction (mdb_copy -c, compacted); ingest goes on.

  -d DATA_DIR  the hub's data directory (default /var/lib/storesync/hub)
  -h, --help   this text

BACKUP_DIR is created if missing, owner-only (0700), and must not hold a
backup already; the copy is BACKUP_DIR/data.mdb (0600: it holds customers'
data). To restore, stop the hub, copy data.mdb into an empty data directory
and start the hub on it (or start it with --data-dir BACKUP_DIR): the stores
send again what came later (they keep acknowledged records retention_days).
Exit status: 0 written, 1 failed (the reason on stderr), 2 usage error.
EOF
}
case ${1:-} in
--help) help; exit 0 ;;
--?*) echo "backup-hub: unknown option $1" >&2; usage ;;
esac
while getopts :hd: o; do
	case $o in
	d) data=$OPTARG ;;
	h) help; exit 0 ;;
	:) echo "backup-hub: -$OPTARG needs an argument" >&2; usage ;;
	*) echo "backup-hub: unknown option -$OPTARG" >&2; usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || usage
dest=$1
fail() { echo "backup-hub: $*" >&2; exit 1; }
[ -f "$data/data.mdb" ] || fail "$data holds no hub database (data.mdb)"
command -v mdb_copy >/dev/null || fail "mdb_copy not found (Debian: apt-get install lmdb-utils)"
[ ! -e "$dest/data.mdb" ] || fail "$dest already holds a backup (data.mdb): choose another directory"
mkdir -p "$dest" || fail "cannot create $dest"
chmod 0700 "$dest" || fail "cannot make $dest owner-only"
mdb_copy -c "$data" "$dest" || fail "mdb_copy $data $dest failed"
chmod 0600 "$dest/data.mdb"
echo "wrote $dest/data.mdb ($(wc -c <"$dest/data.mdb") bytes) from $data"
