/*
 * store_sqlite_takeover.c - store_takeover.h over SQLite (schema step 12):
 * sender hours, suspensions for sending, signature fingerprints.
 *
 * store_sender_note() runs in the sent-mail history writer's transaction
 * (detect_forward.c) before the recipients are added to user_contacts, so
 * a recipient that is not there yet is new to the sender.  Foreach calls
 * read their rows first and reset the statement before calling back.
 */
#include "store/store_takeover.h"
#include "store/store_int.h"
#include "util/util.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

static const char sql_knows[] =
    "SELECT 1 FROM user_contacts WHERE login = lower(?1) AND addr = lower(?2)";
static const char sql_hour_add[] =
    "INSERT INTO sender_hours (login, hour, msgs, rcpts, new_rcpts, score_sum, score_max)"
    " VALUES (lower(?1), ?2, 1, ?3, ?4, ?5, ?5) ON CONFLICT (login, hour) DO UPDATE"
    " SET msgs = msgs + 1, rcpts = rcpts + ?3, new_rcpts = new_rcpts + ?4,"
    " score_sum = score_sum + ?5, score_max = max(score_max, ?5)";
static const char sql_dom_add[] =
    "INSERT OR IGNORE INTO sender_hour_domains (login, hour, domain)"
    " VALUES (lower(?1), ?2, lower(?3))";
static const char sql_dom_count[] =
    "UPDATE sender_hours SET domains = (SELECT count(*) FROM sender_hour_domains d"
    " WHERE d.login = sender_hours.login AND d.hour = sender_hours.hour)"
    " WHERE login = lower(?1) AND hour = ?2";
#define HOUR_COLUMNS "hour, msgs, rcpts, new_rcpts, domains, score_sum, score_max"
static const char sql_hour_get[] =
    "SELECT " HOUR_COLUMNS " FROM sender_hours WHERE login = lower(?1) AND hour = ?2";
static const char sql_hours[] =
    "SELECT " HOUR_COLUMNS " FROM sender_hours WHERE login = lower(?1)"
    " AND hour >= ?2 AND hour < ?3 ORDER BY hour LIMIT ?4";
static const char sql_prune_hours[] = "DELETE FROM sender_hours WHERE hour < ?1";
static const char sql_prune_doms[] = "DELETE FROM sender_hour_domains WHERE hour < ?1";

static const char sql_susp_set[] =
    "INSERT OR IGNORE INTO account_suspensions (login, since_ms, reason, incident_id)"
    " VALUES (lower(?1), ?2, ?3, ?4)";
static const char sql_susp_get[] =
    "SELECT login, since_ms, reason, incident_id FROM account_suspensions"
    " WHERE login = lower(?1)";
static const char sql_susp_clear[] = "DELETE FROM account_suspensions WHERE login = lower(?1)";
static const char sql_susp_list[] =
    "SELECT login, since_ms, reason, incident_id FROM account_suspensions ORDER BY login";

static const char sql_sig_get[] =
    "SELECT fingerprint, items FROM sender_signatures WHERE login = lower(?1)";
static const char sql_sig_put[] =
    "INSERT OR REPLACE INTO sender_signatures (login, fingerprint, items, updated_ms)"
    " VALUES (lower(?1), ?2, ?3, ?4)";

/* ---- sender hours ---- */

int
store_sender_knows(struct store *st, const char *login, const char *addr)
{
	sqlite3_stmt *s = store_xstmt(st, sql_knows);
	int rc;

	if (s == NULL)
		return -1;
	store_bind_text(s, 1, login);
	store_bind_text(s, 2, addr);
	rc = sqlite3_step(s);
	rc = rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : store_db_fail(st, "sender knows");
	store_stmt_done(s);
	return rc;
}

