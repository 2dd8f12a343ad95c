/* agent_batch: the Batch the sender puts on the link, framed around the
 * records as they lie packed in the outbox. Unpacking each record only to
 * pack it again cost the agent more than half of its sending (a malloc per
 * field, three walks of every record); the frame is now one copy of the
 * stored bytes with a head in front.
 *
 * Invariant: the frame is byte for byte what protobuf-c packs for the
 * LinkMessage holding those records unpacked (test_outbox compares the
 * two). protobuf-c writes fields in the order of their numbers, so that
 * is LinkMessage.proto_version (1), then LinkMessage.batch (4), whose
 * store_id (1), epoch (2) and first_seq (3) come before its records (4),
 * each a length-delimited field; the numbers are link.proto's. */
#include <stdlib.h>
#include <string.h>

#include "agent.h"

#define LINK_FIELD_BATCH 4u     /* LinkMessage.batch */
#define BATCH_FIELD_RECORDS 4u  /* Batch.records */
/* LinkMessage's own head: proto_version (tag and a varint), then the tag
 * and length of its batch. */
#define LINK_HEAD_MAX (1u + 10u + SS_PROTO_LEN_HEAD_MAX)
#define FIRST_CAP (64u << 10)

/* The collector outbox_each_packed feeds. */
struct collect {
	struct agent_batch *b;
	size_t max_bytes, record_bytes;
};

static int grow(struct agent_batch *b, size_t need)
{
	size_t cap = b->cap ? b->cap : FIRST_CAP;
	uint8_t *p;

	while (cap - b->len < need)
		cap *= 2;
	if (cap == b->cap)
		return 0;
	if (!(p = realloc(b->buf, cap)))
		return -1;
	b->buf = p;
	b->cap = cap;
	return 0;
}

static int collect_one(void *arg, const void *data, size_t len)
{
	struct collect *c = arg;
	struct agent_batch *b = c->b;

	/* The first record always goes; a later one only within max_bytes. */
	if (b->n_records > 0 && c->record_bytes + len > c->max_bytes)
		return 1;
	if (grow(b, SS_PROTO_LEN_HEAD_MAX + len) != 0)
		return -1;
	b->len += ss_proto_len_head_put(b->buf + b->len, BATCH_FIELD_RECORDS, len);
	memcpy(b->buf + b->len, data, len);
	b->len += len;
	c->record_bytes += len;
	b->n_records++;
	return 0;
}

/* Writes the heads in front of the records, ending where they start.
 * While records are collected, b->len is where they end in b->buf. */
static void put_heads(struct agent_batch *b, const Storesync__Batch *hdr, size_t hdr_len)
{
	uint8_t link[LINK_HEAD_MAX];
	size_t body = b->len - b->start, n = 0;

	link[n++] = 1u << 3 | PROTOBUF_C_WIRE_TYPE_VARINT;   /* proto_version */
	n += ss_proto_varint_put(link + n, SS_PROTO_VERSION);
	n += ss_proto_len_head_put(link + n, LINK_FIELD_BATCH, hdr_len + body);
	b->start -= hdr_len;
	storesync__batch__pack(hdr, b->buf + b->start);
	b->start -= n;
	memcpy(b->buf + b->start, link, n);
	b->len -= b->start;   /* from the end of the records to the frame's length */
}

int batch_build(struct agent_outbox *ob, uint64_t first_seq, size_t max_records,
	size_t max_bytes, struct agent_batch *b)
{
	Storesync__Batch hdr = STORESYNC__BATCH__INIT;
	struct collect c = { b, max_bytes, 0 };
	size_t hdr_len, n;
	int rc;

	memset(b, 0, sizeof *b);
	hdr.store_id = ob->store_id;
	hdr.epoch = ob->epoch;
	hdr.has_epoch = 1;
	hdr.first_seq = first_seq;
	hdr.has_first_seq = 1;
	hdr_len = storesync__batch__get_packed_size(&hdr);
	/* Room for the heads before the first record. */
	if (grow(b, LINK_HEAD_MAX + hdr_len) != 0)
		return SS_EIO;
	b->start = b->len = LINK_HEAD_MAX + hdr_len;
	rc = outbox_each_packed(ob, first_seq, max_records, collect_one, &c, &n);
	if (rc != SS_OK || b->n_records == 0)
		return rc;
	put_heads(b, &hdr, hdr_len);
	return SS_OK;
}

void batch_free(struct agent_batch *b)
{
	free(b->buf);
	memset(b, 0, sizeof *b);
}
