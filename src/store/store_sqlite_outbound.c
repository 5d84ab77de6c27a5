/*
 * store_sqlite_outbound.c - the directory, holds and link tokens on SQLite
 * (store_outbound.h; tables from migration 5 of store_sqlite.c).
 *
 * store_hold_decide() is the one place where a hold ends: the hold's
 * status changes only "WHERE status = 'held'", and the message moves in
 * the same transaction, so two deciders at once (a link clicked while the
 * hold timer runs out, two approvers) cannot both win: the second one is
 * told 1.  store_token_use() spends a token the same way ("WHERE used_ms =
 * 0"), so a link works once.
 */
#include "store/store_int.h"
#include "store/store_outbound.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

static char *
lower_dup(const char *s)
{
	char *d = xstrdup(s ? s : "");

	for (char *p = d; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return d;
}

void
dir_entry_clear(struct dir_entry *e)
{
	if (e == NULL)
		return;
	free(e->key);
	free(e->name);
	free(e->department);
	free(e->approvers);
	free(e->delegate);
	free(e->language);
	free(e->members);
	memset(e, 0, sizeof(*e));
}

static const char sql_dir_put[] =
    "INSERT OR REPLACE INTO directory (kind, key, name, department, approvers,"
    " delegate, language, hold_minutes, members)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

int
store_dir_put(struct store *st, const struct dir_entry *e)
{
	sqlite3_stmt *s;
	enum tx_kind own;
	char *key;
	int rc;

	if (store_tx_enter(st, 1, &own) < 0)
		return -1;
	if ((s = store_xstmt(st, sql_dir_put)) == NULL)
		return store_tx_leave(st, own, -1);
	key = e->kind == DIR_GROUP ? xstrdup(e->key) : lower_dup(e->key);
	sqlite3_bind_int(s, 1, (int)e->kind);
	store_bind_text(s, 2, key);
	store_bind_text(s, 3, e->name);
	store_bind_text(s, 4, e->department);
	store_bind_text(s, 5, e->approvers);
	store_bind_text(s, 6, e->delegate);
	store_bind_text(s, 7, e->language);
	sqlite3_bind_int64(s, 8, e->hold_minutes);
	store_bind_text(s, 9, e->members);
	rc = store_stmt_run(st, s, "directory put");
	free(key);
	return store_tx_leave(st, own, rc);
}

static void
dir_row(sqlite3_stmt *s, struct dir_entry *e)
{
	e->kind = (enum dir_kind)sqlite3_column_int(s, 0);
	e->key = store_col_text(s, 1);
	e->name = store_col_text(s, 2);
	e->department = store_col_text(s, 3);
	e->approvers = store_col_text(s, 4);
	e->delegate = store_col_text(s, 5);
	e->language = store_col_text(s, 6);
	e->hold_minutes = sqlite3_column_int64(s, 7);
	e->members = store_col_text(s, 8);
}

#define DIR_COLUMNS "kind, key, name, department, approvers, delegate, language," \
	" hold_minutes, members"

static const char sql_dir_get[] =
    "SELECT " DIR_COLUMNS " FROM directory WHERE kind = ?1 AND key = ?2";

int
store_dir_get(struct store *st, enum dir_kind kind, const char *key, struct dir_entry *e)
{
	sqlite3_stmt *s;
	char *k;
	int rc, ret;

	memset(e, 0, sizeof(*e));
	if ((s = store_xstmt(st, sql_dir_get)) == NULL)
		return -1;
	k = kind == DIR_GROUP ? xstrdup(key) : lower_dup(key);
	sqlite3_bind_int(s, 1, (int)kind);
	store_bind_text(s, 2, k);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		dir_row(s, e);
		ret = 0;
	} else if (rc == SQLITE_DONE) {
		ret = 1;
	} else {
		ret = store_db_fail(st, "directory get");
	}
	store_stmt_done(s);
	free(k);
	return ret;
}

static const char sql_dir_clear[] = "DELETE FROM directory";

int
store_dir_clear(struct store *st)
{
	sqlite3_stmt *s;
	enum tx_kind own;

	if (store_tx_enter(st, 1, &own) < 0)
		return -1;
	if ((s = store_xstmt(st, sql_dir_clear)) == NULL)
		return store_tx_leave(st, own, -1);
	return store_tx_leave(st, own, store_stmt_run(st, s, "directory clear"));
}

static const char sql_dir_all[] =
    "SELECT " DIR_COLUMNS " FROM directory ORDER BY kind, key";

