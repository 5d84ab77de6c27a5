/*
 * store_sqlite_audit.c - store_audit.h over SQLite (tables of schema 6).
 *
 * Sieve audit state, forced password changes, incidents with their steps
 * and timeline, and read-only queries over the messages table for a
 * user's outbound history.  Foreach calls read all rows first and reset
 * the statement before the callbacks run, so callbacks may use the store.
 * An incident's opening, step changes and closing each write their
 * timeline event in the same transaction as the change.
 */
#include "store/store_audit.h"
#include "store/store_int.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

static const char sql_sieve_get[] =
    "SELECT audited_ms, digest, findings FROM sieve_audits WHERE login = ?1";
static const char sql_sieve_put[] =
    "INSERT OR REPLACE INTO sieve_audits (login, audited_ms, digest, findings)"
    " VALUES (?1, ?2, ?3, ?4)";
static const char sql_pw_set[] =
    "INSERT OR REPLACE INTO password_changes (login, since_ms, reason) VALUES (?1, ?2, ?3)";
static const char sql_pw_get[] =
    "SELECT since_ms, reason FROM password_changes WHERE login = ?1";
static const char sql_pw_clear[] = "DELETE FROM password_changes WHERE login = ?1";

#define INC_COLUMNS "i.id, i.login, i.opened_ms, i.opened_by, i.closed_ms, i.closed_by," \
	" (SELECT coalesce(sum(1 << (s.step - 1)), 0) FROM incident_steps s" \
	"  WHERE s.incident_id = i.id AND s.done = 1)"
static const char sql_inc_open[] =
    "INSERT INTO incidents (login, opened_ms, opened_by) VALUES (?1, ?2, ?3)";
static const char sql_inc_get[] = "SELECT " INC_COLUMNS " FROM incidents i WHERE i.id = ?1";
static const char sql_inc_find_open[] =
    "SELECT " INC_COLUMNS " FROM incidents i WHERE i.login = ?1 AND i.closed_ms = 0"
    " ORDER BY i.id DESC LIMIT 1";
static const char sql_inc_list[] =
    "SELECT " INC_COLUMNS " FROM incidents i WHERE (?1 = 0 OR i.closed_ms = 0)"
    " ORDER BY i.id DESC";
static const char sql_inc_close[] =
    "UPDATE incidents SET closed_ms = ?2, closed_by = ?3 WHERE id = ?1 AND closed_ms = 0";
static const char sql_step_set[] =
    "INSERT OR REPLACE INTO incident_steps (incident_id, step, done, done_ms, actor, note)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
static const char sql_step_list[] =
    "SELECT step, done, done_ms, actor, note FROM incident_steps"
    " WHERE incident_id = ?1 ORDER BY step";
static const char sql_ev_add[] =
    "INSERT INTO incident_events (incident_id, time_ms, step, actor, what, detail)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
static const char sql_ev_list[] =
    "SELECT id, incident_id, time_ms, step, actor, what, detail FROM incident_events"
    " WHERE incident_id = ?1 ORDER BY id";
static const char sql_user_out[] =
    "SELECT id FROM messages WHERE listener = 'outbound' AND received_ms >= ?2"
    " AND (lower(auth_user) = lower(?1) OR lower(mail_from) = lower(?1))"
    " ORDER BY received_ms DESC, id DESC LIMIT ?3";
static const char sql_user_rcpts[] =
    "SELECT lower(r.addr), count(DISTINCT m.id), max(m.received_ms)"
    " FROM messages m JOIN recipients r ON r.msg_id = m.id"
    " WHERE m.listener = 'outbound' AND m.received_ms >= ?2"
    " AND (lower(m.auth_user) = lower(?1) OR lower(m.mail_from) = lower(?1))"
    " GROUP BY lower(r.addr) ORDER BY lower(r.addr)";

static const char sql_sent_add[] =
    "INSERT OR REPLACE INTO user_sent (login, msg_id, time_ms, action, score, subject,"
    " recipients) VALUES (lower(?1), ?2, ?3, ?4, ?5, ?6, ?7)";
static const char sql_contact_note[] =
    "INSERT INTO user_contacts (login, addr, first_ms, last_ms, messages)"
    " VALUES (lower(?1), lower(?2), ?3, ?3, 1) ON CONFLICT (login, addr) DO UPDATE"
    " SET last_ms = max(last_ms, ?3), messages = messages + 1";
