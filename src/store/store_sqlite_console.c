/*
 * store_sqlite_console.c - store_console.h over SQLite (tables of
 * migration 5 in store_sqlite.c).
 *
 * Text filters use instr(lower(..), lower(?)) rather than LIKE, so the
 * user's % and _ are plain characters and need no escaping.  Every
 * statement is static SQL with optional parameters ("?N IS NULL OR ..."),
 * so it is prepared once per connection (store_xstmt).
 *
 * Failure: -1 with the reason in store_errmsg().
 */
#include "store/store_console.h"
#include "store/store_int.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

#define HOUR_MS	3600000

void
console_user_clear(struct console_user *u)
{
	if (u == NULL)
		return;
	free(u->name);
	free(u->pwhash);
	free(u->role);
	free(u->email);
	free(u->lang);
	free(u->totp_secret);
	memset(u, 0, sizeof(*u));
}

void
console_session_clear(struct console_session *s)
{
	if (s == NULL)
		return;
	free(s->user);
	free(s->csrf);
	free(s->ip);
	memset(s, 0, sizeof(*s));
}

/* Run a one-row-less write in its own transaction; 0, 1 (no row changed), -1. */
static int
write_one(struct store *st, sqlite3_stmt *s, const char *what)
{
	enum tx_kind own;
	int rc;

	if (store_tx_enter(st, 1, &own) < 0) {
		store_stmt_done(s);
		return -1;
	}
	rc = store_stmt_run(st, s, what);
	if (rc == 0 && sqlite3_changes(store_db(st)) == 0)
		rc = 1;
	return store_tx_leave(st, own, rc);
}

/* ---- users ---- */

static const char sql_user_cols[] =
    "SELECT name, pwhash, role, email, lang, totp_secret, totp_last_step, created_ms"
    " FROM console_users WHERE name = ?1";
static const char sql_user_all[] =
    "SELECT name, pwhash, role, email, lang, totp_secret, totp_last_step, created_ms"
    " FROM console_users ORDER BY name";
static const char sql_user_add[] =
    "INSERT OR IGNORE INTO console_users (name, pwhash, role, email, lang, totp_secret,"
    " totp_last_step, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0, ?7)";
static const char sql_user_del[] = "DELETE FROM console_users WHERE name = ?1";
static const char sql_user_lang[] = "UPDATE console_users SET lang = ?2 WHERE name = ?1";
static const char sql_user_pw[] = "UPDATE console_users SET pwhash = ?2 WHERE name = ?1";
static const char sql_user_totp[] =
    "UPDATE console_users SET totp_secret = ?2, totp_last_step = 0 WHERE name = ?1";
static const char sql_user_reseal[] =
    "UPDATE console_users SET totp_secret = ?3 WHERE name = ?1 AND totp_secret = ?2";
static const char sql_user_step[] =
    "UPDATE console_users SET totp_last_step = ?2 WHERE name = ?1 AND totp_last_step < ?2";
static const char sql_sess_del_user[] = "DELETE FROM console_sessions WHERE user = ?1";

static void
user_row(sqlite3_stmt *s, struct console_user *u)
{
	u->name = store_col_text(s, 0);
	u->pwhash = store_col_text(s, 1);
	u->role = store_col_text(s, 2);
	u->email = store_col_text(s, 3);
	u->lang = store_col_text(s, 4);
	u->totp_secret = store_col_text(s, 5);
	u->totp_last_step = sqlite3_column_int64(s, 6);
	u->created_ms = sqlite3_column_int64(s, 7);
}

int
store_cuser_get(struct store *st, const char *name, struct console_user *u)
{
	sqlite3_stmt *s = store_xstmt(st, sql_user_cols);
	int rc;

	memset(u, 0, sizeof(*u));
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, name);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		user_row(s, u);
	else if (rc != SQLITE_DONE)
		store_db_fail(st, "get console user");
	store_stmt_done(s);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int
