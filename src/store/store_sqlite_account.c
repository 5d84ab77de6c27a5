/*
 * store_sqlite_account.c - store_account.h over SQLite: account locks,
 * login events and alerts (tables of schema step 5).
 *
 * The foreach calls first read the rows they will visit into memory and
 * reset the statement, then call back: a callback may use the same store
 * (to clear a lock while listing them, say).  Rows are copied into the
 * fixed-size fields of the structs; longer stored text is cut.
 */
#include "store/store_account.h"
#include "store/store_int.h"
#include "util/util.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

static const char sql_lock_set[] =
    "INSERT OR REPLACE INTO account_locks (login, created_ms, until_ms, reason)"
    " VALUES (?1, ?2, ?3, ?4)";
static const char sql_lock_get[] =
    "SELECT login, created_ms, until_ms, reason FROM account_locks"
    " WHERE login = ?1 AND (until_ms = 0 OR until_ms > ?2)";
static const char sql_lock_clear[] = "DELETE FROM account_locks WHERE login = ?1";
static const char sql_lock_list[] =
    "SELECT login, created_ms, until_ms, reason FROM account_locks"
    " WHERE until_ms = 0 OR until_ms > ?1 ORDER BY login";
static const char sql_lock_prune[] =
    "DELETE FROM account_locks WHERE until_ms <> 0 AND until_ms <= ?1";

#define LOGIN_COLUMNS \
	"id, time_ms, login, ip, protocol, source, country, lat, lon, has_geo, result"
static const char sql_login_add[] =
    "INSERT INTO login_events (time_ms, login, ip, protocol, source, country,"
    " lat, lon, has_geo, result) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)";
static const char sql_login_list[] =
    "SELECT " LOGIN_COLUMNS " FROM login_events"
    " WHERE (?1 IS NULL OR login = ?1) AND time_ms >= ?2 AND (?3 = 0 OR result = ?3)"
    " ORDER BY time_ms DESC, id DESC LIMIT ?4";
static const char sql_login_last_ok[] =
    "SELECT " LOGIN_COLUMNS " FROM login_events"
    " WHERE login = ?1 AND result = 1 AND (?2 = 0 OR time_ms < ?2)"
    " ORDER BY time_ms DESC, id DESC LIMIT 1";
static const char sql_login_country[] =
    "SELECT 1 FROM login_events WHERE login = ?1 AND result = 1 AND country = ?2"
    " AND (?3 = 0 OR time_ms < ?3) LIMIT 1";
static const char sql_login_prune[] = "DELETE FROM login_events WHERE time_ms < ?1";

#define ALERT_COLUMNS "id, time_ms, kind, login, ip, detail, acknowledged"
static const char sql_alert_add[] =
    "INSERT INTO alerts (time_ms, kind, login, ip, detail, acknowledged)"
    " VALUES (?1, ?2, ?3, ?4, ?5, 0)";
static const char sql_alert_list[] =
    "SELECT " ALERT_COLUMNS " FROM alerts WHERE (?1 = 0 OR acknowledged = 0)"
    " ORDER BY time_ms DESC, id DESC LIMIT ?2";
static const char sql_alert_ack[] = "UPDATE alerts SET acknowledged = 1 WHERE id = ?1";

/* A growing array of rows read before the callbacks run. */
struct rows {
	void *v;
	size_t n, cap, size;
};

static void *
rows_next(struct rows *r)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		r->v = xrealloc(r->v, r->cap * r->size);
	}
	return (char *)r->v + r->n++ * r->size;
}

/* Step s to the end, filling rows with fill(); resets s.  0 or -1. */
static int
rows_read(struct store *st, sqlite3_stmt *s, struct rows *r,
    void (*fill)(sqlite3_stmt *, void *), const char *what)
{
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW)
		fill(s, rows_next(r));
	if (rc != SQLITE_DONE)
		store_db_fail(st, what);
	store_stmt_done(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int64_t
limit_of(size_t max)
{
	return max == 0 || max > INT64_MAX ? -1 : (int64_t)max;
}

/* ---- locks ---- */

static void
lock_fill(sqlite3_stmt *s, void *out)
{
	struct store_lock *l = out;

	memset(l, 0, sizeof(*l));
	store_col_copy(s, 0, l->login, sizeof(l->login));
	l->created_ms = sqlite3_column_int64(s, 1);
	l->until_ms = sqlite3_column_int64(s, 2);
	store_col_copy(s, 3, l->reason, sizeof(l->reason));
}

int
store_lock_set(struct store *st, const char *login, int64_t until_ms,
    const char *reason)
{
	sqlite3_stmt *s;
	enum tx_kind own;

	if (store_tx_enter(st, 1, &own) < 0)
		return -1;
	if ((s = store_xstmt(st, sql_lock_set)) == NULL)
		return store_tx_leave(st, own, -1);
	store_bind_text(s, 1, login);
	sqlite3_bind_int64(s, 2, util_now_ms());
	sqlite3_bind_int64(s, 3, until_ms < 0 ? 0 : until_ms);
	store_bind_text(s, 4, reason ? reason : "");
	return store_tx_leave(st, own, store_stmt_run(st, s, "set lock"));
}

int
store_lock_get(struct store *st, const char *login, struct store_lock *l)
{
	sqlite3_stmt *s;
	int rc;

	if ((s = store_xstmt(st, sql_lock_get)) == NULL)
		return -1;
	store_bind_text(s, 1, login);
	sqlite3_bind_int64(s, 2, util_now_ms());
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		if (l != NULL)
			lock_fill(s, l);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = 1;
	} else {
		rc = store_db_fail(st, "get lock");
	}
	store_stmt_done(s);
	return rc;
}