static const char sql_sent_list[] =
    "SELECT msg_id, time_ms, action, score, subject, recipients FROM user_sent"
    " WHERE login = lower(?1) AND time_ms >= ?2 ORDER BY time_ms DESC LIMIT ?3";
static const char sql_contacts[] =
    "SELECT addr, messages, last_ms FROM user_contacts"
    " WHERE login = lower(?1) AND last_ms >= ?2 ORDER BY addr";

/* ---- Sieve audit state ---- */

int
store_sieve_get(struct store *st, const char *login, struct store_sieve_state *out)
{
	sqlite3_stmt *s = store_xstmt(st, sql_sieve_get);
	int rc;

	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, login);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		out->audited_ms = sqlite3_column_int64(s, 0);
		store_col_copy(s, 1, out->digest, sizeof(out->digest));
		out->findings = store_col_text(s, 2);
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		store_db_fail(st, "sieve audit get");
	store_stmt_done(s);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int
store_sieve_put(struct store *st, const char *login, int64_t audited_ms,
    const char *digest, const char *findings_json)
{
	sqlite3_stmt *s = store_xstmt(st, sql_sieve_put);
	enum tx_kind tx;
	int rc;

	if (s == NULL || store_tx_enter(st, 1, &tx) < 0)
		return -1;
	store_bind_text(s, 1, login);
	sqlite3_bind_int64(s, 2, audited_ms);
	store_bind_text(s, 3, digest);
	store_bind_text(s, 4, findings_json ? findings_json : "[]");
	rc = store_stmt_run(st, s, "sieve audit put");
	return store_tx_leave(st, tx, rc);
}

void
store_sieve_state_clear(struct store_sieve_state *s)
{
	if (s == NULL)
		return;
	free(s->findings);
	memset(s, 0, sizeof(*s));
}

/* ---- forced password changes ---- */

int
store_pwchange_set(struct store *st, const char *login, const char *reason)
{
	sqlite3_stmt *s = store_xstmt(st, sql_pw_set);
	enum tx_kind tx;
	int rc;

	if (s == NULL || store_tx_enter(st, 1, &tx) < 0)
		return -1;
	store_bind_text(s, 1, login);
	sqlite3_bind_int64(s, 2, util_now_ms());
	store_bind_text(s, 3, reason ? reason : "");
	rc = store_stmt_run(st, s, "password change set");
	return store_tx_leave(st, tx, rc);
}

int
store_pwchange_get(struct store *st, const char *login, int64_t *since_ms,
    char *reason, size_t reasonlen)
{
	sqlite3_stmt *s = store_xstmt(st, sql_pw_get);
	int rc;

	if (s == NULL)
		return -1;
	store_bind_text(s, 1, login);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		if (since_ms != NULL)
			*since_ms = sqlite3_column_int64(s, 0);
		if (reason != NULL)
			store_col_copy(s, 1, reason, reasonlen);
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		store_db_fail(st, "password change get");
	store_stmt_done(s);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int
store_pwchange_clear(struct store *st, const char *login)
{
	sqlite3_stmt *s = store_xstmt(st, sql_pw_clear);
	enum tx_kind tx;
	int rc;

	if (s == NULL || store_tx_enter(st, 1, &tx) < 0)
		return -1;
	store_bind_text(s, 1, login);
	rc = store_stmt_run(st, s, "password change clear");
	if (rc == 0 && sqlite3_changes(store_db(st)) == 0)
		rc = 1;
	return store_tx_leave(st, tx, rc);
}

/* ---- incidents ---- */

static int
event_add(struct store *st, int64_t id, int step, const char *actor, const char *what,
    const char *detail)
{
	sqlite3_stmt *s = store_xstmt(st, sql_ev_add);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, util_now_ms());
	sqlite3_bind_int(s, 3, step);
	store_bind_text(s, 4, actor ? actor : "");
	store_bind_text(s, 5, what);
	store_bind_text(s, 6, detail ? detail : "");
	return store_stmt_run(st, s, "incident event");
}

