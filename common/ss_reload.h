/* ss_reload: what SIGHUP makes of a daemon's config file. The daemon builds
 * two item tables over the same settings, one over its live structs and one
 * over copies of them, and ss_reload_read loads the file into the copies
 * and names every setting whose value there differs from the live one. The
 * daemon then applies what it can apply live (log_level) and logs the rest
 * as waiting for a restart. */
#ifndef SS_RELOAD_H
#define SS_RELOAD_H

#include <stddef.h>

#include "ss_config.h"

/* Loads path into fresh (whose dst fields start as copies of live's) and
 * writes the names of the items that now differ, except skip (NULL: none),
 * into changed, comma separated ("" when none). Returns the number of
 * differing items counting skip, or -1 with a reason (the file does not
 * parse: nothing is applied). */
int ss_reload_read(const char *path, const struct ss_config_item *live,
	const struct ss_config_item *fresh, const char *skip, char *changed, size_t changed_len,
	char *err, size_t errlen);

#endif