int
store_lock_clear(struct store *st, const char *login)
{
	sqlite3_stmt *s;
	enum tx_kind own;
	int rc;

	if (store_tx_enter(st, 1, &own) < 0)
		return -1;
	if ((s = store_xstmt(st, sql_lock_clear)) == NULL)
		return store_tx_leave(st, own, -1);
	store_bind_text(s, 1, login);
	rc = store_stmt_run(st, s, "clear lock");
	if (rc == 0 && sqlite3_changes(store_db(st)) == 0)
		rc = 1;
	return store_tx_leave(st, own, rc);
}

int
store_lock_foreach(struct store *st, store_lock_cb cb, void *arg)
{
	struct rows r = { .size = sizeof(struct store_lock) };
	sqlite3_stmt *s;
	int rc;

	if ((s = store_xstmt(st, sql_lock_list)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, util_now_ms());
	rc = rows_read(st, s, &r, lock_fill, "list locks");
	for (size_t i = 0; rc == 0 && i < r.n; i++)
		rc = cb((struct store_lock *)r.v + i, arg);
	free(r.v);
	return rc;
}

int
store_lock_prune(struct store *st, int64_t now_ms)
{
	sqlite3_stmt *s;
	enum tx_kind own;

	if (store_tx_enter(st, 1, &own) < 0)
		return -1;
	if ((s = store_xstmt(st, sql_lock_prune)) == NULL)
		return store_tx_leave(st, own, -1);
	sqlite3_bind_int64(s, 1, now_ms);
	return store_tx_leave(st, own, store_stmt_run(st, s, "prune locks"));
}

/* ---- login events ---- */

static void
login_fill(sqlite3_stmt *s, void *out)
{
	struct store_login *ev = out;

	memset(ev, 0, sizeof(*ev));
	ev->id = sqlite3_column_int64(s, 0);
	ev->time_ms = sqlite3_column_int64(s, 1);
	store_col_copy(s, 2, ev->login, sizeof(ev->login));
	store_col_copy(s, 3, ev->ip, sizeof(ev->ip));
	store_col_copy(s, 4, ev->protocol, sizeof(ev->protocol));
	store_col_copy(s, 5, ev->source, sizeof(ev->source));
	store_col_copy(s, 6, ev->country, sizeof(ev->country));
	ev->lat = sqlite3_column_double(s, 7);
	ev->lon = sqlite3_column_double(s, 8);
	ev->has_geo = sqlite3_column_int(s, 9);
	ev->result = (enum login_result)sqlite3_column_int(s, 10);
}

int
store_login_add(struct store *st, const struct store_login *ev)
{
	sqlite3_stmt *s;
	enum tx_kind own;

	if (store_tx_enter(st, 1, &own) < 0)
		return -1;
	if ((s = store_xstmt(st, sql_login_add)) == NULL)
		return store_tx_leave(st, own, -1);
	sqlite3_bind_int64(s, 1, ev->time_ms);
	store_bind_text(s, 2, ev->login);
	store_bind_text(s, 3, ev->ip);
	store_bind_text(s, 4, ev->protocol);
	store_bind_text(s, 5, ev->source);
	store_bind_text(s, 6, ev->country);
	sqlite3_bind_double(s, 7, ev->lat);
	sqlite3_bind_double(s, 8, ev->lon);
	sqlite3_bind_int(s, 9, ev->has_geo ? 1 : 0);
	sqlite3_bind_int(s, 10, (int)ev->result);
	return store_tx_leave(st, own, store_stmt_run(st, s, "add login event"));
}

int
store_login_foreach(struct store *st, const char *login, int64_t since_ms,
    enum login_result result, size_t max, store_login_cb cb, void *arg)
{
	struct rows r = { .size = sizeof(struct store_login) };
	sqlite3_stmt *s;
	int rc;

	if ((s = store_xstmt(st, sql_login_list)) == NULL)
		return -1;
	store_bind_text(s, 1, login);
	sqlite3_bind_int64(s, 2, since_ms);
	sqlite3_bind_int(s, 3, (int)result);
	sqlite3_bind_int64(s, 4, limit_of(max));
	rc = rows_read(st, s, &r, login_fill, "list login events");
	for (size_t i = 0; rc == 0 && i < r.n; i++)
		rc = cb((struct store_login *)r.v + i, arg);
	free(r.v);
	return rc;
}

int
store_login_last_ok(struct store *st, const char *login, int64_t before_ms,
    struct store_login *ev)
{
	sqlite3_stmt *s;
	int rc;

	if ((s = store_xstmt(st, sql_login_last_ok)) == NULL)
		return -1;
	store_bind_text(s, 1, login);
	sqlite3_bind_int64(s, 2, before_ms);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		login_fill(s, ev);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = 1;
	} else {
		rc = store_db_fail(st, "last login");
	}
	store_stmt_done(s);
	return rc;
}

