/* hub_dispatch: the one table from a work kind to its handler, and from a
 * link message's kind to a work kind. A link message whose kind is not in
 * link_kinds (unset, a kind only the hub sends, or one from a newer peer)
 * has no work kind and is refused by the writer: nothing falls back to
 * another kind's handling. */
#include <string.h>

#include "hub_work.h"

extern const struct hub_handler hub_handle_hello, hub_handle_batch, hub_handle_heartbeat,
	hub_handle_update_ack, hub_op_store_add, hub_op_store_set, hub_op_store_import,
	hub_op_price_push, hub_op_policy_set, hub_op_replenish_approve, hub_op_replenish_refuse,
	hub_handle_notices, hub_handle_log_prune, hub_handle_live_flush, hub_op_store_rekey,
	hub_op_store_retire, hub_op_store_revoke, hub_op_operator_add, hub_op_operator_revoke;

const struct hub_handler *const hub_handlers[HUB_WORK_KINDS] = {
	[HUB_WORK_HELLO] = &hub_handle_hello,
	[HUB_WORK_BATCH] = &hub_handle_batch,
	[HUB_WORK_HEARTBEAT] = &hub_handle_heartbeat,
	[HUB_WORK_UPDATE_ACK] = &hub_handle_update_ack,
	[HUB_WORK_OP_STORE_ADD] = &hub_op_store_add,
	[HUB_WORK_OP_STORE_SET] = &hub_op_store_set,
	[HUB_WORK_OP_STORE_IMPORT] = &hub_op_store_import,
	[HUB_WORK_OP_PRICE_PUSH] = &hub_op_price_push,
	[HUB_WORK_OP_POLICY_SET] = &hub_op_policy_set,
	[HUB_WORK_OP_REPLENISH_APPROVE] = &hub_op_replenish_approve,
	[HUB_WORK_OP_REPLENISH_REFUSE] = &hub_op_replenish_refuse,
	[HUB_WORK_OP_STORE_REKEY] = &hub_op_store_rekey,
	[HUB_WORK_OP_STORE_RETIRE] = &hub_op_store_retire,
	[HUB_WORK_OP_STORE_REVOKE] = &hub_op_store_revoke,
	[HUB_WORK_OP_OPERATOR_ADD] = &hub_op_operator_add,
	[HUB_WORK_OP_OPERATOR_REVOKE] = &hub_op_operator_revoke,
	[HUB_WORK_NOTICE_SCAN] = &hub_handle_notices,
	[HUB_WORK_LOG_PRUNE] = &hub_handle_log_prune,
	[HUB_WORK_LIVE_FLUSH] = &hub_handle_live_flush,
};

static const struct {
	Storesync__LinkMessage__KindCase msg;
	enum hub_work_kind work;
} link_kinds[] = {
	{ STORESYNC__LINK_MESSAGE__KIND_HELLO, HUB_WORK_HELLO },
	{ STORESYNC__LINK_MESSAGE__KIND_BATCH, HUB_WORK_BATCH },
	{ STORESYNC__LINK_MESSAGE__KIND_HEARTBEAT, HUB_WORK_HEARTBEAT },
	{ STORESYNC__LINK_MESSAGE__KIND_UPDATE_ACK, HUB_WORK_UPDATE_ACK },
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
	{ "store add", HUB_WORK_OP_STORE_ADD },
	{ "store set", HUB_WORK_OP_STORE_SET },
	{ "store import", HUB_WORK_OP_STORE_IMPORT },
	{ "price push", HUB_WORK_OP_PRICE_PUSH },
	{ "policy set", HUB_WORK_OP_POLICY_SET },
	{ "replenish approve", HUB_WORK_OP_REPLENISH_APPROVE },
	{ "replenish refuse", HUB_WORK_OP_REPLENISH_REFUSE },
	{ "store rekey", HUB_WORK_OP_STORE_REKEY },
	{ "store retire-key", HUB_WORK_OP_STORE_RETIRE },
	{ "store revoke", HUB_WORK_OP_STORE_REVOKE },
	{ "operator add", HUB_WORK_OP_OPERATOR_ADD },
	{ "operator revoke", HUB_WORK_OP_OPERATOR_REVOKE },
	{ NULL, HUB_WORK_KINDS },
};

int hub_op_work_kind(const char *what)
{
	for (size_t i = 0; what && op_kinds[i].what; i++)
		if (strcmp(op_kinds[i].what, what) == 0)
			return (int)op_kinds[i].work;
	return -1;
}
