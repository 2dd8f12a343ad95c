#!/bin/sh
# Backs up a hub's LMDB data while the hub runs:
#   deploy/backup-hub.sh [-d DATA_DIR] BACKUP_DIR
# DATA_DIR defaults to /var/lib/storesync/hub. BACKUP_DIR is created if
# missing, owner-only (0700), and must not hold a backup already; the copy
# (BACKUP_DIR/data.mdb, 0600) is a consistent snapshot taken in one LMDB read
# transaction (mdb_copy -c, compacted), so ingest goes on meanwhile. A hub
# started on BACKUP_DIR (as its --data-dir) serves what the copy holds, and
# the stores resend whatever came later (they keep acknowledged records for
# retention_days). Prints what it wrote. Exit status 0, or 1 with a reason.
set -eu
umask 077
data=/var/lib/storesync/hub
usage() { echo "usage: $0 [-d DATA_DIR] BACKUP_DIR" >&2; exit 2; }
while getopts d: o; do
	case $o in
	d) data=$OPTARG ;;
	*) usage ;;
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
