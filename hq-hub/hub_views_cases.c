/* hub_views_cases: complaint cases, keyed by case number
 * (<store>-<YYYYMM>-<serial>, so one store writes each key).
 *
 * A case is its registration and its steps (at most one of each kind: the
 * step is part of the business key), and what the view says follows from
 * them by business time, whatever order they came in:
 *   - the deadlines, computed at registration from the policy in force for
 *     the store at the complaint's own time as HQ had issued it when the
 *     store recorded it (hub_policy.c): first response first_response_hours
 *     (emergency_response_minutes for an emergency), investigation report
 *     investigation_days;
 *   - the first response is the earliest dated step of any kind, the report
 *     the earliest investigated, resolved or closed step (a later step means
 *     the earlier work was done); each is late when dated after its deadline;
 *   - the state is the furthest step reached (a case never moves back);
 *   - compensation is the sum of the steps' amounts.
 * Progress that arrives before its complaint is kept in the case (state
 * unregistered, no deadlines) and counts from the moment the complaint does.
 * hub_case_at gives the same figures from the records dated up to any
 * moment; the view keeps them as of all records.
 *
 * Each deadline not yet met has an entry in the case_due index, ordered by
 * time; the step that meets it removes the entry, in the same transaction.
 * Overdue cases are therefore the index entries before now: found at the
 * cost of the overdue ones, not of all cases. A case's compensation cannot
 * overflow (four steps, each at most the per-record ceiling). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hub.h"

#define DUE_RESPOND 'R'
#define DUE_REPORT 'I'

void hub_case_at(const Storesync__CaseView *c, int64_t as_of_ms, int64_t at_ms,
	struct hub_case_fig *f)
{
	int registered = c->registered_ms > 0 && c->registered_ms <= as_of_ms, furthest = 0;

	memset(f, 0, sizeof *f);
	for (size_t i = 0; i < c->n_steps; i++) {
		const Storesync__CaseStep *s = c->steps[i];
		int64_t t = s->time_ms;

		if (t > as_of_ms)
			continue;
		if (!f->responded_ms || t < f->responded_ms)
			f->responded_ms = t;
		if (s->step >= STORESYNC__PROGRESS_STEP__STEP_INVESTIGATED
			&& (!f->investigated_ms || t < f->investigated_ms))
			f->investigated_ms = t;
		if (s->step == STORESYNC__PROGRESS_STEP__STEP_RESOLVED) {
			f->resolved_ms = t;
			f->resolution = s->resolution;
		}
		if (s->step == STORESYNC__PROGRESS_STEP__STEP_CLOSED)
			f->closed_ms = t;
		if ((int)s->step > furthest)
			furthest = (int)s->step;
		f->compensation_fen += s->amount_fen;
	}
	/* Steps 1..4 reach states 2..5. */
	f->state = !registered ? STORESYNC__CASE_STATE__CASE_UNREGISTERED
		: (Storesync__CaseState)(STORESYNC__CASE_STATE__CASE_OPEN + furthest);
	f->responded_late = registered && f->responded_ms > c->respond_by_ms;
	f->reported_late = registered && f->investigated_ms > c->report_by_ms;
	f->overdue_response = registered && !f->responded_ms && c->respond_by_ms < at_ms;
	f->overdue_report = registered && !f->investigated_ms && c->report_by_ms < at_ms;
	f->late = f->responded_late || f->reported_late || f->overdue_response
		|| f->overdue_report;
	f->exists = registered || f->responded_ms;
}

static int due_set(struct hub_view_ctx *v, char kind, const char *case_no, int64_t old_ms,
	int64_t new_ms)
{
	char id[80];
	size_t n = strlen(case_no);

	if (n + 1 > sizeof id)
		return EINVAL;
	id[0] = kind;
	memcpy(id + 1, case_no, n);
	return hub_stale_index_set(v->txn, v->h->case_due, old_ms, new_ms, id, n + 1);
}

/* The deadlines of c still open, as the index holds them (-1: none). */
static void open_deadlines(const Storesync__CaseView *c, int64_t *respond_ms, int64_t *report_ms)
{
	*respond_ms = c->registered_ms && !c->responded_ms ? c->respond_by_ms : -1;
	*report_ms = c->registered_ms && !c->investigated_ms ? c->report_by_ms : -1;
}

static int set_str(char **dst, const char *src)
{
	free(*dst);
	*dst = strdup(src ? src : "");
	return *dst ? 0 : ENOMEM;
}

