/*
 * store_sqlite_attach.c - protected attachments on SQLite (store_attach.h;
 * tables from migration 12 of store_sqlite.c).
 *
 * A download is counted by one UPDATE whose WHERE clause holds every rule
 * (active, not expired, below the limit), so two downloads at once on two
 * console threads cannot both take the last one.
 */
#include "store/store_attach.h"
#include "store/store_int.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

void
attach_set_clear(struct attach_set *s)
{
	if (s == NULL)
		return;
	free(s->sender);
	free(s->recipients);
	free(s->lang);
	free(s->subject);
	if (s->secret != NULL)
		explicit_bzero(s->secret, strlen(s->secret));
	free(s->secret);
	free(s->revoked_by);
	memset(s, 0, sizeof(*s));
}

void
attach_files_free(struct attach_file *f, size_t n)
{
	for (size_t i = 0; f != NULL && i < n; i++) {
		free(f[i].name);
		free(f[i].ctype);
		free(f[i].path);
	}
	free(f);
}

void
attach_downloads_free(struct attach_download *v, int n)
{
	for (int i = 0; v != NULL && i < n; i++) {
		free(v[i].ip);
		free(v[i].agent);
		free(v[i].result);
	}
	free(v);
}

#define SET_COLUMNS "id, mode, state, sender, recipients, lang, subject, created_ms," \
	" expires_ms, max_downloads, downloads, code_hash, secret, notified, purged," \
	" revoked_ms, revoked_by"

static void
set_row(sqlite3_stmt *s, struct attach_set *a)
{
	const void *h;

	memset(a, 0, sizeof(*a));
	util_strlcpy(a->id, (const char *)sqlite3_column_text(s, 0), sizeof(a->id));
	util_strlcpy(a->mode, (const char *)sqlite3_column_text(s, 1), sizeof(a->mode));
	util_strlcpy(a->state, (const char *)sqlite3_column_text(s, 2), sizeof(a->state));
	a->sender = store_col_text(s, 3);
	a->recipients = store_col_text(s, 4);
	a->lang = store_col_text(s, 5);
	a->subject = store_col_text(s, 6);
	a->created_ms = sqlite3_column_int64(s, 7);
	a->expires_ms = sqlite3_column_int64(s, 8);
	a->max_downloads = sqlite3_column_int64(s, 9);
	a->downloads = sqlite3_column_int64(s, 10);
	h = sqlite3_column_blob(s, 11);
	if (h != NULL && sqlite3_column_bytes(s, 11) == STORE_TOKEN_HASH) {
		a->has_code = 1;
		memcpy(a->code_hash, h, STORE_TOKEN_HASH);
	}
	a->secret = store_col_text(s, 12);
	a->notified = sqlite3_column_int(s, 13);
	a->purged = sqlite3_column_int(s, 14);
	a->revoked_ms = sqlite3_column_int64(s, 15);
	a->revoked_by = store_col_text(s, 16);
	if (a->sender == NULL)
		a->sender = xstrdup("");
	if (a->recipients == NULL)
		a->recipients = xstrdup("");
}

static const char sql_state[] = "SELECT state FROM attach_sets WHERE id = ?1";
static const char sql_old_files[] = "SELECT path FROM attach_files WHERE set_id = ?1";
static const char sql_del_files[] = "DELETE FROM attach_files WHERE set_id = ?1";
static const char sql_del_set[] = "DELETE FROM attach_sets WHERE id = ?1";
static const char sql_put_set[] =
    "INSERT INTO attach_sets (" SET_COLUMNS ", hash) VALUES (?1, ?2, 'pending', ?3, ?4,"
    " ?5, ?6, ?7, ?8, ?9, 0, ?10, ?11, 0, 0, 0, NULL, ?12)";
static const char sql_put_file[] =
    "INSERT INTO attach_files (set_id, idx, name, ctype, size, path)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/* The existing set's state: 0 none, 1 pending (old paths taken), 2 other. */
