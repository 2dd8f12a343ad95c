/* agent_status: what `storectl status` and the heartbeat report about the
 * agent. Read-only: computed from the outbox, the databases' sizes and the
 * sender's state. */
#include <sys/statvfs.h>

#include "agent.h"
#include "ss_time.h"

/* What an unprivileged writer may still put on the data directory's file
 * system into *bytes: 1, or 0 when it cannot be told (the field then stays
 * absent). */
static int disk_free(const char *dir, uint64_t *bytes)
{
	struct statvfs vfs;

	if (statvfs(dir, &vfs) != 0)
		return 0;
	*bytes = (uint64_t)vfs.f_bavail * (uint64_t)vfs.f_frsize;
	return 1;
}

void status_fill(struct agent *a, Storesync__StatusReply *st)
{
	const struct agent_outbox *ob = &a->outbox;
	int64_t oldest_ms = outbox_oldest_unacked_ms(&a->outbox);
	uint64_t other_bytes = 0;

	agent_db_other_bytes_now(&a->db, &other_bytes);

	st->store_id = a->outbox.store_id;
	st->epoch = ob->epoch;
	st->has_epoch = 1;
	st->last_seq = ob->last_seq;
	st->has_last_seq = 1;
	st->acked_seq = ob->acked_seq;
	st->has_acked_seq = 1;
	st->backlog = ob->last_seq - ob->acked_seq;
	st->has_backlog = 1;
	st->oldest_unsent_age_ms = oldest_ms ? ss_now_ms() - oldest_ms : 0;
	st->has_oldest_unsent_age_ms = 1;
	st->last_ack_ms = a->sender.last_ack_ms;
	st->has_last_ack_ms = 1;
	st->link_state = (char *)sender_link_state(a);
	st->conflict_hub_seq = a->sender.hub_seq;
	st->has_conflict_hub_seq = a->sender.conflict;
	st->budget_bytes = a->db.budget_bytes;
	st->has_budget_bytes = 1;
	st->used_bytes = ob->used_bytes + other_bytes;
	st->has_used_bytes = 1;
	st->has_disk_free_bytes = disk_free(a->cfg.data_dir, &st->disk_free_bytes);
	st->retained = ob->acked_seq >= ob->first_seq ? ob->acked_seq - ob->first_seq + 1 : 0;
	st->has_retained = 1;
	st->refused_requests = a->refused_requests;
	st->has_refused_requests = 1;
	st->local_clients = (uint64_t)a->local_admit.admitted;
	st->has_local_clients = 1;
	st->max_local_clients = (uint64_t)a->cfg.max_local_clients;
	st->has_max_local_clients = 1;
	st->local_clients_refused = a->local_clients_refused;
	st->has_local_clients_refused = 1;
	st->hub = a->cfg.hub;
	st->batches_sent = a->sender.batches_sent;
	st->has_batches_sent = 1;
	st->resends = a->sender.resends;
	st->has_resends = 1;
	st->hub_errors = a->sender.hub_errors;
	st->has_hub_errors = 1;
	st->applied_update_id = a->apply.ids.applied;
	st->has_applied_update_id = 1;
	st->price_update_id = a->apply.ids.price;
	st->has_price_update_id = 1;
	st->policy_update_id = a->apply.ids.policy;
	st->has_policy_update_id = 1;
}

void status_answer(struct agent *a, struct local_request *p)
{
	Storesync__LocalReply reply = STORESYNC__LOCAL_REPLY__INIT;
	Storesync__StatusReply st = STORESYNC__STATUS_REPLY__INIT;

	status_fill(a, &st);
	reply.kind_case = STORESYNC__LOCAL_REPLY__KIND_STATUS;
	reply.status = &st;
	local_reply(a, p, &reply);
}