int
store_dir_foreach(struct store *st, store_dir_cb cb, void *arg)
{
	sqlite3_stmt *s;
	struct dir_entry e;
	int rc, ret = 0;

	if ((s = store_xstmt(st, sql_dir_all)) == NULL)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		dir_row(s, &e);
		ret = cb(&e, arg);
		dir_entry_clear(&e);
		if (ret != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store_db_fail(st, "directory list");
	store_stmt_done(s);
	return ret;
}

/* ---- holds ---- */

void
store_hold_clear(struct store_hold *h)
{
	if (h == NULL)
		return;
	free(h->sender);
	free(h->lang);
	free(h->approvers);
	free(h->reasons);
	free(h->decided_by);
	free(h->comment);
	memset(h, 0, sizeof(*h));
}

#define HOLD_COLUMNS "msg_id, kind, status, sender, lang, approvers, risk, reasons," \
	" created_ms, release_at, deadline_at, reminder_at, notified, reminded," \
	" outcome_notified, purged, decided_by, comment, decided_ms"

static const char sql_hold_insert[] =
    "INSERT OR REPLACE INTO holds (" HOLD_COLUMNS ") VALUES (?1, ?2, ?3, ?4, ?5,"
    " ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)";

int
store_hold_insert(struct store *st, const struct store_hold *h)
{
	sqlite3_stmt *s;
	enum tx_kind own;

	if (store_tx_enter(st, 1, &own) < 0)
		return -1;
	if ((s = store_xstmt(st, sql_hold_insert)) == NULL)
		return store_tx_leave(st, own, -1);
	store_bind_text(s, 1, h->msg_id);
	store_bind_text(s, 2, h->kind);
	store_bind_text(s, 3, h->status);
	store_bind_text(s, 4, h->sender);
	store_bind_text(s, 5, h->lang);
	store_bind_text(s, 6, h->approvers);
	sqlite3_bind_double(s, 7, h->risk);
	store_bind_text(s, 8, h->reasons);
	sqlite3_bind_int64(s, 9, h->created_ms);
	sqlite3_bind_int64(s, 10, h->release_at);
	sqlite3_bind_int64(s, 11, h->deadline_at);
	sqlite3_bind_int64(s, 12, h->reminder_at);
	sqlite3_bind_int(s, 13, h->notified);
	sqlite3_bind_int(s, 14, h->reminded);
	sqlite3_bind_int(s, 15, h->outcome_notified);
	sqlite3_bind_int(s, 16, h->purged);
	store_bind_text(s, 17, h->decided_by);
	store_bind_text(s, 18, h->comment);
	sqlite3_bind_int64(s, 19, h->decided_ms);
	return store_tx_leave(st, own, store_stmt_run(st, s, "hold insert"));
}

void
store_hold_row(sqlite3_stmt *s, struct store_hold *h)
{
	memset(h, 0, sizeof(*h));
	store_col_copy(s, 0, h->msg_id, sizeof(h->msg_id));
	store_col_copy(s, 1, h->kind, sizeof(h->kind));
	store_col_copy(s, 2, h->status, sizeof(h->status));
	h->sender = store_col_text(s, 3);
	h->lang = store_col_text(s, 4);
	h->approvers = store_col_text(s, 5);
	h->risk = sqlite3_column_double(s, 6);
	h->reasons = store_col_text(s, 7);
	h->created_ms = sqlite3_column_int64(s, 8);
	h->release_at = sqlite3_column_int64(s, 9);
	h->deadline_at = sqlite3_column_int64(s, 10);
	h->reminder_at = sqlite3_column_int64(s, 11);
	h->notified = sqlite3_column_int(s, 12);
	h->reminded = sqlite3_column_int(s, 13);
	h->outcome_notified = sqlite3_column_int(s, 14);
	h->purged = sqlite3_column_int(s, 15);
	h->decided_by = store_col_text(s, 16);
	h->comment = store_col_text(s, 17);
	h->decided_ms = sqlite3_column_int64(s, 18);
}

static const char sql_hold_get[] = "SELECT " HOLD_COLUMNS " FROM holds WHERE msg_id = ?1";

int
store_hold_get(struct store *st, const char *id, struct store_hold *h)
{
	sqlite3_stmt *s;
	int ret;

	memset(h, 0, sizeof(*h));
	if ((s = store_xstmt(st, sql_hold_get)) == NULL)
		return -1;
	store_bind_text(s, 1, id);
	if ((ret = store_step_row(st, s, "hold get")) == 0)
		store_hold_row(s, h);
	store_stmt_done(s);
	return ret;
}

static const char sql_hold_decide[] =
    "UPDATE holds SET status = ?2, decided_by = ?3, comment = ?4, decided_ms = ?5,"
    " outcome_notified = ?6 WHERE msg_id = ?1 AND status = 'held'";

/* The message of a decided hold: to the queue, due now, or done. */
static int
move_message(struct store *st, const char *id, int release, int64_t now_ms)
{
	struct envelope *env = NULL;
	struct queue_info qi;
	int rc;

	memset(&qi, 0, sizeof(qi));
	rc = store_msg_get(st, id, &env, &qi);
	if (rc != 0)
		return rc < 0 ? -1 : 0;	/* gone already: nothing to move */
	if (qi.state == MSG_HELD) {
		qi.state = release ? MSG_QUEUED : MSG_DONE;
		qi.next_try_ms = now_ms;
		free(qi.action);
		qi.action = xstrdup(release ? "release" : "recall");
		rc = store_msg_update(st, env, &qi);
	}
	envelope_free(env);
	queue_info_clear(&qi);
	return rc;
}

int
store_hold_decide(struct store *st, const char *id, const char *status, int release,
    const char *by, const char *comment, int64_t now_ms, int tell_sender)
{
	sqlite3_stmt *s;
	enum tx_kind own;
	int rc;

	if (store_tx_enter(st, 1, &own) < 0)
		return -1;
	if ((s = store_xstmt(st, sql_hold_decide)) == NULL)
		return store_tx_leave(st, own, -1);
	store_bind_text(s, 1, id);
	store_bind_text(s, 2, status);
	store_bind_text(s, 3, by);
	store_bind_text(s, 4, comment);
	sqlite3_bind_int64(s, 5, now_ms);
	sqlite3_bind_int(s, 6, tell_sender ? 0 : 1);
	if (store_stmt_run(st, s, "hold decide") < 0)
		return store_tx_leave(st, own, -1);
	if (sqlite3_changes(store_db(st)) == 0)
		return store_tx_leave(st, own, 1);
	rc = move_message(st, id, release, now_ms);
	return store_tx_leave(st, own, rc < 0 ? -1 : 0);
}

static const char sql_flag_notified[] = "UPDATE holds SET notified = 1 WHERE msg_id = ?1";
static const char sql_flag_reminded[] = "UPDATE holds SET reminded = 1 WHERE msg_id = ?1";
static const char sql_flag_outcome[] =
    "UPDATE holds SET outcome_notified = 1 WHERE msg_id = ?1";
static const char sql_flag_purged[] = "UPDATE holds SET purged = 1 WHERE msg_id = ?1";

int
store_hold_flag(struct store *st, const char *id, const char *flag)
{
	const char *sql = strcmp(flag, "notified") == 0 ? sql_flag_notified :
	    strcmp(flag, "reminded") == 0 ? sql_flag_reminded :
	    strcmp(flag, "outcome_notified") == 0 ? sql_flag_outcome :
	    strcmp(flag, "purged") == 0 ? sql_flag_purged : NULL;
	sqlite3_stmt *s;
	enum tx_kind own;

	if (sql == NULL) {
		store_seterr(st, "hold flag: unknown flag %s", flag);
		return -1;
	}
	if (store_tx_enter(st, 1, &own) < 0)
		return -1;
	if ((s = store_xstmt(st, sql)) == NULL)
		return store_tx_leave(st, own, -1);
	store_bind_text(s, 1, id);
	return store_tx_leave(st, own, store_stmt_run(st, s, "hold flag"));
}

static const char sql_hold_times[] =
    "UPDATE holds SET deadline_at = ?2, reminder_at = ?3, release_at = ?4"
    " WHERE msg_id = ?1";

int
store_hold_times(struct store *st, const char *id, int64_t deadline_at,
    int64_t reminder_at, int64_t release_at)
{
	sqlite3_stmt *s;
	enum tx_kind own;

	if (store_tx_enter(st, 1, &own) < 0)
		return -1;
	if ((s = store_xstmt(st, sql_hold_times)) == NULL)
		return store_tx_leave(st, own, -1);
	store_bind_text(s, 1, id);
	sqlite3_bind_int64(s, 2, deadline_at);
	sqlite3_bind_int64(s, 3, reminder_at);
	sqlite3_bind_int64(s, 4, release_at);
	return store_tx_leave(st, own, store_stmt_run(st, s, "hold times"));
}

static const char sql_hold_work[] =
    "SELECT " HOLD_COLUMNS " FROM holds"
    " WHERE (status = 'held' OR outcome_notified = 0 OR purged = 0) AND ("
    " (status = 'held' AND (notified = 0"
    "   OR (release_at > 0 AND release_at <= ?1)"
    "   OR (deadline_at > 0 AND deadline_at <= ?1)"
    "   OR (reminder_at > 0 AND reminder_at <= ?1 AND reminded = 0)))"
    " OR (status <> 'held' AND (outcome_notified = 0 OR purged = 0)))"
    " ORDER BY created_ms, msg_id LIMIT ?2";

int
store_hold_work(struct store *st, int64_t now_ms, struct store_hold **out, size_t max)
{
	sqlite3_stmt *s;
	struct store_hold *v = NULL;
	size_t n = 0;
	int rc;

	*out = NULL;
	if ((s = store_xstmt(st, sql_hold_work)) == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, now_ms);
	sqlite3_bind_int64(s, 2, (sqlite3_int64)max);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		v = xrealloc(v, (n + 1) * sizeof(*v));
		store_hold_row(s, &v[n++]);
	}
	if (rc != SQLITE_DONE) {
		store_db_fail(st, "hold work");
		store_stmt_done(s);
		for (size_t i = 0; i < n; i++)
			store_hold_clear(&v[i]);
		free(v);
		return -1;
	}
	store_stmt_done(s);
	*out = v;
	return (int)n;
}