store_cuser_add(struct store *st, const struct console_user *u)
{
	sqlite3_stmt *s = store_xstmt(st, sql_user_add);

	if (s == NULL)
		return -1;
	store_bind_text(s, 1, u->name);
	store_bind_text(s, 2, u->pwhash);
	store_bind_text(s, 3, u->role);
	store_bind_text(s, 4, u->email ? u->email : "");
	store_bind_text(s, 5, u->lang ? u->lang : "ja");
	store_bind_text(s, 6, u->totp_secret);
	sqlite3_bind_int64(s, 7, u->created_ms ? u->created_ms : util_now_ms());
	return write_one(st, s, "add console user");
}

int
store_cuser_delete(struct store *st, const char *name)
{
	sqlite3_stmt *s = store_xstmt(st, sql_user_del);

	if (s == NULL)
		return -1;
	store_bind_text(s, 1, name);
	return write_one(st, s, "delete console user");
}

int
store_cuser_foreach(struct store *st, store_cuser_cb cb, void *arg)
{
	sqlite3_stmt *s = store_xstmt(st, sql_user_all);
	struct console_user *v = NULL;
	size_t n = 0, cap = 0;
	int rc, ret = 0;

	if (s == NULL)
		return -1;
	/* Collect first, so the callback may call back into the store. */
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? cap * 2 : 16;
			v = xrealloc(v, cap * sizeof(*v));
		}
		user_row(s, &v[n++]);
	}
	if (rc != SQLITE_DONE)
		ret = store_db_fail(st, "list console users");
	store_stmt_done(s);
	for (size_t i = 0; i < n; i++) {
		if (ret == 0)
			ret = cb(&v[i], arg);
		console_user_clear(&v[i]);
	}
	free(v);
	return ret;
}

static int
user_set(struct store *st, const char *sql, const char *name, const char *value,
    const char *what)
{
	sqlite3_stmt *s = store_xstmt(st, sql);

	if (s == NULL)
		return -1;
	store_bind_text(s, 1, name);
	store_bind_text(s, 2, value);
	return write_one(st, s, what);
}

int
store_cuser_set_lang(struct store *st, const char *name, const char *lang)
{
	return user_set(st, sql_user_lang, name, lang, "set language");
}

int
store_cuser_set_password(struct store *st, const char *name, const char *pwhash)
{
	return user_set(st, sql_user_pw, name, pwhash, "set password");
}

int
store_cuser_reseal_totp(struct store *st, const char *name, const char *old,
    const char *sealed)
{
	sqlite3_stmt *s = store_xstmt(st, sql_user_reseal);

	if (s == NULL)
		return -1;
	store_bind_text(s, 1, name);
	store_bind_text(s, 2, old);
	store_bind_text(s, 3, sealed);
	return write_one(st, s, "seal totp");
}

int
store_cuser_set_totp(struct store *st, const char *name, const char *secret)
{
	enum tx_kind own;
	sqlite3_stmt *s;
	int rc;

	if (store_tx_enter(st, 1, &own) < 0)
		return -1;
	rc = user_set(st, sql_user_totp, name, secret, "reset totp");
	if (rc == 0 && (s = store_xstmt(st, sql_sess_del_user)) != NULL) {
		store_bind_text(s, 1, name);
		rc = store_stmt_run(st, s, "end sessions");
	} else if (rc == 0) {
		rc = -1;
	}
	return store_tx_leave(st, own, rc);
}

int
store_cuser_totp_use(struct store *st, const char *name, int64_t step)
{
	sqlite3_stmt *s = store_xstmt(st, sql_user_step);

	if (s == NULL)
		return -1;
	store_bind_text(s, 1, name);
	sqlite3_bind_int64(s, 2, step);
	return write_one(st, s, "use totp step");
}

/* ---- sessions ---- */

static const char sql_sess_put[] =
    "INSERT OR REPLACE INTO console_sessions (hash, user, csrf, ip, created_ms, last_ms)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?5)";
static const char sql_sess_get[] =
    "SELECT user, csrf, ip, created_ms, last_ms FROM console_sessions WHERE hash = ?1";