static int register_case(struct hub_view_ctx *v, Storesync__CaseView *c)
{
	const Storesync__Complaint *in = v->r->complaint;
	struct ss_policy p;
	int emergency = in->severity == STORESYNC__SEVERITY__SEVERITY_EMERGENCY;

	if (set_str(&c->customer, in->customer) != 0)
		return ENOMEM;
	c->channel = in->channel;
	c->category = in->category;
	c->severity = in->severity;
	c->has_channel = c->has_category = c->has_severity = 1;
	c->registered_ms = v->r->time_ms;
	c->has_registered_ms = 1;
	/* The policy in force at registration, as far as HQ had issued it when
	 * the store recorded the complaint: the deadlines never move after. */
	hub_policy_for(v->h, v->txn, &v->h->tcache, v->store_id,
		hub_store_region(v->h, v->txn, v->s), v->r->time_ms,
		v->r->has_recorded_ms ? v->r->recorded_ms : v->r->time_ms, &p);
	c->respond_by_ms = v->r->time_ms + (emergency
		? p.v[SS_POL_EMERGENCY_RESPONSE_MINUTES] * 60000
		: p.v[SS_POL_FIRST_RESPONSE_HOURS] * 3600000);
	c->report_by_ms = v->r->time_ms + p.v[SS_POL_INVESTIGATION_DAYS] * 86400000;
	c->has_respond_by_ms = c->has_report_by_ms = 1;
	return 0;
}

/* Adds the step, keeping the steps ordered by kind. */
static int add_step(struct hub_view_ctx *v, Storesync__CaseView *c)
{
	const Storesync__ComplaintProgress *in = v->r->complaint_progress;
	Storesync__CaseStep **arr = realloc(c->steps, (c->n_steps + 1) * sizeof *arr), *st;
	size_t i = 0;

	if (!arr)
		return ENOMEM;
	c->steps = arr;
	if (!(st = calloc(1, sizeof *st)))
		return ENOMEM;
	storesync__case_step__init(st);
	st->step = in->step;
	st->time_ms = v->r->time_ms;
	st->amount_fen = in->amount_fen;
	st->resolution = in->resolution;
	st->has_step = st->has_time_ms = st->has_amount_fen = 1;
	st->has_resolution = in->has_resolution;
	while (i < c->n_steps && c->steps[i]->step < st->step)
		i++;
	memmove(&arr[i + 1], &arr[i], (c->n_steps - i) * sizeof *arr);
	arr[i] = st;
	c->n_steps++;
	return 0;
}

/* The case's fields as of all its records. */
static void settle(Storesync__CaseView *c)
{
	struct hub_case_fig f;

	hub_case_at(c, INT64_MAX, INT64_MAX, &f);
	c->state = f.state;
	c->responded_ms = f.responded_ms;
	c->investigated_ms = f.investigated_ms;
	c->resolved_ms = f.resolved_ms;
	c->closed_ms = f.closed_ms;
	c->compensation_fen = f.compensation_fen;
	c->responded_late = f.responded_late;
	c->reported_late = f.reported_late;
	c->has_state = c->has_responded_ms = c->has_investigated_ms = c->has_resolved_ms = 1;
	c->has_closed_ms = c->has_compensation_fen = c->has_responded_late = 1;
	c->has_reported_late = 1;
	c->resolution = f.resolution;
	c->has_resolution = f.resolved_ms != 0;
}

const char *hub_case_no_of(const Storesync__Record *r)
{
	return r->body_case == STORESYNC__RECORD__BODY_COMPLAINT ? r->complaint->case_no
		: r->complaint_progress->case_no;
}

int hub_views_cases(struct hub_view_ctx *v)
{
	const char *no = hub_case_no_of(v->r);
	int64_t respond_was, report_was, respond_now, report_now;
	Storesync__CaseView *c;
	int rc;

	c = (Storesync__CaseView *)hub_view_get(v->txn, v->h->cases, no, strlen(no),
		&storesync__case_view__descriptor, &rc);
	if (!c)
		return rc;
	open_deadlines(c, &respond_was, &report_was);
	if ((rc = set_str(&c->case_no, no)) == 0 && (rc = set_str(&c->store_id, v->store_id)) == 0)
		rc = v->r->body_case == STORESYNC__RECORD__BODY_COMPLAINT ? register_case(v, c)
			: add_step(v, c);
	if (rc == 0) {
		settle(c);
		open_deadlines(c, &respond_now, &report_now);
		if ((rc = due_set(v, DUE_RESPOND, no, respond_was, respond_now)) == 0
			&& (rc = due_set(v, DUE_REPORT, no, report_was, report_now)) == 0)
			rc = hub_view_put(v->txn, v->h->cases, no, strlen(no), &c->base);
	}
	storesync__case_view__free_unpacked(c, NULL);
	return rc;
}