static const char sql_hold_all[] =
    "SELECT " HOLD_COLUMNS " FROM holds ORDER BY created_ms, msg_id";
static const char sql_hold_status[] =
    "SELECT " HOLD_COLUMNS " FROM holds WHERE status = ?1 ORDER BY created_ms, msg_id";

int
store_hold_foreach(struct store *st, const char *status, store_hold_cb cb, void *arg)
{
	sqlite3_stmt *s;
	struct store_hold h;
	int rc, ret = 0;

	if ((s = store_xstmt(st, status ? sql_hold_status : sql_hold_all)) == NULL)
		return -1;
	if (status)
		store_bind_text(s, 1, status);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		store_hold_row(s, &h);
		ret = cb(&h, arg);
		store_hold_clear(&h);
		if (ret != 0)
			break;
	}
	if (ret == 0 && rc != SQLITE_DONE)
		ret = store_db_fail(st, "hold list");
	store_stmt_done(s);
	return ret;
}

/* ---- link tokens ---- */

static const char sql_token_put[] =
    "INSERT INTO hold_tokens (hash, msg_id, action, owner, expires_ms)"
    " VALUES (?1, ?2, ?3, ?4, ?5)";

int
store_token_put(struct store *st, const unsigned char hash[STORE_TOKEN_HASH],
    const char *msg_id, const char *action, const char *owner, int64_t expires_ms)
{
	sqlite3_stmt *s;
	enum tx_kind own;

	if (store_tx_enter(st, 1, &own) < 0)
		return -1;
	if ((s = store_xstmt(st, sql_token_put)) == NULL)
		return store_tx_leave(st, own, -1);
	sqlite3_bind_blob(s, 1, hash, STORE_TOKEN_HASH, SQLITE_STATIC);
	store_bind_text(s, 2, msg_id);
	store_bind_text(s, 3, action);
	store_bind_text(s, 4, owner);
	sqlite3_bind_int64(s, 5, expires_ms);
	return store_tx_leave(st, own, store_stmt_run(st, s, "token put"));
}