static int
put_prepare(struct store *st, const char *id, char ***old)
{
	sqlite3_stmt *s;
	size_t n = 0;
	int rc;

	if ((s = store_xstmt(st, sql_state)) == NULL)
		return -1;
	store_bind_text(s, 1, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_DONE) {
		store_stmt_done(s);
		return 0;
	}
	if (rc != SQLITE_ROW) {
		store_stmt_done(s);
		return store_db_fail(st, "attach state");
	}
	rc = strcmp((const char *)sqlite3_column_text(s, 0), "pending") == 0 ? 1 : 2;
	store_stmt_done(s);
	if (rc == 2)
		return 2;
	if ((s = store_xstmt(st, sql_old_files)) == NULL)
		return -1;
	store_bind_text(s, 1, id);
	while (sqlite3_step(s) == SQLITE_ROW) {
		if (old != NULL) {
			*old = xrealloc(*old, (n + 2) * sizeof(**old));
			(*old)[n++] = store_col_text(s, 0);
			(*old)[n] = NULL;
		}
	}
	store_stmt_done(s);
	if ((s = store_xstmt(st, sql_del_files)) == NULL)
		return -1;
	store_bind_text(s, 1, id);
	if (store_stmt_run(st, s, "attach files delete") < 0)
		return -1;
	if ((s = store_xstmt(st, sql_del_set)) == NULL)
		return -1;
	store_bind_text(s, 1, id);
	return store_stmt_run(st, s, "attach set delete") < 0 ? -1 : 1;
}

int
store_attach_put(struct store *st, const struct attach_set *a,
    const unsigned char hash[STORE_TOKEN_HASH], const struct attach_file *files,
    size_t nfiles, char ***old)
{
	sqlite3_stmt *s;
	enum tx_kind own;
	int rc;

	if (old != NULL)
		*old = NULL;
	if (store_tx_enter(st, 1, &own) < 0)
		return -1;
	rc = put_prepare(st, a->id, old);
	if (rc < 0 || rc == 2)
		return store_tx_leave(st, own, rc < 0 ? -1 : 1);
	if ((s = store_xstmt(st, sql_put_set)) == NULL)
		return store_tx_leave(st, own, -1);
	store_bind_text(s, 1, a->id);
	store_bind_text(s, 2, a->mode);
	store_bind_text(s, 3, a->sender);
	store_bind_text(s, 4, a->recipients);
	store_bind_text(s, 5, a->lang);
	store_bind_text(s, 6, a->subject);
	sqlite3_bind_int64(s, 7, a->created_ms);
	sqlite3_bind_int64(s, 8, a->expires_ms);
	sqlite3_bind_int64(s, 9, a->max_downloads);
	if (a->has_code)
		sqlite3_bind_blob(s, 10, a->code_hash, STORE_TOKEN_HASH, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 10);
	store_bind_text(s, 11, a->secret);
	if (hash != NULL)
		sqlite3_bind_blob(s, 12, hash, STORE_TOKEN_HASH, SQLITE_STATIC);
	else
		sqlite3_bind_null(s, 12);
	if (store_stmt_run(st, s, "attach set put") < 0)
		return store_tx_leave(st, own, -1);
	for (size_t i = 0; i < nfiles; i++) {
		if ((s = store_xstmt(st, sql_put_file)) == NULL)
			return store_tx_leave(st, own, -1);
		store_bind_text(s, 1, a->id);
		sqlite3_bind_int(s, 2, files[i].idx);
		store_bind_text(s, 3, files[i].name);
		store_bind_text(s, 4, files[i].ctype);
		sqlite3_bind_int64(s, 5, files[i].size);
		store_bind_text(s, 6, files[i].path);
		if (store_stmt_run(st, s, "attach file put") < 0)
			return store_tx_leave(st, own, -1);
	}
	return store_tx_leave(st, own, 0);
}

/* Run a one-id UPDATE: 0 a row changed, 1 none, -1 error. */
static int
update_one(struct store *st, const char *sql, const char *id, const char *text,
    int64_t num, const char *what)
{
	sqlite3_stmt *s;
	enum tx_kind own;
	int rc;

	if (store_tx_enter(st, 1, &own) < 0)
		return -1;
	if ((s = store_xstmt(st, sql)) == NULL)
		return store_tx_leave(st, own, -1);
	store_bind_text(s, 1, id);
	store_bind_text(s, 2, text);
	sqlite3_bind_int64(s, 3, num);
	rc = store_stmt_run(st, s, what);
	if (rc == 0)
		rc = sqlite3_changes(store_db(st)) > 0 ? 0 : 1;
	return store_tx_leave(st, own, rc);
}

static const char sql_activate[] =
    "UPDATE attach_sets SET state = 'active' WHERE id = ?1 AND state = 'pending'"
    " AND ?2 IS NULL AND ?3 = 0";

