/* hub_op: shared pieces of the operators' write handlers (hub_op_*.c). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hub_op.h"
#include "ss_time.h"

#define BACKDATE_TOLERANCE_MS 60000
#define MAX_AHEAD_MS (400LL * SS_DAY_MS)

const char *hub_op_param(const Storesync__QueryRequest *q, const char *key)
{
	for (size_t i = 0; q && i < q->n_params; i++)
		if (q->params[i]->key && strcmp(q->params[i]->key, key) == 0)
			return q->params[i]->value ? q->params[i]->value : "";
	return NULL;
}

void hub_op_answer_reset(struct hub_work *w)
{
	table_free(w->answer);
}

int hub_op_refuse(struct hub *h, struct hub_work *w, const char *fmt, ...)
{
	char reason[512];
	va_list ap;

	(void)h;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	hub_op_answer_reset(w);
	table_fail(w->answer, reason);
	return 0;
}

void hub_op_result(struct hub_work *w, ...)
{
	const char *cols[16], *vals[16];
	size_t n = 0;
	Storesync__Row *row;
	va_list ap;

	va_start(ap, w);
	while (n < 16 && (cols[n] = va_arg(ap, const char *)) != NULL)
		vals[n++] = va_arg(ap, const char *);
	va_end(ap);
	hub_op_answer_reset(w);
	table_init(w->answer, cols, n);
	if ((row = table_row(w->answer)) == NULL)
		return;
	/* Numbers travel as integer cells, so hqctl prints times and money in
	 * their forms and scripts get numbers. */
	for (size_t i = 0; i < n; i++) {
		char *end;
		long long v = strtoll(vals[i], &end, 10);

		if (*vals[i] && !*end)
			cell_int(row, v);
		else
			cell_str(row, vals[i]);
	}
}

void hub_op_reply(struct hub *h, struct hub_work *w)
{
	atomic_fetch_add(w->answer->reply.error ? &h->stats.operator_refused
		: &h->stats.operator_writes, 1);
	/* Wake the stores the new update is for; the pump filters by target,
	 * so waking every connected store is correct, if wider than needed. */
	if (w->update_id && !w->answer->reply.error) {
		atomic_fetch_add(&h->stats.updates_issued, 1);
		hub_down_wake_store(h, w->wake_store[0] ? w->wake_store : NULL);
	}
	hub_op_answer(h, w);
}

int hub_op_effective(struct hub *h, struct hub_work *w, int64_t now_ms, int64_t *eff)
{
	const char *v = hub_op_param(w->req, "effective");

	*eff = now_ms;
	if (!v)
		return 0;
	if (ss_time_parse(v, eff) != 0) {
		hub_op_refuse(h, w, "--effective: \"%.60s\" is not a time", v);
		return -1;
	}
	if (*eff < now_ms - BACKDATE_TOLERANCE_MS) {
		hub_op_refuse(h, w, "--effective is in the past: a decision takes effect now or "
			"later, never before it was made");
		return -1;
	}
	if (*eff > now_ms + MAX_AHEAD_MS) {
		hub_op_refuse(h, w, "--effective is more than 400 days ahead");
		return -1;
	}
	if (*eff < now_ms)
		*eff = now_ms;
	return 0;
}