static const char sql_sess_touch[] =
    "UPDATE console_sessions SET last_ms = ?2 WHERE hash = ?1";
static const char sql_sess_del[] = "DELETE FROM console_sessions WHERE hash = ?1";
static const char sql_sess_purge[] = "DELETE FROM console_sessions WHERE last_ms < ?1";

int
store_csession_put(struct store *st, const char *hash, const char *user,
    const char *csrf, const char *ip, int64_t now_ms)
{
	sqlite3_stmt *s = store_xstmt(st, sql_sess_put);

	if (s == NULL)
		return -1;
	store_bind_text(s, 1, hash);
	store_bind_text(s, 2, user);
	store_bind_text(s, 3, csrf);
	store_bind_text(s, 4, ip);
	sqlite3_bind_int64(s, 5, now_ms);
	return write_one(st, s, "add session") < 0 ? -1 : 0;
}

int
store_csession_get(struct store *st, const char *hash, int64_t idle_ms,
    int64_t now_ms, struct console_session *out)
{
	sqlite3_stmt *s = store_xstmt(st, sql_sess_get);
	int rc;

	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, hash);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		out->user = store_col_text(s, 0);
		out->csrf = store_col_text(s, 1);
		out->ip = store_col_text(s, 2);
		out->created_ms = sqlite3_column_int64(s, 3);
		out->last_ms = sqlite3_column_int64(s, 4);
	} else if (rc != SQLITE_DONE) {
		store_db_fail(st, "get session");
	}
	store_stmt_done(s);
	if (rc == SQLITE_DONE)
		return 1;
	if (rc != SQLITE_ROW)
		return -1;
	if (out->last_ms < now_ms - idle_ms) {
		console_session_clear(out);
		(void)store_csession_delete(st, hash);
		return 1;
	}
	return 0;
}

int
store_csession_touch(struct store *st, const char *hash, int64_t now_ms)
{
	sqlite3_stmt *s = store_xstmt(st, sql_sess_touch);

	if (s == NULL)
		return -1;
	store_bind_text(s, 1, hash);
	sqlite3_bind_int64(s, 2, now_ms);
	return write_one(st, s, "touch session") < 0 ? -1 : 0;
}

int
store_csession_delete(struct store *st, const char *hash)
{
	sqlite3_stmt *s = store_xstmt(st, sql_sess_del);

	if (s == NULL)
		return -1;
	store_bind_text(s, 1, hash);
	return write_one(st, s, "delete session");
}

static int64_t
purge(struct store *st, const char *sql, int64_t before_ms, const char *what)
{
	sqlite3_stmt *s = store_xstmt(st, sql);
	enum tx_kind own;
	int64_t n = -1;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, before_ms);
	if (store_tx_enter(st, 1, &own) < 0) {
		store_stmt_done(s);
		return -1;
	}
	if (store_stmt_run(st, s, what) == 0)
		n = sqlite3_changes(store_db(st));
	if (store_tx_leave(st, own, n < 0 ? -1 : 0) < 0)
		return -1;
	return n;
}

int64_t
store_csession_purge(struct store *st, int64_t before_ms)
{
	return purge(st, sql_sess_purge, before_ms, "purge sessions");
}

/* ---- audit ---- */

static const char sql_audit_add[] =
    "INSERT INTO console_audit (t_ms, user, ip, action, target, detail)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
static const char sql_audit_list[] =
    "SELECT t_ms, user, ip, action, target, detail FROM console_audit"
    " ORDER BY seq DESC LIMIT ?1 OFFSET ?2";
static const char sql_audit_count[] = "SELECT count(*) FROM console_audit";

int
store_caudit_add(struct store *st, const struct console_audit *a)
{
	sqlite3_stmt *s = store_xstmt(st, sql_audit_add);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, a->t_ms ? a->t_ms : util_now_ms());
	store_bind_text(s, 2, a->user);
	store_bind_text(s, 3, a->ip);
	store_bind_text(s, 4, a->action);
	store_bind_text(s, 5, a->target);
	store_bind_text(s, 6, a->detail);
	return write_one(st, s, "audit") < 0 ? -1 : 0;
}

