/* ss_config: INI config files (inih) into typed fields. Text stops here: the
 * daemons see only the filled struct. A key the program does not know is an
 * error, so a typo in a config file is reported instead of ignored. */
#ifndef SS_CONFIG_H
#define SS_CONFIG_H

#include <stddef.h>
#include <stdint.h>

/* SS_CFG_MODE: a file mode in octal ("0660"), stored as int64_t in 0..0777.
 * SS_CFG_RETIRED: a key an earlier version read and this one does not: a
 * config file kept across an upgrade still loads, with a warning on stderr
 * naming the key (dst unused). */
enum ss_config_type { SS_CFG_STRING, SS_CFG_INT64, SS_CFG_MODE, SS_CFG_RETIRED };

struct ss_config_item {
	const char *section;
	const char *name;
	enum ss_config_type type;
	void *dst;         /* char[dst_len] for strings, int64_t for integers and modes */
	size_t dst_len;
	int64_t min, max;  /* bounds for integers */
};

/* Loads path, filling every item found. items ends with a zeroed entry.
 * Returns 0, or -1 with a one-line reason naming the file and line. */
int ss_config_load(const char *path, const struct ss_config_item *items, char *err,
	size_t errlen);

/* Parses one integer value for item (used for flags too, so flag and file
 * agree on bounds). Returns 0 or -1 with a reason. Accepts k/M/G suffixes
 * (powers of 1024) so sizes read naturally. */
int ss_config_set(const struct ss_config_item *item, const char *value, char *err,
	size_t errlen);

/* A flag: the item named name (whatever its section) set to value. 0, or
 * 2 (a usage error) with "PROG: reason" on stderr. */
int ss_config_flag(const struct ss_config_item *items, const char *prog, const char *name,
	const char *value);

#endif