int
store_sender_note(struct store *st, const char *login, int64_t time_ms, double score,
    char *const *rcpts, size_t nrcpts, char *const *domains, size_t ndomains)
{
	sqlite3_stmt *h, *d, *c;
	int64_t hour = time_ms / STORE_HOUR_MS, fresh = 0;
	enum tx_kind tx;
	int rc = 0;

	if (store_tx_enter(st, 1, &tx) < 0)
		return -1;
	for (size_t i = 0; rc >= 0 && i < nrcpts; i++) {
		/* a recipient twice in one message counts once */
		size_t j;
		for (j = 0; j < i && util_strcasecmp(rcpts[j], rcpts[i]) != 0; j++)
			;
		if (j < i)
			continue;
		rc = store_sender_knows(st, login, rcpts[i]);
		if (rc == 1)
			fresh++;
	}
	if (rc >= 0 && ((h = store_xstmt(st, sql_hour_add)) == NULL ||
	    (d = store_xstmt(st, sql_dom_add)) == NULL ||
	    (c = store_xstmt(st, sql_dom_count)) == NULL))
		rc = -1;
	if (rc >= 0) {
		store_bind_text(h, 1, login);
		sqlite3_bind_int64(h, 2, hour);
		sqlite3_bind_int64(h, 3, (int64_t)nrcpts);
		sqlite3_bind_int64(h, 4, fresh);
		sqlite3_bind_double(h, 5, score);
		rc = store_stmt_run(st, h, "sender hour");
	}
	for (size_t i = 0; rc == 0 && i < ndomains; i++) {
		store_bind_text(d, 1, login);
		sqlite3_bind_int64(d, 2, hour);
		store_bind_text(d, 3, domains[i]);
		rc = store_stmt_run(st, d, "sender hour domain");
	}
	if (rc == 0 && ndomains > 0) {
		store_bind_text(c, 1, login);
		sqlite3_bind_int64(c, 2, hour);
		rc = store_stmt_run(st, c, "sender hour domains");
	}
	return store_tx_leave(st, tx, rc < 0 ? -1 : 0);
}

static void
hour_fill(sqlite3_stmt *s, struct store_sender_hour *h)
{
	h->hour = sqlite3_column_int64(s, 0);
	h->msgs = sqlite3_column_int64(s, 1);
	h->rcpts = sqlite3_column_int64(s, 2);
	h->new_rcpts = sqlite3_column_int64(s, 3);
	h->domains = sqlite3_column_int64(s, 4);
	h->score_sum = sqlite3_column_double(s, 5);
	h->score_max = sqlite3_column_double(s, 6);
}

int
store_sender_hour_get(struct store *st, const char *login, int64_t hour,
    struct store_sender_hour *h)
{
	sqlite3_stmt *s = store_xstmt(st, sql_hour_get);
	int rc;

	memset(h, 0, sizeof(*h));
	h->hour = hour;
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, login);
	sqlite3_bind_int64(s, 2, hour);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		hour_fill(s, h);
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? 1 : store_db_fail(st, "sender hour");
	}
	store_stmt_done(s);
	return rc;
}

int
store_sender_hours(struct store *st, const char *login, int64_t from_hour,
    int64_t to_hour, struct store_sender_hour *out, size_t max)
{
	sqlite3_stmt *s = store_xstmt(st, sql_hours);
	size_t n = 0;
	int rc = SQLITE_DONE;

	if (s == NULL)
		return -1;
	store_bind_text(s, 1, login);
	sqlite3_bind_int64(s, 2, from_hour);
	sqlite3_bind_int64(s, 3, to_hour);
	sqlite3_bind_int64(s, 4, (int64_t)max);
	while (n < max && (rc = sqlite3_step(s)) == SQLITE_ROW)
		hour_fill(s, &out[n++]);
	if (n < max && rc != SQLITE_DONE) {
		store_db_fail(st, "sender hours");
		store_stmt_done(s);
		return -1;
	}
	store_stmt_done(s);
	return (int)n;
}

int64_t
store_sender_prune(struct store *st, int64_t before_hour)
{
	sqlite3_stmt *h, *d;
	enum tx_kind tx;
	int64_t n = 0;
	int rc = -1;

	if (store_tx_enter(st, 1, &tx) < 0)
		return -1;
	if ((h = store_xstmt(st, sql_prune_hours)) != NULL &&
	    (d = store_xstmt(st, sql_prune_doms)) != NULL) {
		sqlite3_bind_int64(h, 1, before_hour);
		rc = store_stmt_run(st, h, "prune sender hours");
		n = sqlite3_changes(store_db(st));
		if (rc == 0) {
			sqlite3_bind_int64(d, 1, before_hour);
			rc = store_stmt_run(st, d, "prune sender domains");
		}
	}
	return store_tx_leave(st, tx, rc) < 0 ? -1 : n;
}

