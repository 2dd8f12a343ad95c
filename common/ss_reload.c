/* ss_reload: the config file read again on SIGHUP, compared with what the
 * daemon runs with. Both tables come from the daemon's one list of
 * settings, so an item at index i names the same setting in both. A file
 * that no longer parses changes nothing: the daemon keeps running as it
 * was and says why. */
#include "ss_reload.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int item_differs(const struct ss_config_item *a, const struct ss_config_item *b)
{
	if (a->type == SS_CFG_RETIRED)
		return 0;
	if (a->type == SS_CFG_STRING)
		return strncmp(a->dst, b->dst, a->dst_len) != 0;
	return *(const int64_t *)a->dst != *(const int64_t *)b->dst;
}

int ss_reload_read(const char *path, const struct ss_config_item *live,
	const struct ss_config_item *fresh, const char *skip, char *changed, size_t changed_len,
	char *err, size_t errlen)
{
	size_t used = 0;
	int n = 0;

	changed[0] = '\0';
	if (ss_config_load(path, fresh, err, errlen) != 0)
		return -1;
	for (size_t i = 0; live[i].name; i++) {
		if (!item_differs(&live[i], &fresh[i]))
			continue;
		n++;
		if (skip && strcmp(live[i].name, skip) == 0)
			continue;
		if (used < changed_len) {
			int w = snprintf(changed + used, changed_len - used, "%s%s", used ? ", " : "",
				live[i].name);

			used += w > 0 ? (size_t)w : 0;
		}
	}
	return n;
}