int
store_login_seen_country(struct store *st, const char *login,
    const char *country, int64_t before_ms)
{
	sqlite3_stmt *s;
	int rc;

	if ((s = store_xstmt(st, sql_login_country)) == NULL)
		return -1;
	store_bind_text(s, 1, login);
	store_bind_text(s, 2, country);
	sqlite3_bind_int64(s, 3, before_ms);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		rc = 0;
	else if (rc == SQLITE_DONE)
		rc = 1;
	else
		rc = store_db_fail(st, "login countries");
	store_stmt_done(s);
	return rc;
}

int64_t
store_login_prune(struct store *st, int64_t before_ms)
{
	sqlite3_stmt *s;
	enum tx_kind own;
	int rc;

	if (store_tx_enter(st, 1, &own) < 0)
		return -1;
	if ((s = store_xstmt(st, sql_login_prune)) == NULL)
		return store_tx_leave(st, own, -1);
	sqlite3_bind_int64(s, 1, before_ms);
	rc = store_stmt_run(st, s, "prune login events");
	if (store_tx_leave(st, own, rc) < 0)
		return -1;
	return sqlite3_changes(store_db(st));
}

/* ---- alerts ---- */

static void
alert_fill(sqlite3_stmt *s, void *out)
{
	struct store_alert *a = out;

	memset(a, 0, sizeof(*a));
	a->id = sqlite3_column_int64(s, 0);
	a->time_ms = sqlite3_column_int64(s, 1);
	store_col_copy(s, 2, a->kind, sizeof(a->kind));
	store_col_copy(s, 3, a->login, sizeof(a->login));
	store_col_copy(s, 4, a->ip, sizeof(a->ip));
	store_col_copy(s, 5, a->detail, sizeof(a->detail));
	a->acknowledged = sqlite3_column_int(s, 6);
}

int
store_alert_add(struct store *st, const struct store_alert *a, int64_t *id)
{
	sqlite3_stmt *s;
	enum tx_kind own;
	int rc;

	if (store_tx_enter(st, 1, &own) < 0)
		return -1;
	if ((s = store_xstmt(st, sql_alert_add)) == NULL)
		return store_tx_leave(st, own, -1);
	sqlite3_bind_int64(s, 1, a->time_ms ? a->time_ms : util_now_ms());
	store_bind_text(s, 2, a->kind);
	store_bind_text(s, 3, a->login);
	store_bind_text(s, 4, a->ip);
	store_bind_text(s, 5, a->detail);
	rc = store_stmt_run(st, s, "add alert");
	if (rc == 0 && id != NULL)
		*id = sqlite3_last_insert_rowid(store_db(st));
	return store_tx_leave(st, own, rc);
}

int
store_alert_foreach(struct store *st, int unacked_only, size_t max,
    store_alert_cb cb, void *arg)
{
	struct rows r = { .size = sizeof(struct store_alert) };
	sqlite3_stmt *s;
	int rc;

	if ((s = store_xstmt(st, sql_alert_list)) == NULL)
		return -1;
	sqlite3_bind_int(s, 1, unacked_only ? 1 : 0);
	sqlite3_bind_int64(s, 2, limit_of(max));
	rc = rows_read(st, s, &r, alert_fill, "list alerts");
	for (size_t i = 0; rc == 0 && i < r.n; i++)
		rc = cb((struct store_alert *)r.v + i, arg);
	free(r.v);
	return rc;
}

int
store_alert_ack(struct store *st, int64_t id)
{
	sqlite3_stmt *s;
	enum tx_kind own;
	int rc;

	if (store_tx_enter(st, 1, &own) < 0)
		return -1;
	if ((s = store_xstmt(st, sql_alert_ack)) == NULL)
		return store_tx_leave(st, own, -1);
	sqlite3_bind_int64(s, 1, id);
	rc = store_stmt_run(st, s, "acknowledge alert");
	if (rc == 0 && sqlite3_changes(store_db(st)) == 0)
		rc = 1;
	return store_tx_leave(st, own, rc);
}

const char *
store_login_result_name(enum login_result r)
{
	switch (r) {
	case LOGIN_OK:
		return "ok";
	case LOGIN_FAIL:
		return "fail";
	case LOGIN_REFUSED:
		return "refused";
	}
	return "unknown";
}