int
store_attach_activate(struct store *st, const char *id)
{
	return update_one(st, sql_activate, id, NULL, 0, "attach activate");
}

static const char sql_revoke[] =
    "UPDATE attach_sets SET state = 'revoked', revoked_by = ?2, revoked_ms = ?3"
    " WHERE id = ?1 AND state IN ('pending', 'active')";

int
store_attach_revoke(struct store *st, const char *id, const char *by, int64_t now_ms)
{
	return update_one(st, sql_revoke, id, by, now_ms, "attach revoke");
}

static const char sql_notified[] =
    "UPDATE attach_sets SET notified = 1, secret = NULL WHERE id = ?1"
    " AND ?2 IS NULL AND ?3 = 0";

int
store_attach_notified(struct store *st, const char *id)
{
	return update_one(st, sql_notified, id, NULL, 0, "attach notified") < 0 ? -1 : 0;
}

static const char sql_purged[] =
    "UPDATE attach_sets SET purged = 1 WHERE id = ?1 AND ?2 IS NULL AND ?3 = 0";

int
store_attach_purged(struct store *st, const char *id)
{
	return update_one(st, sql_purged, id, NULL, 0, "attach purged") < 0 ? -1 : 0;
}

static const char sql_get[] = "SELECT " SET_COLUMNS " FROM attach_sets WHERE id = ?1";
static const char sql_by_hash[] = "SELECT " SET_COLUMNS " FROM attach_sets WHERE hash = ?1";

static int
get_one(struct store *st, sqlite3_stmt *s, struct attach_set *a)
{
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW) {
		set_row(s, a);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = 1;
	} else {
		rc = store_db_fail(st, "attach get");
	}
	store_stmt_done(s);
	return rc;
}

int
store_attach_get(struct store *st, const char *id, struct attach_set *a)
{
	sqlite3_stmt *s = store_xstmt(st, sql_get);

	if (s == NULL)
		return -1;
	store_bind_text(s, 1, id);
	return get_one(st, s, a);
}

int
store_attach_by_hash(struct store *st, const unsigned char hash[STORE_TOKEN_HASH],
    struct attach_set *a)
{
	sqlite3_stmt *s = store_xstmt(st, sql_by_hash);

	if (s == NULL)
		return -1;
	sqlite3_bind_blob(s, 1, hash, STORE_TOKEN_HASH, SQLITE_STATIC);
	return get_one(st, s, a);
}

static const char sql_files[] =
    "SELECT idx, name, ctype, size, path FROM attach_files WHERE set_id = ?1 ORDER BY idx";

int
store_attach_files(struct store *st, const char *id, struct attach_file **f, size_t *n)
{
	sqlite3_stmt *s = store_xstmt(st, sql_files);
	int rc;

	*f = NULL;
	*n = 0;
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct attach_file *x;

		*f = xrealloc(*f, (*n + 1) * sizeof(**f));
		x = &(*f)[(*n)++];
		x->idx = sqlite3_column_int(s, 0);
		x->name = store_col_text(s, 1);
		x->ctype = store_col_text(s, 2);
		x->size = sqlite3_column_int64(s, 3);
		x->path = store_col_text(s, 4);
	}
	store_stmt_done(s);
	if (rc != SQLITE_DONE) {
		attach_files_free(*f, *n);
		*f = NULL;
		*n = 0;
		return store_db_fail(st, "attach files");
	}
	return 0;
}

static const char sql_log[] =
    "INSERT INTO attach_downloads (set_id, idx, t_ms, ip, agent, result)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

int
store_attach_log(struct store *st, const char *id, int idx, const char *ip,
    const char *agent, const char *result, int64_t now_ms)
{
	sqlite3_stmt *s;
	enum tx_kind own;

	if (store_tx_enter(st, 1, &own) < 0)
		return -1;
	if ((s = store_xstmt(st, sql_log)) == NULL)
		return store_tx_leave(st, own, -1);
	store_bind_text(s, 1, id);
	sqlite3_bind_int(s, 2, idx);
	sqlite3_bind_int64(s, 3, now_ms);
	store_bind_text(s, 4, ip);
	store_bind_text(s, 5, agent);
	store_bind_text(s, 6, result);
	return store_tx_leave(st, own, store_stmt_run(st, s, "attach log"));
}

