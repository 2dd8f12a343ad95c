/* testlib_curve: CurveZMQ keys for the integration tests. The hub of a test
 * runs with Curve on, as in production; every test directory holds a keys/
 * directory with the hub's pair and one pair per store (made on first use),
 * and a store is registered with its key at the hub's admin socket before
 * anything of it connects: tl_start_hub registers every store key the
 * directory has, tl_start_agent and a link peer's first message the one
 * they need when the hub already runs. */
#include "testlib.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "ss_curve.h"

#define STORE_PREFIX "store-"

/* DIR of an endpoint "ipc://DIR/NAME" of a test directory. */
static void dir_of(const char *endpoint, char *dir, size_t len)
{
	const char *p = strncmp(endpoint, "ipc://", 6) == 0 ? endpoint + 6 : endpoint;
	const char *slash = strrchr(p, '/');

	ck_assert_msg(slash != NULL, "not a test endpoint: %s", endpoint);
	snprintf(dir, len, "%.*s", (int)(slash - p), p);
}

void tl_key_paths(const char *dir, const char *who, char *secret, size_t slen, char *pub,
	size_t plen)
{
	char err[512], keys[400];

	snprintf(keys, sizeof keys, "%s/keys", dir);
	if (access(keys, F_OK) != 0)
		ck_assert_int_eq(tl_sh("mkdir -p '%s'", keys), 0);
	snprintf(secret, slen, "%s/%s.key", keys, who);
	snprintf(pub, plen, "%s/%s.key.pub", keys, who);
	if (access(secret, F_OK) != 0)
		ck_assert_msg(ss_curve_keygen(secret, pub, err, sizeof err) == 0, "%s", err);
}

/* The key pair file of store in dir (made on first use). */
static void store_key(const char *dir, const char *store, char *secret, size_t slen, char *pub,
	size_t plen)
{
	char who[64];

	snprintf(who, sizeof who, STORE_PREFIX "%s", store);
	tl_key_paths(dir, who, secret, slen, pub, plen);
}

void tl_store_key_args(const struct tl_env *e, const char *store, char *secret, size_t slen,
	char *hub_pub, size_t hlen)
{
	char pub[400], hub_secret[400];

	store_key(e->dir, store, secret, slen, pub, sizeof pub);
	tl_key_paths(e->dir, "hub", hub_secret, sizeof hub_secret, hub_pub, hlen);
}

/* Registers store with its key over dir's admin socket; 0 when the store
 * holds the key now (added, or already), or holds another one; -1 when no
 * hub answers or it refused for another reason. */
static int register_store(const char *dir, const char *store)
{
	char secret[400], pub[400], admin[400], key[SS_CURVE_KEY_CHARS + 1], err[512];
	Storesync__QueryReply *r;
	int rc = -1;

	store_key(dir, store, secret, sizeof secret, pub, sizeof pub);
	ck_assert_msg(ss_curve_load_public(pub, key, err, sizeof err) == 0, "%s", err);
	snprintf(admin, sizeof admin, "ipc://%s/" TL_ADMIN_SOCKET, dir);
	snprintf(secret, sizeof secret, "%s/" TL_ADMIN_SOCKET, dir);
	if (access(secret, F_OK) != 0)
		return -1;
	r = tl_query(admin, "store add", "store", store, "key", key, NULL);
	if (r) {
		/* Refused because the store already has another key: a test that
		 * rekeyed it meant to. Any other refusal is a failure. */
		rc = !r->error || strstr(r->error, "has a key: change it with store rekey") ? 0 : -1;
		if (rc != 0)
			fprintf(stderr, "register %s refused: %s\n", store, r->error);
		tl_query_free(r);
	}
	return rc;
}

int tl_register_store(const struct tl_env *e, const char *store)
{
	return register_store(e->dir, store);
}

void tl_register_all(const struct tl_env *e)
{
	char keys[400];
	struct dirent *d;
	DIR *dp;

	snprintf(keys, sizeof keys, "%s/keys", e->dir);
	if (!(dp = opendir(keys)))
		return;
	while ((d = readdir(dp)) != NULL) {
		size_t n = strlen(d->d_name), pre = strlen(STORE_PREFIX);
		char store[64];

		if (n > pre + 4 && strncmp(d->d_name, STORE_PREFIX, pre) == 0
			&& strcmp(d->d_name + n - 4, ".key") == 0) {
			snprintf(store, sizeof store, "%.*s", (int)(n - pre - 4), d->d_name + pre);
			ck_assert_msg(register_store(e->dir, store) == 0,
				"could not register store %s", store);
		}
	}
	closedir(dp);
}

static void keys_in(const char *dir, const char *store, struct ss_curve_pair *pair,
	char hub_key[SS_CURVE_KEY_CHARS + 1])
{
	char secret[400], pub[400], hub_secret[400], hub_pub[400], err[512];

	store_key(dir, store, secret, sizeof secret, pub, sizeof pub);
	tl_key_paths(dir, "hub", hub_secret, sizeof hub_secret, hub_pub, sizeof hub_pub);
	register_store(dir, store);
	ck_assert_msg(ss_curve_load_pair(secret, pair, err, sizeof err) == 0, "%s", err);
	ck_assert_msg(ss_curve_load_public(hub_pub, hub_key, err, sizeof err) == 0, "%s", err);
}

static void curve_in(void *sock, const char *dir, const char *store)
{
	struct ss_curve_pair pair;
	char hub_key[SS_CURVE_KEY_CHARS + 1];

	keys_in(dir, store, &pair, hub_key);
	ck_assert_int_eq(ss_curve_client(sock, &pair, hub_key), 0);
}

void tl_curve_keys(const struct tl_env *e, const char *store, struct ss_curve_pair *pair,
	char hub_key[SS_CURVE_KEY_CHARS + 1])
{
	keys_in(e->dir, store, pair, hub_key);
}

void tl_curve_as(void *sock, const char *endpoint, const char *store)
{
	char dir[300];

	dir_of(endpoint, dir, sizeof dir);
	curve_in(sock, dir, store);
}

void tl_curve_env(void *sock, const struct tl_env *e, const char *store)
{
	curve_in(sock, e->dir, store);
}

void tl_curve_serve_as_hub(void *sock, const char *endpoint)
{
	char dir[300], secret[400], pub[400], err[512];
	struct ss_curve_pair pair;

	dir_of(endpoint, dir, sizeof dir);
	tl_key_paths(dir, "hub", secret, sizeof secret, pub, sizeof pub);
	ck_assert_msg(ss_curve_load_pair(secret, &pair, err, sizeof err) == 0, "%s", err);
	/* No ZAP handler runs in the test's context: any client key is let in,
	 * as a stand-in hub needs (the real hub's door is hub_zap.c). */
	ck_assert_int_eq(ss_curve_server(sock, &pair, "storesync-test"), 0);
}
