/* hub_op: what the operators' write handlers share: reading a request's
 * params and answering with a small table. An operator write that is
 * refused for its content is answered with the reason and changes nothing;
 * it does not fail the round it is in. */
#ifndef HUB_OP_H
#define HUB_OP_H

#include "hub_table.h"
#include "hub_work.h"

/* The value of the first param named key, or NULL. */
const char *hub_op_param(const Storesync__QueryRequest *q, const char *key);
/* Refuses w with a reason (in the answer), counted as refused. Returns 0:
 * an apply handler returns it, so the round goes on. */
int hub_op_refuse(struct hub *h, struct hub_work *w, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Starts the answer of w afresh (apply may run more than once). */
void hub_op_answer_reset(struct hub_work *w);
/* A one-row answer of (name, value) pairs: hub_op_result(w, "update_id", "1", ...NULL). */
void hub_op_result(struct hub_work *w, ...);
/* The standard reply of an operator write: counted, answered. */
void hub_op_reply(struct hub *h, struct hub_work *w);
/* An effective time param (ms; "now" when absent). -1 with a reason when it
 * is too far in the past (a decision cannot be backdated: records already
 * judged would change) or the future. */
int hub_op_effective(struct hub *h, struct hub_work *w, int64_t now_ms, int64_t *eff);

#endif