int
store_incident_event_add(struct store *st, int64_t id, int step, const char *actor,
    const char *what, const char *detail)
{
	enum tx_kind tx;

	if (store_tx_enter(st, 1, &tx) < 0)
		return -1;
	return store_tx_leave(st, tx, event_add(st, id, step, actor, what, detail));
}

int
store_incident_open(struct store *st, const char *login, const char *actor, int64_t *id)
{
	sqlite3_stmt *s = store_xstmt(st, sql_inc_open);
	enum tx_kind tx;
	int rc;

	if (s == NULL || store_tx_enter(st, 1, &tx) < 0)
		return -1;
	store_bind_text(s, 1, login);
	sqlite3_bind_int64(s, 2, util_now_ms());
	store_bind_text(s, 3, actor ? actor : "");
	rc = store_stmt_run(st, s, "incident open");
	if (rc == 0) {
		int64_t newid = sqlite3_last_insert_rowid(store_db(st));
		if (id != NULL)
			*id = newid;
		rc = event_add(st, newid, 0, actor, "opened", login);
	}
	return store_tx_leave(st, tx, rc);
}

static void
inc_fill(sqlite3_stmt *s, struct store_incident *inc)
{
	memset(inc, 0, sizeof(*inc));
	inc->id = sqlite3_column_int64(s, 0);
	store_col_copy(s, 1, inc->login, sizeof(inc->login));
	inc->opened_ms = sqlite3_column_int64(s, 2);
	store_col_copy(s, 3, inc->opened_by, sizeof(inc->opened_by));
	inc->closed_ms = sqlite3_column_int64(s, 4);
	store_col_copy(s, 5, inc->closed_by, sizeof(inc->closed_by));
	inc->steps_done = (unsigned)sqlite3_column_int(s, 6);
}

static int
inc_one(struct store *st, sqlite3_stmt *s, struct store_incident *inc)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW)
		inc_fill(s, inc);
	else if (rc != SQLITE_DONE)
		store_db_fail(st, "incident get");
	store_stmt_done(s);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int
store_incident_get(struct store *st, int64_t id, struct store_incident *inc)
{
	sqlite3_stmt *s = store_xstmt(st, sql_inc_get);

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	return inc_one(st, s, inc);
}

int
store_incident_find_open(struct store *st, const char *login, struct store_incident *inc)
{
	sqlite3_stmt *s = store_xstmt(st, sql_inc_find_open);

	if (s == NULL)
		return -1;
	store_bind_text(s, 1, login);
	return inc_one(st, s, inc);
}

int
store_incident_foreach(struct store *st, int open_only, store_incident_cb cb, void *arg)
{
	sqlite3_stmt *s = store_xstmt(st, sql_inc_list);
	struct store_incident *v = NULL;
	size_t n = 0;
	int rc, ret = 0;

	if (s == NULL)
		return -1;
	sqlite3_bind_int(s, 1, open_only);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		v = xrealloc(v, (n + 1) * sizeof(*v));
		inc_fill(s, &v[n++]);
	}
	if (rc != SQLITE_DONE)
		ret = store_db_fail(st, "incident list");
	store_stmt_done(s);
	for (size_t i = 0; ret == 0 && i < n; i++)
		ret = cb(&v[i], arg);
	free(v);
	return ret;
}

int
store_incident_close(struct store *st, int64_t id, const char *actor)
{
	sqlite3_stmt *s = store_xstmt(st, sql_inc_close);
	enum tx_kind tx;
	int rc;

	if (s == NULL || store_tx_enter(st, 1, &tx) < 0)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int64(s, 2, util_now_ms());
	store_bind_text(s, 3, actor ? actor : "");
	rc = store_stmt_run(st, s, "incident close");
	if (rc == 0 && sqlite3_changes(store_db(st)) == 0)
		rc = 1;
	else if (rc == 0)
		rc = event_add(st, id, 0, actor, "closed", "");
	return store_tx_leave(st, tx, rc);
}