int
store_caudit_foreach(struct store *st, int64_t limit, int64_t offset,
    store_caudit_cb cb, void *arg)
{
	sqlite3_stmt *s = store_xstmt(st, sql_audit_list);
	int rc, ret = 0;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, limit);
	sqlite3_bind_int64(s, 2, offset);
	/* The callback only builds JSON: it does not call back into the store. */
	while (ret == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct console_audit a;

		a.t_ms = sqlite3_column_int64(s, 0);
		a.user = (const char *)sqlite3_column_text(s, 1);
		a.ip = (const char *)sqlite3_column_text(s, 2);
		a.action = (const char *)sqlite3_column_text(s, 3);
		a.target = (const char *)sqlite3_column_text(s, 4);
		a.detail = (const char *)sqlite3_column_text(s, 5);
		ret = cb(&a, arg);
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store_db_fail(st, "list audit");
	store_stmt_done(s);
	return ret;
}

static int64_t
count_one(struct store *st, sqlite3_stmt *s, const char *what)
{
	int64_t n = -1;

	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int64(s, 0);
	else
		store_db_fail(st, what);
	store_stmt_done(s);
	return n;
}

int64_t
store_caudit_count(struct store *st)
{
	sqlite3_stmt *s = store_xstmt(st, sql_audit_count);

	return s == NULL ? -1 : count_one(st, s, "count audit");
}

/* ---- login failures ---- */

static const char sql_fail_add[] =
    "INSERT INTO console_login_failures (t_ms, user, ip, refused) VALUES (?1, ?2, ?3, ?4)";
static const char sql_fail_user[] =
    "SELECT count(*) FROM console_login_failures WHERE user = ?1 AND t_ms >= ?2 AND refused = 0";
static const char sql_fail_ip[] =
    "SELECT count(*) FROM console_login_failures WHERE ip = ?1 AND t_ms >= ?2 AND refused = 0";
static const char sql_fail_purge[] = "DELETE FROM console_login_failures WHERE t_ms < ?1";

int
store_login_fail_add(struct store *st, int64_t now_ms, const char *user,
    const char *ip, int refused)
{
	sqlite3_stmt *s = store_xstmt(st, sql_fail_add);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, now_ms);
	store_bind_text(s, 2, user ? user : "");
	store_bind_text(s, 3, ip ? ip : "");
	sqlite3_bind_int(s, 4, refused != 0);
	return write_one(st, s, "login failure") < 0 ? -1 : 0;
}

int
store_login_fail_count(struct store *st, int64_t since_ms, const char *user,
    const char *ip, int64_t *by_user, int64_t *by_ip)
{
	sqlite3_stmt *s;

	if ((s = store_xstmt(st, sql_fail_user)) == NULL)
		return -1;
	store_bind_text(s, 1, user ? user : "");
	sqlite3_bind_int64(s, 2, since_ms);
	if ((*by_user = count_one(st, s, "count failures")) < 0)
		return -1;
	if ((s = store_xstmt(st, sql_fail_ip)) == NULL)
		return -1;
	store_bind_text(s, 1, ip ? ip : "");
	sqlite3_bind_int64(s, 2, since_ms);
	if ((*by_ip = count_one(st, s, "count failures")) < 0)
		return -1;
	return 0;
}

int64_t
store_login_fail_purge(struct store *st, int64_t before_ms)
{
	return purge(st, sql_fail_purge, before_ms, "purge login failures");
}

/* ---- quarantine and message log ---- */

/*
 * ?1 q, ?2 sender, ?3 rcpt, ?4 symbol, ?5 since, ?6 until, ?7 addr,
 * ?8 subject, ?9 action; ?10 limit, ?11 offset.
 */
#define Q_RCPTS "(SELECT json_group_array(addr) FROM (SELECT addr FROM recipients" \
	" WHERE msg_id = m.id ORDER BY idx))"
