/* The documented hub backup (deploy/backup-hub.sh) works as written: it
 * copies a running hub into a directory that does not exist yet, makes
 * the directory and the copy owner-only, refuses to overwrite a backup,
 * and a second hub started on the copy holds exactly what the first one
 * did (the same `hqctl dump`, view by view and key by key). */
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "testlib.h"

static void expect_same_dump(const char *query_a, const char *query_b)
{
	Storesync__QueryReply *a = tl_query_ok(query_a, "dump", NULL);
	Storesync__QueryReply *b = tl_query_ok(query_b, "dump", NULL);

	ck_assert_uint_gt(a->n_rows, 0);
	ck_assert_uint_eq(a->n_rows, b->n_rows);
	for (size_t i = 0; i < a->n_rows; i++)
		for (size_t c = 0; c < 3; c++)
			ck_assert_str_eq(a->rows[i]->cells[c]->s, b->rows[i]->cells[c]->s);
	tl_query_free(a);
	tl_query_free(b);
}

START_TEST(backup_of_a_running_hub_restores_the_same_hub)
{
	char local[320], data[320], dest[300], out[400], file[420];
	struct tl_env e, copy;
	struct stat st;
	pid_t hub, agent, restored;

	tl_env_init(&e);
	tl_env_init(&copy);
	tl_agent_paths(&e, "S1", local, sizeof local, data, sizeof data);
	snprintf(dest, sizeof dest, "%s/backups/monday", e.dir);
	snprintf(file, sizeof file, "%s/data.mdb", dest);
	snprintf(out, sizeof out, "%s/backup.out", e.dir);
	hub = tl_start_hub(&e, NULL);
	agent = tl_start_agent(&e, "S1", NULL);
	ck_assert_int_eq(tl_submit_sales(local, 50, 1200, "R", 1, NULL, 5000), 50);
	ck_assert_int_eq(tl_wait_drained(local, 20000), 50);
	tl_stop(agent);   /* nothing changes the hub from here (no heartbeats) */

	ck_assert_int_eq(tl_sh("'%s/deploy/backup-hub.sh' -d '%s' '%s' >'%s'", SS_SOURCE_DIR,
		e.hub_data, dest, out), 0);
	ck_assert_int_eq(tl_sh("grep -q '^wrote %s/data.mdb' '%s'", dest, out), 0);
	ck_assert_int_eq(stat(dest, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0700);
	ck_assert_int_eq(stat(file, &st), 0);
	ck_assert_int_eq(st.st_mode & 07777, 0600);
	/* A second backup into the same place is refused, the first kept. */
	ck_assert_int_eq(tl_sh("'%s/deploy/backup-hub.sh' -d '%s' '%s' 2>/dev/null", SS_SOURCE_DIR,
		e.hub_data, dest), 1);

	snprintf(copy.hub_data, sizeof copy.hub_data, "%s", dest);
	restored = tl_start_hub(&copy, NULL);
	expect_same_dump(e.hub_query, copy.hub_query);
	ck_assert_int_eq(tl_store_field(copy.hub_query, "S1", "records"), 50);
	tl_stop(restored);
	tl_stop(hub);
	tl_env_cleanup(&copy);
	tl_env_cleanup(&e);
}
END_TEST

int main(void)
{
	const TTest *const tests[] = { backup_of_a_running_hub_restores_the_same_hub };

	return tl_run("backup", tests, sizeof tests / sizeof tests[0], 30);
}