int
store_incident_step_set(struct store *st, int64_t id, int step, int done,
    const char *actor, const char *note)
{
	sqlite3_stmt *s;
	struct store_incident inc;
	enum tx_kind tx;
	int rc;

	if (step < 1 || step > INCIDENT_STEPS) {
		store_seterr(st, "incident step %d: must be 1 to %d", step, INCIDENT_STEPS);
		return -1;
	}
	if (store_tx_enter(st, 1, &tx) < 0)
		return -1;
	rc = store_incident_get(st, id, &inc);
	if (rc == 0 && (s = store_xstmt(st, sql_step_set)) == NULL)
		rc = -1;
	if (rc == 0) {
		sqlite3_bind_int64(s, 1, id);
		sqlite3_bind_int(s, 2, step);
		sqlite3_bind_int(s, 3, done ? 1 : 0);
		sqlite3_bind_int64(s, 4, done ? util_now_ms() : 0);
		store_bind_text(s, 5, actor ? actor : "");
		store_bind_text(s, 6, note ? note : "");
		rc = store_stmt_run(st, s, "incident step");
	}
	if (rc == 0)
		rc = event_add(st, id, step, actor, done ? "step_done" : "step_reopened",
		    note ? note : "");
	return store_tx_leave(st, tx, rc);
}

int
store_incident_steps(struct store *st, int64_t id,
    struct store_incident_step steps[INCIDENT_STEPS])
{
	sqlite3_stmt *s = store_xstmt(st, sql_step_list);
	int rc;

	memset(steps, 0, INCIDENT_STEPS * sizeof(*steps));
	for (int i = 0; i < INCIDENT_STEPS; i++)
		steps[i].step = i + 1;
	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int n = sqlite3_column_int(s, 0);
		struct store_incident_step *p;
		if (n < 1 || n > INCIDENT_STEPS)
			continue;
		p = &steps[n - 1];
		p->done = sqlite3_column_int(s, 1);
		p->done_ms = sqlite3_column_int64(s, 2);
		store_col_copy(s, 3, p->actor, sizeof(p->actor));
		store_col_copy(s, 4, p->note, sizeof(p->note));
	}
	if (rc != SQLITE_DONE)
		store_db_fail(st, "incident steps");
	store_stmt_done(s);
	return rc == SQLITE_DONE ? 0 : -1;
}

int
store_incident_event_foreach(struct store *st, int64_t id, store_incident_event_cb cb,
    void *arg)
{
	sqlite3_stmt *s = store_xstmt(st, sql_ev_list);
	struct store_incident_event *v = NULL;
	size_t n = 0;
	int rc, ret = 0;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_incident_event *e;
		v = xrealloc(v, (n + 1) * sizeof(*v));
		e = &v[n++];
		memset(e, 0, sizeof(*e));
		e->id = sqlite3_column_int64(s, 0);
		e->incident_id = sqlite3_column_int64(s, 1);
		e->time_ms = sqlite3_column_int64(s, 2);
		e->step = sqlite3_column_int(s, 3);
		store_col_copy(s, 4, e->actor, sizeof(e->actor));
		store_col_copy(s, 5, e->what, sizeof(e->what));
		e->detail = store_col_text(s, 6);
	}
	if (rc != SQLITE_DONE)
		ret = store_db_fail(st, "incident events");
	store_stmt_done(s);
	for (size_t i = 0; ret == 0 && i < n; i++)
		ret = cb(&v[i], arg);
	for (size_t i = 0; i < n; i++)
		free(v[i].detail);
	free(v);
	return ret;
}

/* ---- a user's outbound history ---- */

int
store_user_outbound(struct store *st, const char *login, int64_t since_ms,
    char (*ids)[QUEUE_ID_SIZE], size_t max)
{
	sqlite3_stmt *s = store_xstmt(st, sql_user_out);
	size_t n = 0;
	int rc;

	if (s == NULL)
		return -1;
	store_bind_text(s, 1, login);
	sqlite3_bind_int64(s, 2, since_ms);
	sqlite3_bind_int64(s, 3, (int64_t)max);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW && n < max)
		store_col_copy(s, 0, ids[n++], QUEUE_ID_SIZE);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		store_db_fail(st, "user outbound");
		store_stmt_done(s);
		return -1;
	}
	store_stmt_done(s);
	return (int)n;
}

struct rcpt_row {
	char *addr;
	int64_t count, last_ms;
};

/* Rows (address, count, last_ms) of sql for login since since_ms, read
 * whole before cb runs (cb may call back into the store). */
