/*
 * store_sqlite_api.c - the console API's read-only views (store_api.h).
 *
 * Holds are joined with the message log (msglog) for the recipients and
 * the subject: its row is written by a trigger when the verdict is made
 * and outlives the message, so a recalled or delivered mail still shows
 * whom it was for.  Approvers are a space-separated list; one is matched
 * as a whole word, without case.
 */
#include "store/store_api.h"
#include "store/store_int.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

#define HOUR_MS	3600000LL

#define VIEW_COLUMNS \
    "h.msg_id, h.kind, h.status, h.sender, h.lang, h.approvers, h.risk, h.reasons," \
    " h.created_ms, h.release_at, h.deadline_at, h.reminder_at, h.notified, h.reminded," \
    " h.outcome_notified, h.purged, h.decided_by, h.comment, h.decided_ms," \
    " m.rcpts, m.subject"

#define VIEW_WHERE \
    " WHERE (?1 IS NULL OR h.status = ?1) AND (?2 IS NULL OR h.kind = ?2)" \
    " AND (?3 IS NULL OR lower(h.sender) = lower(?3))" \
    " AND (?4 IS NULL OR instr(' ' || lower(replace(coalesce(h.approvers, ''), ',', ' '))" \
    " || ' ', ' ' || lower(?4) || ' ') > 0)"

static const char sql_view_list[] =
    "SELECT " VIEW_COLUMNS " FROM holds h LEFT JOIN msglog m ON m.id = h.msg_id"
    VIEW_WHERE " ORDER BY h.created_ms DESC, h.msg_id DESC LIMIT ?5 OFFSET ?6";
static const char sql_view_count[] =
    "SELECT count(*) FROM holds h" VIEW_WHERE;
static const char sql_view_get[] =
    "SELECT " VIEW_COLUMNS " FROM holds h LEFT JOIN msglog m ON m.id = h.msg_id"
    " WHERE h.msg_id = ?1";

void
hold_view_clear(struct hold_view *v)
{
	if (v == NULL)
		return;
	store_hold_clear(&v->h);
	free(v->rcpts);
	free(v->subject);
	memset(v, 0, sizeof(*v));
}

static void
view_row(sqlite3_stmt *s, struct hold_view *v)
{
	memset(v, 0, sizeof(*v));
	store_hold_row(s, &v->h);
	v->rcpts = store_col_text(s, 19);
	v->subject = store_col_text(s, 20);
}

static void
bind_query(sqlite3_stmt *s, const struct hold_query *q)
{
	store_bind_text(s, 1, q->status);
	store_bind_text(s, 2, q->kind);
	store_bind_text(s, 3, q->sender);
	store_bind_text(s, 4, q->approver);
}

int
store_hold_query(struct store *st, const struct hold_query *q, store_hold_view_cb cb,
    void *arg, int64_t *total)
{
	struct hold_view v;
	sqlite3_stmt *s;
	int rc, ret = 0;

	if (total != NULL) {
		if ((s = store_xstmt(st, sql_view_count)) == NULL)
			return -1;
		bind_query(s, q);
		rc = sqlite3_step(s);
		*total = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
		store_stmt_done(s);
		if (rc != SQLITE_ROW)
			return store_db_fail(st, "hold count");
	}
	if ((s = store_xstmt(st, sql_view_list)) == NULL)
		return -1;
	bind_query(s, q);
	sqlite3_bind_int64(s, 5, q->limit > 0 ? q->limit : -1);
	sqlite3_bind_int64(s, 6, q->offset > 0 ? q->offset : 0);
	while (ret == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		view_row(s, &v);
		ret = cb(&v, arg);
		hold_view_clear(&v);
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store_db_fail(st, "hold list");
	store_stmt_done(s);
	return ret;
}

int
store_hold_view_get(struct store *st, const char *id, struct hold_view *v)
{
	sqlite3_stmt *s;
	int ret;

	memset(v, 0, sizeof(*v));
	if ((s = store_xstmt(st, sql_view_get)) == NULL)
		return -1;
	store_bind_text(s, 1, id);
	if ((ret = store_step_row(st, s, "hold view")) == 0)
		view_row(s, v);
	store_stmt_done(s);
	return ret;
}

static const char sql_token_peek[] =
    "SELECT msg_id, owner FROM hold_tokens WHERE hash = ?1 AND action = ?2"
    " AND used_ms = 0 AND expires_ms > ?3";

int
store_token_peek(struct store *st, const unsigned char hash[STORE_TOKEN_HASH],
    const char *action, int64_t now_ms, char msg_id[QUEUE_ID_SIZE], char **owner)
{
	sqlite3_stmt *s;
	int rc, ret;

	if (owner != NULL)
		*owner = NULL;
	if ((s = store_xstmt(st, sql_token_peek)) == NULL)
		return -1;
	sqlite3_bind_blob(s, 1, hash, STORE_TOKEN_HASH, SQLITE_STATIC);
	store_bind_text(s, 2, action);
	sqlite3_bind_int64(s, 3, now_ms);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(s, 0);

		util_strlcpy(msg_id, t ? (const char *)t : "", QUEUE_ID_SIZE);
		if (owner != NULL)
			*owner = store_col_text(s, 1);
		ret = 0;
	} else if (rc == SQLITE_DONE) {
		ret = 1;
	} else {
		ret = store_db_fail(st, "token peek");
	}
	store_stmt_done(s);
	return ret;
}

static const char sql_hold_counts[] =
    "SELECT 0, status, count(*) FROM holds"
    " WHERE (status = 'held' OR created_ms >= ?1)"
    " AND (?2 IS NULL OR lower(sender) = lower(?2)) GROUP BY status";
static const char sql_login_stats[] =
    "SELECT time_ms / 3600000, CASE result WHEN 3 THEN 'refused' ELSE 'failures' END,"
    " count(*) FROM login_events WHERE time_ms >= ?1 AND result IN (2, 3)"
    " GROUP BY 1, 2 ORDER BY 1";

static int
counts(struct store *st, const char *sql, int64_t since_ms, const char *sender,
    int hours, store_count_cb cb, void *arg)
{
	sqlite3_stmt *s = store_xstmt(st, sql);
	int rc, ret = 0;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, since_ms);
	if (sqlite3_bind_parameter_count(s) >= 2)
		store_bind_text(s, 2, sender);
	while (ret == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		const unsigned char *name = sqlite3_column_text(s, 1);
		int64_t key = sqlite3_column_int64(s, 0);

		ret = cb(hours ? key * HOUR_MS : key, name ? (const char *)name : "",
		    sqlite3_column_int64(s, 2), arg);
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store_db_fail(st, "counts");
	store_stmt_done(s);
	return ret;
}

int
store_hold_counts(struct store *st, int64_t since_ms, const char *sender,
    store_count_cb cb, void *arg)
{
	return counts(st, sql_hold_counts, since_ms, sender, 0, cb, arg);
}

int
store_login_stats(struct store *st, int64_t since_ms, store_count_cb cb, void *arg)
{
	return counts(st, sql_login_stats, since_ms, NULL, 1, cb, arg);
}