#define Q_WHERE \
	" WHERE m.state = 3" \
	" AND (?1 IS NULL OR instr(lower(coalesce(m.subject, '') || ' ' ||" \
	"   coalesce(m.mail_from, '') || ' ' || " Q_RCPTS "), lower(?1)) > 0)" \
	" AND (?2 IS NULL OR instr(lower(coalesce(m.mail_from, '')), lower(?2)) > 0)" \
	" AND (?3 IS NULL OR EXISTS (SELECT 1 FROM recipients r WHERE r.msg_id = m.id" \
	"   AND instr(lower(r.addr), lower(?3)) > 0))" \
	" AND (?4 IS NULL OR EXISTS (SELECT 1 FROM json_each(CASE WHEN json_valid(m.scan)" \
	"   THEN m.scan ELSE '{}' END, '$.symbols') WHERE json_extract(value, '$.name') = ?4))" \
	" AND (?5 IS NULL OR m.received_ms >= ?5)" \
	" AND (?6 IS NULL OR m.received_ms < ?6)" \
	" AND (?7 IS NULL OR EXISTS (SELECT 1 FROM recipients r WHERE r.msg_id = m.id" \
	"   AND lower(r.addr) = lower(?7)))" \
	" AND (?8 IS NULL OR instr(lower(coalesce(m.subject, '')), lower(?8)) > 0)" \
	" AND (?9 IS NULL OR m.action = ?9)"

static const char sql_quar_list[] =
    "SELECT m.id, m.received_ms, m.listener, m.mail_from, " Q_RCPTS ", m.subject,"
    " m.action, m.scan, m.state FROM messages m" Q_WHERE
    " ORDER BY m.received_ms DESC, m.id DESC LIMIT ?10 OFFSET ?11";
static const char sql_quar_count[] = "SELECT count(*) FROM messages m" Q_WHERE;

#define L_WHERE \
	" WHERE 1" \
	" AND (?1 IS NULL OR instr(lower(coalesce(l.subject, '') || ' ' ||" \
	"   coalesce(l.mail_from, '') || ' ' || l.rcpts), lower(?1)) > 0)" \
	" AND (?2 IS NULL OR instr(lower(coalesce(l.mail_from, '')), lower(?2)) > 0)" \
	" AND (?3 IS NULL OR instr(lower(l.rcpts), lower(?3)) > 0)" \
	" AND (?4 IS NULL OR EXISTS (SELECT 1 FROM json_each(l.symbols) WHERE value = ?4))" \
	" AND (?5 IS NULL OR l.received_ms >= ?5)" \
	" AND (?6 IS NULL OR l.received_ms < ?6)" \
	" AND (?7 IS NULL OR lower(coalesce(l.mail_from, '')) = lower(?7)" \
	"   OR EXISTS (SELECT 1 FROM json_each(l.rcpts) WHERE lower(value) = lower(?7)))" \
	" AND (?8 IS NULL OR instr(lower(coalesce(l.subject, '')), lower(?8)) > 0)" \
	" AND (?9 IS NULL OR l.action = ?9)"

static const char sql_log_list[] =
    "SELECT l.id, l.received_ms, l.direction, l.mail_from, l.rcpts, l.subject,"
    " l.action, l.score, l.symbols, l.state FROM msglog l" L_WHERE
    " ORDER BY l.received_ms DESC, l.id DESC LIMIT ?10 OFFSET ?11";
static const char sql_log_count[] = "SELECT count(*) FROM msglog l" L_WHERE;
static const char sql_log_purge[] = "DELETE FROM msglog WHERE received_ms < ?1";
static const char sql_hits_purge[] = "DELETE FROM symbol_hits WHERE hour < ?1 / 3600000";
static const char sql_has_rcpt[] =
    "SELECT 1 FROM recipients WHERE msg_id = ?1 AND lower(addr) = lower(?2)";

static void
bind_opt(sqlite3_stmt *s, int i, const char *v)
{
	store_bind_text(s, i, v != NULL && *v != '\0' ? v : NULL);
}