static const char sql_token_spend[] =
    "UPDATE hold_tokens SET used_ms = ?3 WHERE hash = ?1 AND action = ?2"
    " AND used_ms = 0 AND expires_ms > ?3 RETURNING msg_id, owner";

int
store_token_use(struct store *st, const unsigned char hash[STORE_TOKEN_HASH],
    const char *action, int64_t now_ms, char msg_id[QUEUE_ID_SIZE], char **owner)
{
	sqlite3_stmt *s;
	enum tx_kind own;
	int rc, ret;

	if (owner)
		*owner = NULL;
	if (store_tx_enter(st, 1, &own) < 0)
		return -1;
	if ((s = store_xstmt(st, sql_token_spend)) == NULL)
		return store_tx_leave(st, own, -1);
	sqlite3_bind_blob(s, 1, hash, STORE_TOKEN_HASH, SQLITE_STATIC);
	store_bind_text(s, 2, action);
	sqlite3_bind_int64(s, 3, now_ms > 0 ? now_ms : 1);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		const unsigned char *t = sqlite3_column_text(s, 0);
		util_strlcpy(msg_id, t ? (const char *)t : "", QUEUE_ID_SIZE);
		if (owner)
			*owner = store_col_text(s, 1);
		/* step to the end so the UPDATE completes */
		while ((rc = sqlite3_step(s)) == SQLITE_ROW)
			;
		ret = rc == SQLITE_DONE ? 0 : store_db_fail(st, "token use");
	} else if (rc == SQLITE_DONE) {
		ret = 1;
	} else {
		ret = store_db_fail(st, "token use");
	}
	store_stmt_done(s);
	if (ret < 0 && owner) {
		free(*owner);
		*owner = NULL;
	}
	return store_tx_leave(st, own, ret);
}
