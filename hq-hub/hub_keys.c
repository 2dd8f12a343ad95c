/* hub_keys: where the hub recognises a record its store already sent
 * (guarantee 8, the hub's half; the agent's is store-agent/agent_keys.c).
 *
 *   biz_keys  store_id '\0' business key (ss_bizkey: kind, id [, step])
 *             -> epoch (u64 BE), seq (u64 BE), time_ms (u64 BE), content hash
 *
 * Keys are per store, not per epoch: a reinstalled store starts a new
 * epoch and an empty agent index, and its tills may retry what the old
 * installation had already sent. A record whose key the hub holds with the
 * same hash is that record again (kept in the event log, no effect, counted
 * in the store's biz_duplicates); with another hash it is refused.
 *
 * Why this is not a view's check: a view's check can only refuse, and a
 * duplicate is not refused, it is the same record. It is decided before any
 * view sees the record, so no view ever needs to know about duplicates.
 *
 * Invariant: a key is written in the transaction that applies its record
 * (hub_store_apply), and only for a record that was applied: it is claimed
 * before the views judge the record (one lookup that also tells a
 * duplicate) and given back in the same transaction when they refuse it, so
 * a refused record holds no key and its correction is not mistaken for a
 * conflict.
 * Keys stay as long as the event log does. */
#include <stdio.h>
#include <string.h>

#include "hub.h"

#define ENTRY_BYTES (8 + 8 + 8 + SS_BIZKEY_HASH_BYTES)

static void store_key(struct hub_key *k, const char *store_id)
{
	size_t n = strlen(store_id);

	memcpy(k->key, store_id, n);
	k->key[n] = '\0';
	memcpy(k->key + n + 1, k->biz.bytes, k->biz.len);
	k->len = n + 1 + k->biz.len;
}

/* The entry of k as record r (seq set) of epoch. */
static void entry_of(uint8_t entry[ENTRY_BYTES], uint64_t epoch, const Storesync__Record *r,
	const struct hub_key *k)
{
	ss_be64_put(entry, epoch);
	ss_be64_put(entry + 8, r->seq);
	ss_be64_put(entry + 16, (uint64_t)r->time_ms);
	memcpy(entry + 24, k->hash, SS_BIZKEY_HASH_BYTES);
}

/* One lookup for both outcomes: the key is put unless it is there, and
 * what is there comes back in its place. */
int hub_keys_claim(struct hub *h, MDB_txn *txn, const char *store_id, uint64_t epoch,
	const Storesync__Record *r, struct hub_key *k, char *reason, size_t len)
{
	char text[SS_BIZKEY_ID_MAX + 48];
	uint8_t entry[ENTRY_BYTES];
	const uint8_t *e;
	MDB_val key, d = { sizeof entry, entry };
	int rc;

	if (ss_bizkey_of(r, &k->biz) != 0) {
		snprintf(reason, len, "record has no business key");
		return HUB_KEY_CONFLICT;
	}
	if (!k->hashed) {
		snprintf(reason, len, "cannot hash the record's content (libsodium)");
		return HUB_KEY_CONFLICT;
	}
	store_key(k, store_id);
	key = (MDB_val){ k->len, k->key };
	entry_of(entry, epoch, r, k);
	if ((rc = mdb_put(txn, h->biz_keys, &key, &d, MDB_NOOVERWRITE)) == 0)
		return HUB_KEY_NEW;
	if (rc != MDB_KEYEXIST)
		return rc;
	if (d.mv_size != ENTRY_BYTES)
		return MDB_CORRUPTED;
	e = d.mv_data;
	if (memcmp(e + 24, k->hash, SS_BIZKEY_HASH_BYTES) == 0)
		return HUB_KEY_SAME;
	ss_bizkey_text(&k->biz, text, sizeof text);
	snprintf(reason, len, "%s already recorded as seq %llu of epoch %016llx with different "
		"content", text, (unsigned long long)ss_be64_get(e + 8),
		(unsigned long long)ss_be64_get(e));
	return HUB_KEY_CONFLICT;
}

int hub_keys_release(struct hub *h, MDB_txn *txn, const struct hub_key *k)
{
	MDB_val key = { k->len, (void *)k->key };

	return mdb_del(txn, h->biz_keys, &key, NULL);
}