/* ---- suspensions ---- */

static void
susp_fill(sqlite3_stmt *s, struct store_suspension *p)
{
	memset(p, 0, sizeof(*p));
	store_col_copy(s, 0, p->login, sizeof(p->login));
	p->since_ms = sqlite3_column_int64(s, 1);
	store_col_copy(s, 2, p->reason, sizeof(p->reason));
	p->incident_id = sqlite3_column_int64(s, 3);
}

int
store_suspend_set(struct store *st, const char *login, const char *reason,
    int64_t incident_id)
{
	sqlite3_stmt *s;
	enum tx_kind tx;
	int rc;

	if (store_tx_enter(st, 1, &tx) < 0)
		return -1;
	if ((s = store_xstmt(st, sql_susp_set)) == NULL)
		return store_tx_leave(st, tx, -1);
	store_bind_text(s, 1, login);
	sqlite3_bind_int64(s, 2, util_now_ms());
	store_bind_text(s, 3, reason ? reason : "");
	sqlite3_bind_int64(s, 4, incident_id);
	rc = store_stmt_run(st, s, "suspend");
	if (rc == 0 && sqlite3_changes(store_db(st)) == 0)
		rc = 1;
	return store_tx_leave(st, tx, rc);
}

int
store_suspend_get(struct store *st, const char *login, struct store_suspension *out)
{
	sqlite3_stmt *s = store_xstmt(st, sql_susp_get);
	int rc;

	if (s == NULL)
		return -1;
	store_bind_text(s, 1, login);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		if (out != NULL)
			susp_fill(s, out);
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? 1 : store_db_fail(st, "get suspension");
	}
	store_stmt_done(s);
	return rc;
}

int
store_suspend_clear(struct store *st, const char *login)
{
	sqlite3_stmt *s;
	enum tx_kind tx;
	int rc;

	if (store_tx_enter(st, 1, &tx) < 0)
		return -1;
	if ((s = store_xstmt(st, sql_susp_clear)) == NULL)
		return store_tx_leave(st, tx, -1);
	store_bind_text(s, 1, login);
	rc = store_stmt_run(st, s, "lift suspension");
	if (rc == 0 && sqlite3_changes(store_db(st)) == 0)
		rc = 1;
	return store_tx_leave(st, tx, rc);
}

int
store_suspend_foreach(struct store *st, store_suspend_cb cb, void *arg)
{
	sqlite3_stmt *s = store_xstmt(st, sql_susp_list);
	struct store_suspension *v = NULL;
	size_t n = 0;
	int rc, ret = 0;

	if (s == NULL)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		v = xrealloc(v, (n + 1) * sizeof(*v));
		susp_fill(s, &v[n++]);
	}
	if (rc != SQLITE_DONE)
		ret = store_db_fail(st, "list suspensions");
	store_stmt_done(s);
	for (size_t i = 0; ret == 0 && i < n; i++)
		ret = cb(&v[i], arg);
	free(v);
	return ret;
}

/* ---- signatures ---- */

int
store_signature_get(struct store *st, const char *login, char fp[65], char **items)
{
	sqlite3_stmt *s = store_xstmt(st, sql_sig_get);
	int rc;

	*items = NULL;
	fp[0] = '\0';
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, login);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		store_col_copy(s, 0, fp, 65);
		*items = store_col_text(s, 1);
		if (*items == NULL)
			*items = xstrdup("");
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? 1 : store_db_fail(st, "get signature");
	}
	store_stmt_done(s);
	return rc;
}

int
store_signature_put(struct store *st, const char *login, const char *fp,
    const char *items, int64_t time_ms)
{
	sqlite3_stmt *s;
	enum tx_kind tx;

	if (store_tx_enter(st, 1, &tx) < 0)
		return -1;
	if ((s = store_xstmt(st, sql_sig_put)) == NULL)
		return store_tx_leave(st, tx, -1);
	store_bind_text(s, 1, login);
	store_bind_text(s, 2, fp);
	store_bind_text(s, 3, items ? items : "");
	sqlite3_bind_int64(s, 4, time_ms);
	return store_tx_leave(st, tx, store_stmt_run(st, s, "put signature"));
}
