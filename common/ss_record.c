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
