/* agent_reepoch: the way out of conflict (`storectl reepoch --confirm`).
 *
 * A data directory restored from an older copy holds less of its epoch
 * than the hub: the seqs after the copy were used once already, for records
 * the hub holds, and the records the tills submitted since the restore
 * would reuse them. The sender stops there (link_state conflict). A reepoch
 * gives the directory a new random epoch and moves into it, in order, as
 * seqs 1, 2, 3..., every record the hub was not seen to acknowledge: those
 * submitted since the restore and those the copy held unacknowledged (some
 * of which the hub may hold from before the rollback). Their content,
 * times and business keys do not change, so the hub applies the ones it
 * lacks and recognises the ones it holds by business key (hub_keys.c:
 * across epochs of a store, the same key and content is the same record,
 * kept with no effect): every record counts exactly once. The acknowledged
 * ones leave the outbox: the hub holds them under the old epoch, and the new
 * epoch cannot send them under their old numbers.
 *
 * Invariant: the records, their business keys and age entries, the
 * requests naming them, the new epoch and the outbox's meta change in ONE
 * transaction, so a crash leaves the directory as it was or wholly in the
 * new epoch. Only in conflict: in any other state the hub's numbers and the
 * outbox's agree, and a new epoch would only resend what is acknowledged. */
#include <stdio.h>
#include <string.h>

#include "agent.h"
#include "ss_fs.h"
#include "ss_time.h"

struct reepoch_args {
	struct agent *a;
	struct outbox_txn t;
	uint64_t epoch;        /* the new one */
	uint64_t from_seq;     /* first record that moves */
	uint64_t base_old, base_new; /* key_base before and after */
	uint64_t dropped;
};

static int renumber(void *arg, const Storesync__Record *r, uint64_t old_seq)
{
	struct reepoch_args *x = arg;
	int rc = keys_renumber(&x->a->db, x->t.txn, r, old_seq, x->base_old, x->base_new);

	return rc ? rc : requests_renumber(&x->a->db, x->t.txn, r, old_seq);
}

static int reepoch_body(MDB_txn *txn, void *arg)
{
	struct reepoch_args *x = arg;
	int rc;

	outbox_txn_begin(&x->t, &x->a->outbox, txn, ss_now_ms());
	if ((rc = outbox_txn_reepoch(&x->t, x->epoch, x->from_seq, renumber, x, &x->dropped)) != 0)
		return rc;
	if ((rc = agent_db_meta_put(&x->a->db, txn, "key_base", x->base_new)) != 0)
		return rc;
	return outbox_txn_end(&x->t);
}

/* What a reepoch would do now, into r. */
static void plan(const struct agent *a, Storesync__ReepochReply *r)
{
	const struct agent_outbox *ob = &a->outbox;

	r->old_epoch = ob->epoch;
	r->has_old_epoch = 1;
	r->hub_seq = a->sender.hub_seq;
	r->has_hub_seq = 1;
	r->moved = ob->last_seq > ob->acked_seq ? ob->last_seq - ob->acked_seq : 0;
	r->has_moved = 1;
	r->first_moved_seq = r->moved ? ob->acked_seq + 1 : 0;
	r->has_first_moved_seq = 1;
	r->last_moved_seq = r->moved ? ob->last_seq : 0;
	r->has_last_moved_seq = 1;
	r->dropped = ob->acked_seq >= ob->first_seq ? ob->acked_seq - ob->first_seq + 1 : 0;
	r->has_dropped = 1;
}

/* Does it: 0, or -1 with the reason in err. */
static int reepoch_now(struct agent *a, Storesync__ReepochReply *r, char *err, size_t errlen)
{
	struct reepoch_args x = { .a = a, .from_seq = a->outbox.acked_seq + 1,
		.base_old = a->db.key_base, .base_new = a->db.key_base + a->outbox.last_seq };
	char how[160];

	while (x.epoch == 0 || x.epoch == a->outbox.epoch)
		if (ss_fs_random64(&x.epoch) != 0) {
			snprintf(err, errlen, "cannot draw a random epoch");
			return -1;
		}
	if (ss_lmdb_write(&a->db.lmdb, reepoch_body, &x, err, errlen) != 0)
		return -1;
	outbox_txn_adopt(&x.t);
	a->db.key_base = x.base_new;
	r->new_epoch = x.epoch;
	r->has_new_epoch = 1;
	r->dropped = x.dropped;
	r->done = 1;
	r->has_done = 1;
	snprintf(how, sizeof how, "reepoch: %llu records moved from epoch %016llx to %016llx "
		"as seqs 1..%llu, %llu acknowledged ones left the outbox; sending again",
		(unsigned long long)r->moved, (unsigned long long)r->old_epoch,
		(unsigned long long)x.epoch, (unsigned long long)r->moved,
		(unsigned long long)x.dropped);
	events_conflict_end(a, how);
	sender_restart(a);
	return 0;
}

void reepoch_answer(struct agent *a, struct local_request *p)
{
	Storesync__LocalReply reply = STORESYNC__LOCAL_REPLY__INIT;
	Storesync__ReepochReply r = STORESYNC__REEPOCH_REPLY__INIT;
	char err[256] = "";

	if (!a->sender.conflict) {
		snprintf(err, sizeof err, "not in conflict (link_state %s): a reepoch is only for a "
			"store whose data directory was rolled back behind the hub",
			sender_link_state(a));
	} else {
		plan(a, &r);
		if (p->req->reepoch->confirm && reepoch_now(a, &r, err, sizeof err) != 0)
			ss_error("reepoch failed, nothing changed: %s", err);
	}
	if (err[0]) {
		reply.error = err;
	} else {
		reply.kind_case = STORESYNC__LOCAL_REPLY__KIND_REEPOCH;
		reply.reepoch = &r;
	}
	local_reply(a, p, &reply);
}
