/* hqctl versions: the fleet by agent version, the question HQ IT asks
 * during a rollout (deploy/rollout). Each store counts once, under the
 * version its agent last reported; a registered store never heard from
 * counts under "(never heard from)"; newest version first. */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "testlib.h"

START_TEST(versions_counts_stores_per_agent_version)
{
	struct tl_env e;
	char out[400];
	pid_t hub, a1, a2;

	tl_env_init(&e);
	hub = tl_start_hub(&e, NULL);
	a1 = tl_start_agent(&e, "S1", NULL);
	a2 = tl_start_agent(&e, "S2", NULL);
	ck_assert_int_eq(tl_register_store(&e, "S3"), 0);
	for (int i = 0; i < 100; i++) {
		if (tl_sh("'%s/hqctl' --hub '%s' stores --json | grep -c '\"agent_version\": \"%s\"' "
			"| grep -qx 2", SS_BIN_DIR, e.hub_query, SS_VERSION) == 0)
			break;
		usleep(100 * 1000);
	}
	snprintf(out, sizeof out, "%s/versions.json", e.dir);
	ck_assert_int_eq(tl_sh("'%s/hqctl' --hub '%s' versions --json >'%s'", SS_BIN_DIR,
		e.hub_query, out), 0);
	ck_assert_int_eq(tl_sh("python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); "
		"sys.exit(d != [{\"agent_version\": sys.argv[2], \"stores\": 2, "
		"\"store_ids\": [\"S1\", \"S2\"]}, {\"agent_version\": \"(never heard from)\", "
		"\"stores\": 1, \"store_ids\": [\"S3\"]}])' '%s' '%s' || { cat '%s'; exit 1; }", out,
		SS_VERSION, out), 0);
	ck_assert_int_eq(tl_sh("'%s/hqctl' --hub '%s' versions | grep -Eq '^%s +2 +S1,S2$'",
		SS_BIN_DIR, e.hub_query, SS_VERSION), 0);
	/* And each store's version in the default stores table. */
	ck_assert_int_eq(tl_sh("'%s/hqctl' --hub '%s' stores | grep -E '^S[12] ' | "
		"grep -c ' %s ' | grep -qx 2", SS_BIN_DIR, e.hub_query, SS_VERSION), 0);
	tl_stop(a1);
	tl_stop(a2);
	tl_stop(hub);
	tl_env_cleanup(&e);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = { versions_counts_stores_per_agent_version };

	return tl_run("versions", tests, sizeof tests / sizeof tests[0], 60);
}
