/* ss_record: facts about a Record that the agent, the hub and the tools must
 * agree on. Invariant: a record kind's name is the name of its field in the
 * Record oneof (taken from the generated descriptor, never spelled twice), and
 * each kind moves money in exactly one direction. */
#include "ss_record.h"

/* Saturates instead of overflowing on INT64_MIN (only an invalid record has it). */
static int64_t negate_fen(int64_t fen)
{
	return fen == INT64_MIN ? INT64_MAX : -fen;
}

/* Absent amounts read as 0: protobuf-c leaves unset fields at their zero default. */
int64_t ss_record_amount_fen(const Storesync__Record *r)
{
	switch (r->body_case) {
	case STORESYNC__RECORD__BODY_SALE:
		return r->sale->total_fen;
	case STORESYNC__RECORD__BODY_CONTRACT_SALE:
		return r->contract_sale->deposit_fen;
	case STORESYNC__RECORD__BODY_PAYMENT:
		return r->payment->amount_fen;
	case STORESYNC__RECORD__BODY_REFUND:
		return negate_fen(r->refund->amount_fen);
	case STORESYNC__RECORD__BODY_COMPLAINT_PROGRESS:
		return negate_fen(r->complaint_progress->amount_fen);
	default:
		return 0;
	}
}

const char *ss_record_type_name(Storesync__Record__BodyCase body)
{
	const ProtobufCFieldDescriptor *f;

	if (body == STORESYNC__RECORD__BODY__NOT_SET)
		return NULL;
	f = protobuf_c_message_descriptor_get_field(&storesync__record__descriptor,
		(unsigned)body);
	return f && (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) ? f->name : NULL;
}

/* ---- optional fields at their default ----
 *
 * docs/records.md gives some optional fields a meaning when absent: a
 * discount or deposit of 0, no delivery or installation date (0), as soon
 * as possible (0), no cashier, customer, signer, approver, description
 * or note (empty). A till that writes the default out sends
 * the same record as one that leaves it out, so both must hash and store
 * alike (a retry with "discount_fen":0 is a duplicate, not a conflict).
 * Fields the rules require stay as they came: presence is what the hub's
 * validation checks. */

static void drop_empty(char **s)
{
	if (*s && !**s)
		*s = NULL;
}

static void drop_zero(protobuf_c_boolean *has, int64_t v)
{
	if (*has && v == 0)
		*has = 0;
}

static void drop_line_defaults(Storesync__SaleLine **lines, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (lines[i])
			drop_zero(&lines[i]->has_discount_fen, lines[i]->discount_fen);
}

void ss_record_drop_defaults(Storesync__Record *r)
{
	switch (r->body_case) {
	case STORESYNC__RECORD__BODY_SALE:
		drop_line_defaults(r->sale->lines, r->sale->n_lines);
		drop_empty(&r->sale->cashier);
		drop_empty(&r->sale->customer);
		break;
	case STORESYNC__RECORD__BODY_CONTRACT_SALE:
		drop_zero(&r->contract_sale->has_deposit_fen, r->contract_sale->deposit_fen);
		drop_zero(&r->contract_sale->has_delivery_ms, r->contract_sale->delivery_ms);
		drop_zero(&r->contract_sale->has_installation_ms, r->contract_sale->installation_ms);
		drop_empty(&r->contract_sale->customer);
		drop_empty(&r->contract_sale->signer);
		break;
	case STORESYNC__RECORD__BODY_REFUND:
		drop_line_defaults(r->refund->lines, r->refund->n_lines);
		drop_empty(&r->refund->approver);
		break;
	case STORESYNC__RECORD__BODY_COMPLAINT:
		drop_empty(&r->complaint->customer);
		drop_empty(&r->complaint->description);
		break;
	case STORESYNC__RECORD__BODY_COMPLAINT_PROGRESS:
		drop_empty(&r->complaint_progress->approver);
		drop_empty(&r->complaint_progress->note);
		break;
	case STORESYNC__RECORD__BODY_REPLENISHMENT:
		drop_zero(&r->replenishment->has_needed_by_ms, r->replenishment->needed_by_ms);
		break;
	default:
		break;
	}
}