static int
rcpt_rows(struct store *st, const char *sql, const char *what, const char *login,
    int64_t since_ms, store_user_rcpt_cb cb, void *arg)
{
	sqlite3_stmt *s = store_xstmt(st, sql);
	struct rcpt_row *v = NULL;
	size_t n = 0;
	int rc, ret = 0;

	if (s == NULL)
		return -1;
	store_bind_text(s, 1, login);
	sqlite3_bind_int64(s, 2, since_ms);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		v = xrealloc(v, (n + 1) * sizeof(*v));
		v[n].addr = store_col_text(s, 0);
		v[n].count = sqlite3_column_int64(s, 1);
		v[n].last_ms = sqlite3_column_int64(s, 2);
		if (v[n].addr == NULL)
			v[n].addr = xstrdup("");
		n++;
	}
	if (rc != SQLITE_DONE)
		ret = store_db_fail(st, what);
	store_stmt_done(s);
	for (size_t i = 0; ret == 0 && i < n; i++)
		ret = cb(v[i].addr, v[i].count, v[i].last_ms, arg);
	for (size_t i = 0; i < n; i++)
		free(v[i].addr);
	free(v);
	return ret;
}

int
store_user_recipients(struct store *st, const char *login, int64_t since_ms,
    store_user_rcpt_cb cb, void *arg)
{
	return rcpt_rows(st, sql_user_rcpts, "user recipients", login, since_ms, cb, arg);
}

/* ---- what users sent, after delivery ---- */

int
store_user_sent_add(struct store *st, const char *login, const struct store_sent *m,
    char *const *rcpts, size_t nrcpts)
{
	sqlite3_stmt *s = store_xstmt(st, sql_sent_add), *c;
	enum tx_kind tx;
	int rc;

	if (s == NULL || (c = store_xstmt(st, sql_contact_note)) == NULL ||
	    store_tx_enter(st, 1, &tx) < 0)
		return -1;
	store_bind_text(s, 1, login);
	store_bind_text(s, 2, m->msg_id);
	sqlite3_bind_int64(s, 3, m->time_ms);
	store_bind_text(s, 4, m->action);
	sqlite3_bind_double(s, 5, m->score);
	store_bind_text(s, 6, m->subject);
	sqlite3_bind_int(s, 7, m->recipients);
	rc = store_stmt_run(st, s, "user sent");
	for (size_t i = 0; rc == 0 && i < nrcpts; i++) {
		store_bind_text(c, 1, login);
		store_bind_text(c, 2, rcpts[i]);
		sqlite3_bind_int64(c, 3, m->time_ms);
		rc = store_stmt_run(st, c, "user contact");
	}
	return store_tx_leave(st, tx, rc);
}

int
store_user_sent_foreach(struct store *st, const char *login, int64_t since_ms,
    size_t max, store_sent_cb cb, void *arg)
{
	sqlite3_stmt *s = store_xstmt(st, sql_sent_list);
	struct store_sent *v = NULL;
	size_t n = 0;
	int rc, ret = 0;

	if (s == NULL)
		return -1;
	store_bind_text(s, 1, login);
	sqlite3_bind_int64(s, 2, since_ms);
	sqlite3_bind_int64(s, 3, max == 0 ? -1 : (int64_t)max);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct store_sent *m;
		v = xrealloc(v, (n + 1) * sizeof(*v));
		m = &v[n++];
		memset(m, 0, sizeof(*m));
		store_col_copy(s, 0, m->msg_id, sizeof(m->msg_id));
		m->time_ms = sqlite3_column_int64(s, 1);
		store_col_copy(s, 2, m->action, sizeof(m->action));
		m->score = sqlite3_column_double(s, 3);
		store_col_copy(s, 4, m->subject, sizeof(m->subject));
		m->recipients = sqlite3_column_int(s, 5);
	}
	if (rc != SQLITE_DONE)
		ret = store_db_fail(st, "user sent list");
	store_stmt_done(s);
	for (size_t i = 0; ret == 0 && i < n; i++)
		ret = cb(&v[i], arg);
	free(v);
	return ret;
}

int
store_user_contacts(struct store *st, const char *login, int64_t since_ms,
    store_user_rcpt_cb cb, void *arg)
{
	return rcpt_rows(st, sql_contacts, "user contacts", login, since_ms, cb, arg);
}