static void
bind_query(sqlite3_stmt *s, const struct msg_query *q, int paged)
{
	bind_opt(s, 1, q->q);
	bind_opt(s, 2, q->sender);
	bind_opt(s, 3, q->rcpt);
	bind_opt(s, 4, q->symbol);
	if (q->since_ms > 0)
		sqlite3_bind_int64(s, 5, q->since_ms);
	if (q->until_ms > 0)
		sqlite3_bind_int64(s, 6, q->until_ms);
	bind_opt(s, 7, q->addr);
	bind_opt(s, 8, q->subject);
	bind_opt(s, 9, q->action);
	if (paged) {
		sqlite3_bind_int64(s, 10, q->limit > 0 ? q->limit : 50);
		sqlite3_bind_int64(s, 11, q->offset > 0 ? q->offset : 0);
	}
}

/* The statements are read in one snapshot so total and page agree. */
static int
run_query(struct store *st, const char *list_sql, const char *count_sql, int is_log,
    const struct msg_query *q, store_msg_row_cb cb, void *arg, int64_t *total)
{
	sqlite3_stmt *s;
	enum tx_kind own;
	int rc = SQLITE_DONE, ret = 0;

	if (store_tx_enter(st, 0, &own) < 0)
		return -1;
	if ((s = store_xstmt(st, count_sql)) == NULL)
		return store_tx_leave(st, own, -1);
	bind_query(s, q, 0);
	if ((*total = count_one(st, s, "count messages")) < 0)
		return store_tx_leave(st, own, -1);
	if ((s = store_xstmt(st, list_sql)) == NULL)
		return store_tx_leave(st, own, -1);
	bind_query(s, q, 1);
	while (ret == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct msg_row r;
		const char *listener;

		memset(&r, 0, sizeof(r));
		r.id = (const char *)sqlite3_column_text(s, 0);
		r.received_ms = sqlite3_column_int64(s, 1);
		listener = (const char *)sqlite3_column_text(s, 2);
		r.direction = listener && strcmp(listener, "outbound") == 0 ?
		    "outbound" : "inbound";
		r.from = (const char *)sqlite3_column_text(s, 3);
		r.rcpts = (const char *)sqlite3_column_text(s, 4);
		r.subject = (const char *)sqlite3_column_text(s, 5);
		r.action = (const char *)sqlite3_column_text(s, 6);
		if (is_log) {
			r.has_score = sqlite3_column_type(s, 7) != SQLITE_NULL;
			r.score = sqlite3_column_double(s, 7);
			r.scan = (const char *)sqlite3_column_text(s, 8);
		} else {
			r.scan = (const char *)sqlite3_column_text(s, 7);
		}
		r.state = sqlite3_column_int(s, 9 - !is_log);
		ret = cb(&r, arg);
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store_db_fail(st, "list messages");
	store_stmt_done(s);
	return store_tx_leave(st, own, ret);
}

int
store_quarantine_query(struct store *st, const struct msg_query *q,
    store_msg_row_cb cb, void *arg, int64_t *total)
{
	return run_query(st, sql_quar_list, sql_quar_count, 0, q, cb, arg, total);
}

int
store_msglog_query(struct store *st, const struct msg_query *q,
    store_msg_row_cb cb, void *arg, int64_t *total)
{
	return run_query(st, sql_log_list, sql_log_count, 1, q, cb, arg, total);
}

int
store_msg_has_rcpt(struct store *st, const char *id, const char *addr)
{
	sqlite3_stmt *s = store_xstmt(st, sql_has_rcpt);
	int rc;

	if (s == NULL)
		return -1;
	store_bind_text(s, 1, id);
	store_bind_text(s, 2, addr);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		store_db_fail(st, "find recipient");
	store_stmt_done(s);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int64_t
store_msglog_purge(struct store *st, int64_t before_ms)
{
	enum tx_kind own;
	int64_t n;

	if (store_tx_enter(st, 1, &own) < 0)
		return -1;
	n = purge(st, sql_log_purge, before_ms, "purge message log");
	if (n >= 0 && purge(st, sql_hits_purge, before_ms, "purge symbol counts") < 0)
		n = -1;
	return store_tx_leave(st, own, n < 0 ? -1 : 0) < 0 ? -1 : n;
}

/* ---- aggregates ---- */

#define A_ADDR \
	" AND (?2 IS NULL OR lower(coalesce(l.mail_from, '')) = lower(?2)" \
	"   OR EXISTS (SELECT 1 FROM json_each(l.rcpts) WHERE lower(value) = lower(?2)))"

static const char sql_by_action[] =
    "SELECT l.received_ms / 3600000 AS h, l.action, count(*) FROM msglog l"
    " WHERE l.received_ms >= ?1" A_ADDR " GROUP BY h, l.action ORDER BY h";
static const char sql_symbols[] =
    "SELECT 0, j.value, count(*) AS n FROM msglog l, json_each(l.symbols) j"
    " WHERE l.received_ms >= ?1" A_ADDR " GROUP BY j.value ORDER BY n DESC, j.value LIMIT ?3";
/* everyone's mail: the hourly counts (migration 15), from since's hour on */
static const char sql_symbol_hits[] =
    "SELECT 0, symbol, sum(n) AS t FROM symbol_hits WHERE hour >= ?1 / 3600000"
    " AND ?2 IS NULL GROUP BY symbol HAVING t > 0 ORDER BY t DESC, symbol LIMIT ?3";
static const char sql_targets[] =
    "SELECT 0, lower(j.value), count(*) AS n FROM msglog l, json_each(l.rcpts) j"
    " WHERE l.received_ms >= ?1 AND l.action NOT IN ('deliver', 'release')" A_ADDR
    " GROUP BY lower(j.value) ORDER BY n DESC, 2 LIMIT ?3";
static const char sql_logins[] =
    "SELECT t_ms / 3600000 AS h, CASE WHEN refused THEN 'refused' ELSE 'failures' END,"
    " count(*) FROM console_login_failures WHERE t_ms >= ?1 GROUP BY h, 2 ORDER BY h";

static int
aggregate(struct store *st, const char *sql, int64_t since_ms, const char *addr,
    int64_t limit, int hours, store_stat_cb cb, void *arg)
{
	sqlite3_stmt *s = store_xstmt(st, sql);
	int rc, ret = 0;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, since_ms);
	if (sqlite3_bind_parameter_count(s) >= 2)
		bind_opt(s, 2, addr);
	if (sqlite3_bind_parameter_count(s) >= 3)
		sqlite3_bind_int64(s, 3, limit);
	while (ret == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t key = sqlite3_column_int64(s, 0);
		const char *name = (const char *)sqlite3_column_text(s, 1);

		ret = cb(hours ? key * HOUR_MS : key, name ? name : "",
		    sqlite3_column_int64(s, 2), arg);
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store_db_fail(st, "statistics");
	store_stmt_done(s);
	return ret;
}

int
store_stats_by_action(struct store *st, int64_t since_ms, const char *addr,
    store_stat_cb cb, void *arg)
{
	return aggregate(st, sql_by_action, since_ms, addr, 0, 1, cb, arg);
}

int
store_stats_symbols(struct store *st, int64_t since_ms, const char *addr,
    int64_t limit, store_stat_cb cb, void *arg)
{
	return aggregate(st, addr == NULL ? sql_symbol_hits : sql_symbols, since_ms, addr,
	    limit, 0, cb, arg);
}

int
store_stats_targets(struct store *st, int64_t since_ms, const char *addr,
    int64_t limit, store_stat_cb cb, void *arg)
{
	return aggregate(st, sql_targets, since_ms, addr, limit, 0, cb, arg);
}

int
store_stats_logins(struct store *st, int64_t since_ms, store_stat_cb cb, void *arg)
{
	return aggregate(st, sql_logins, since_ms, NULL, 0, 1, cb, arg);
}
