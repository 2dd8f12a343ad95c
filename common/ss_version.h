/* ss_version: what `--version` prints on every program. SS_VERSION is the
 * CMake project version (CMakeLists.txt), the same string the agent reports
 * in Hello and heartbeats and `hqctl stores` shows as agent_version. */
#ifndef SS_VERSION_H
#define SS_VERSION_H

#include <stdio.h>

/* "NAME storesync VERSION" on stdout. */
static inline void ss_version_print(const char *name)
{
	printf("%s storesync %s\n", name, SS_VERSION);
}

#endif
