/*
 * store_sqlite_notify.c - the alert mail throttle and the quarantine
 * digest rows on SQLite (store_notify.h).
 *
 * A claim is one write transaction (BEGIN IMMEDIATE, or a savepoint inside
 * the caller's), so concurrent claimers are serialized by SQLite's write
 * lock and exactly one of them sees its change take effect.
 */
#include "store/store_int.h"
#include "store/store_notify.h"

/* The upsert changes the row only when the interval is over: a row the
 * WHERE clause keeps is not counted by sqlite3_changes(). */
static const char sql_alert_claim[] =
    "INSERT INTO alert_mails (kind, who, last_ms) VALUES (?1, ?2, ?3)"
    " ON CONFLICT (kind, who) DO UPDATE SET last_ms = excluded.last_ms"
    " WHERE alert_mails.last_ms + ?4 <= excluded.last_ms";

int
store_alert_mail_claim(struct store *st, const char *kind, const char *who,
    int64_t now_ms, int64_t interval_ms)
{
	sqlite3_stmt *s;
	enum tx_kind own;
	int rc;

	if (store_tx_enter(st, 1, &own) < 0)
		return -1;
	if ((s = store_xstmt(st, sql_alert_claim)) == NULL)
		return store_tx_leave(st, own, -1);
	store_bind_text(s, 1, kind);
	store_bind_text(s, 2, who);
	sqlite3_bind_int64(s, 3, now_ms);
	sqlite3_bind_int64(s, 4, interval_ms > 0 ? interval_ms : 0);
	rc = store_stmt_run(st, s, "alert mail claim");
	if (rc == 0)
		rc = sqlite3_changes(store_db(st)) > 0 ? 1 : 0;
	return store_tx_leave(st, own, rc);
}

static const char sql_digest_get[] =
    "SELECT sent_ms, cutoff_ms FROM quarantine_digests WHERE rcpt = ?1";
static const char sql_digest_put[] =
    "INSERT OR REPLACE INTO quarantine_digests (rcpt, sent_ms, cutoff_ms)"
    " VALUES (?1, ?2, ?2)";

/* 0 found, 1 none, -1. */
static int
digest_get(struct store *st, const char *rcpt, int64_t *sent_ms, int64_t *cutoff_ms)
{
	sqlite3_stmt *s = store_xstmt(st, sql_digest_get);
	int rc;

	if (s == NULL)
		return -1;
	store_bind_text(s, 1, rcpt);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*sent_ms = sqlite3_column_int64(s, 0);
		*cutoff_ms = sqlite3_column_int64(s, 1);
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		*sent_ms = *cutoff_ms = 0;
		rc = 1;
	} else {
		rc = store_db_fail(st, "digest get");
	}
	store_stmt_done(s);
	return rc;
}

int
store_digest_claim(struct store *st, const char *rcpt, int64_t due_ms, int64_t now_ms,
    int64_t *since_ms)
{
	sqlite3_stmt *s;
	enum tx_kind own;
	int64_t sent = 0, cutoff = 0;	/* set by digest_get unless it fails */
	int rc;

	if (store_tx_enter(st, 1, &own) < 0)
		return -1;
	rc = digest_get(st, rcpt, &sent, &cutoff);
	if (rc < 0)
		return store_tx_leave(st, own, -1);
	if (rc == 0 && sent >= due_ms)
		return store_tx_leave(st, own, 0);
	*since_ms = cutoff;
	if ((s = store_xstmt(st, sql_digest_put)) == NULL)
		return store_tx_leave(st, own, -1);
	store_bind_text(s, 1, rcpt);
	sqlite3_bind_int64(s, 2, now_ms);
	rc = store_stmt_run(st, s, "digest claim");
	return store_tx_leave(st, own, rc < 0 ? -1 : 1);
}

int
store_digest_last(struct store *st, const char *rcpt, int64_t *sent_ms)
{
	enum tx_kind own;
	int64_t cutoff;
	int rc;

	if (store_tx_enter(st, 0, &own) < 0)
		return -1;
	rc = digest_get(st, rcpt, sent_ms, &cutoff);
	return store_tx_leave(st, own, rc);
}

static const char sql_token_prune[] =
    "DELETE FROM hold_tokens WHERE expires_ms < ?1";

int64_t
store_link_token_prune(struct store *st, int64_t before_ms)
{
	sqlite3_stmt *s;
	enum tx_kind own;
	int rc;

	if (store_tx_enter(st, 1, &own) < 0)
		return -1;
	if ((s = store_xstmt(st, sql_token_prune)) == NULL)
		return store_tx_leave(st, own, -1);
	sqlite3_bind_int64(s, 1, before_ms);
	rc = store_stmt_run(st, s, "token prune");
	if (rc == 0)
		return store_tx_leave(st, own, 0) < 0 ? -1 :
		    (int64_t)sqlite3_changes(store_db(st));
	return store_tx_leave(st, own, -1);
}
