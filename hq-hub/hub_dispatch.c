/* hub_dispatch: the one table from a work kind to its handler, and from a
 * link message's kind to a work kind. A link message whose kind is not in
 * link_kinds (unset, a kind only the hub sends, or one from a newer peer)
 * has no work kind and is refused by the writer: nothing falls back to
 * another kind's handling. */
#include <string.h>

#include "hub_work.h"

extern const struct hub_handler hub_handle_hello, hub_handle_batch, hub_handle_heartbeat;

const struct hub_handler *const hub_handlers[HUB_WORK_KINDS] = {
	[HUB_WORK_HELLO] = &hub_handle_hello,
	[HUB_WORK_BATCH] = &hub_handle_batch,
	[HUB_WORK_HEARTBEAT] = &hub_handle_heartbeat,
};

static const struct {
	Storesync__LinkMessage__KindCase msg;
	enum hub_work_kind work;
} link_kinds[] = {
	{ STORESYNC__LINK_MESSAGE__KIND_HELLO, HUB_WORK_HELLO },
	{ STORESYNC__LINK_MESSAGE__KIND_BATCH, HUB_WORK_BATCH },
	{ STORESYNC__LINK_MESSAGE__KIND_HEARTBEAT, HUB_WORK_HEARTBEAT },
};

int hub_link_work_kind(Storesync__LinkMessage__KindCase k)
{
	for (size_t i = 0; i < sizeof link_kinds / sizeof link_kinds[0]; i++)
		if (link_kinds[i].msg == k)
			return (int)link_kinds[i].work;
	return -1;
}

/* Operator writes, by the name hqctl sends as `what`. */
static const struct {
	const char *what;
	enum hub_work_kind work;
} op_kinds[] = {
	{ NULL, HUB_WORK_KINDS },
};

int hub_op_work_kind(const char *what)
{
	for (size_t i = 0; what && op_kinds[i].what; i++)
		if (strcmp(op_kinds[i].what, what) == 0)
			return (int)op_kinds[i].work;
	return -1;
}
