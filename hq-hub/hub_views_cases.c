/* hub_views_cases: complaint cases, keyed by case number
 * (<store>-<YYYYMM>-<serial>, so one store writes each key).
 *
 * Deadlines are computed once, at registration, from the policy in force
 * for the store at the complaint's own time (hub_policy.c): first response
 * first_response_hours, or emergency_response_minutes for emergencies;
 * investigation report investigation_days. They are stored in the case. Each open deadline also has an entry in the case_due index,
 * ordered by time; the step that meets it removes the entry. Overdue cases
 * are therefore the index entries before now: found at the cost of the
 * overdue ones, not of all cases. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hub.h"

#define DUE_RESPOND 'R'
#define DUE_REPORT 'I'

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

static int put_case(struct hub_view_ctx *v, Storesync__CaseView *c)
{
	return hub_view_put(v->txn, v->h->cases, c->case_no, strlen(c->case_no), &c->base);
}

static int register_case(struct hub_view_ctx *v, Storesync__CaseView *c)
{
	const Storesync__Complaint *in = v->r->complaint;
	struct ss_policy p;
	int emergency = in->severity == STORESYNC__SEVERITY__SEVERITY_EMERGENCY;
	int rc;

	c->case_no = strdup(in->case_no);
	c->store_id = strdup(v->store_id);
	c->customer = strdup(in->customer ? in->customer : "");
	c->state = STORESYNC__CASE_STATE__CASE_OPEN;
	c->has_state = 1;
	c->channel = in->channel;
	c->has_channel = 1;
	c->category = in->category;
	c->has_category = 1;
	c->severity = in->severity;
	c->has_severity = 1;
	c->registered_ms = v->r->time_ms;
	c->has_registered_ms = 1;
	/* The policy in force at registration, as far as HQ had issued it when
	 * the store recorded the complaint: the deadlines never move after. */
	hub_policy_for(v->h, v->txn, &v->h->tcache, v->store_id, v->s->region, v->r->time_ms,
		v->r->has_recorded_ms ? v->r->recorded_ms : v->r->time_ms, &p);
	c->respond_by_ms = v->r->time_ms + (emergency
		? p.v[SS_POL_EMERGENCY_RESPONSE_MINUTES] * 60000
		: p.v[SS_POL_FIRST_RESPONSE_HOURS] * 3600000);
	c->has_respond_by_ms = 1;
	c->report_by_ms = v->r->time_ms + p.v[SS_POL_INVESTIGATION_DAYS] * 86400000;
	c->has_report_by_ms = 1;
	rc = due_set(v, DUE_RESPOND, c->case_no, -1, c->respond_by_ms);
	if (rc == 0)
		rc = due_set(v, DUE_REPORT, c->case_no, -1, c->report_by_ms);
	return rc ? rc : put_case(v, c);
}

/* Marks the first response as done at t (once). */
static int responded(struct hub_view_ctx *v, Storesync__CaseView *c, int64_t t)
{
	if (c->responded_ms)
		return 0;
	c->responded_ms = t;
	c->has_responded_ms = 1;
	c->responded_late = t > c->respond_by_ms;
	c->has_responded_late = 1;
	return due_set(v, DUE_RESPOND, c->case_no, c->respond_by_ms, -1);
}

/* Marks the investigation report as done at t (once). */
static int reported(struct hub_view_ctx *v, Storesync__CaseView *c, int64_t t)
{
	int rc = responded(v, c, t);

	if (rc || c->investigated_ms)
		return rc;
	c->investigated_ms = t;
	c->has_investigated_ms = 1;
	c->reported_late = t > c->report_by_ms;
	c->has_reported_late = 1;
	return due_set(v, DUE_REPORT, c->case_no, c->report_by_ms, -1);
}

static int progress(struct hub_view_ctx *v, Storesync__CaseView *c)
{
	const Storesync__ComplaintProgress *in = v->r->complaint_progress;
	int64_t t = v->r->time_ms;
	Storesync__CaseState next = c->state;
	int rc = 0;

	switch (in->step) {
	case STORESYNC__PROGRESS_STEP__STEP_RESPONDED:
		rc = responded(v, c, t);
		next = STORESYNC__CASE_STATE__CASE_RESPONDED;
		break;
	case STORESYNC__PROGRESS_STEP__STEP_INVESTIGATED:
		rc = reported(v, c, t);
		next = STORESYNC__CASE_STATE__CASE_INVESTIGATING;
		break;
	case STORESYNC__PROGRESS_STEP__STEP_RESOLVED:
		rc = reported(v, c, t);
		c->resolved_ms = t;
		c->has_resolved_ms = 1;
		c->resolution = in->resolution;
		c->has_resolution = 1;
		next = STORESYNC__CASE_STATE__CASE_RESOLVED;
		break;
	default:  /* closed: nothing is due any more */
		rc = reported(v, c, t);
		c->closed_ms = t;
		c->has_closed_ms = 1;
		next = STORESYNC__CASE_STATE__CASE_CLOSED;
		break;
	}
	c->compensation_fen += in->amount_fen;
	c->has_compensation_fen = 1;
	/* A case never moves back (a late "responded" after "resolved"). */
	if (next > c->state)
		c->state = next;
	return rc ? rc : put_case(v, c);
}

static const char *case_no_of(const Storesync__Record *r)
{
	return r->body_case == STORESYNC__RECORD__BODY_COMPLAINT ? r->complaint->case_no
		: r->complaint_progress->case_no;
}

/* Progress needs its case. (A case registered twice never gets here: its
 * number is its business key, hub_keys.c.) */
int hub_views_cases_check(struct hub_view_ctx *v)
{
	const char *no = case_no_of(v->r);
	MDB_val k = { strlen(no), (void *)no }, d;
	int rc;

	if (v->r->body_case == STORESYNC__RECORD__BODY_COMPLAINT)
		return 0;
	if ((rc = mdb_get(v->txn, v->h->cases, &k, &d)) == MDB_NOTFOUND)
		return hub_view_refuse(v, "complaint_progress: case %s is not registered", no);
	return rc;
}

int hub_views_cases(struct hub_view_ctx *v)
{
	const char *no = case_no_of(v->r);
	Storesync__CaseView *c;
	int rc;

	c = (Storesync__CaseView *)hub_view_get(v->txn, v->h->cases, no, strlen(no),
		&storesync__case_view__descriptor, &rc);
	if (!c)
		return rc;
	rc = v->r->body_case == STORESYNC__RECORD__BODY_COMPLAINT ? register_case(v, c)
		: progress(v, c);
	storesync__case_view__free_unpacked(c, NULL);
	return rc;
}