static const char sql_count[] =
    "UPDATE attach_sets SET downloads = downloads + 1 WHERE id = ?1 AND state = 'active'"
    " AND expires_ms > ?2 AND (max_downloads = 0 OR downloads < max_downloads)";

int
store_attach_download(struct store *st, const char *id, int idx, const char *ip,
    const char *agent, int64_t now_ms)
{
	sqlite3_stmt *s;
	enum tx_kind own;
	int rc;

	if (store_tx_enter(st, 1, &own) < 0)
		return -1;
	if ((s = store_xstmt(st, sql_count)) == NULL)
		return store_tx_leave(st, own, -1);
	store_bind_text(s, 1, id);
	sqlite3_bind_int64(s, 2, now_ms);
	rc = store_stmt_run(st, s, "attach count");
	if (rc == 0)
		rc = sqlite3_changes(store_db(st)) > 0 ? 0 : 1;
	if (rc >= 0 && store_attach_log(st, id, rc == 0 ? idx : 0, ip, agent,
	    rc == 0 ? "ok" : "gone", now_ms) < 0)
		rc = -1;
	return store_tx_leave(st, own, rc);
}

static const char sql_unnotified[] =
    "SELECT " SET_COLUMNS " FROM attach_sets WHERE state = 'active' AND notified = 0"
    " ORDER BY created_ms LIMIT ?1";

int
store_attach_unnotified(struct store *st, struct attach_set **v, int max)
{
	sqlite3_stmt *s = store_xstmt(st, sql_unnotified);
	int n = 0;

	*v = NULL;
	if (s == NULL)
		return -1;
	sqlite3_bind_int(s, 1, max);
	*v = xcalloc((size_t)max + 1, sizeof(**v));
	while (n < max && sqlite3_step(s) == SQLITE_ROW)
		set_row(s, &(*v)[n++]);
	store_stmt_done(s);
	return n;
}

static const char sql_purgeable[] =
    "SELECT id FROM attach_sets WHERE purged = 0 AND mode = 'link'"
    " AND (state = 'revoked' OR expires_ms <= ?1) LIMIT ?2";

int
store_attach_purgeable(struct store *st, int64_t now_ms, char (*ids)[QUEUE_ID_SIZE],
    int max)
{
	sqlite3_stmt *s = store_xstmt(st, sql_purgeable);
	int n = 0;

	if (s == NULL)
		return -1;
	sqlite3_bind_int64(s, 1, now_ms);
	sqlite3_bind_int(s, 2, max);
	while (n < max && sqlite3_step(s) == SQLITE_ROW)
		util_strlcpy(ids[n++], (const char *)sqlite3_column_text(s, 0), QUEUE_ID_SIZE);
	store_stmt_done(s);
	return n;
}

static const char sql_all[] =
    "SELECT " SET_COLUMNS " FROM attach_sets ORDER BY created_ms DESC";

int
store_attach_foreach(struct store *st, store_attach_cb cb, void *arg)
{
	sqlite3_stmt *s = store_xstmt(st, sql_all);
	int rc;

	if (s == NULL)
		return -1;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		struct attach_set a;
		int stop;

		set_row(s, &a);
		stop = cb(&a, arg);
		attach_set_clear(&a);
		if (stop) {
			rc = SQLITE_DONE;
			break;
		}
	}
	store_stmt_done(s);
	return rc == SQLITE_DONE ? 0 : store_db_fail(st, "attach list");
}

static const char sql_log_get[] =
    "SELECT t_ms, idx, ip, agent, result FROM attach_downloads WHERE set_id = ?1"
    " ORDER BY seq";

int
store_attach_log_get(struct store *st, const char *id, struct attach_download **v)
{
	sqlite3_stmt *s = store_xstmt(st, sql_log_get);
	int n = 0;

	*v = NULL;
	if (s == NULL)
		return -1;
	store_bind_text(s, 1, id);
	while (sqlite3_step(s) == SQLITE_ROW) {
		struct attach_download *d;

		*v = xrealloc(*v, (size_t)(n + 1) * sizeof(**v));
		d = &(*v)[n++];
		d->t_ms = sqlite3_column_int64(s, 0);
		d->idx = sqlite3_column_int(s, 1);
		d->ip = store_col_text(s, 2);
		d->agent = store_col_text(s, 3);
		d->result = store_col_text(s, 4);
	}
	store_stmt_done(s);
	return n;
}
