/*
 * store_sqlite_recipients.c - the outbound recipient history on SQLite
 * (store_recipients.h; the table comes from migration 6 of store_sqlite.c).
 *
 * The organisation's view of a domain unites two tables: out_recipients
 * (per sender, written by the outbound check) and correspondents (per
 * organisation, written by the phishing check for outbound mail too).  The
 * larger count of the two is taken, not the sum, since one message is
 * usually noted in both.
 */
#include "store/store_int.h"
#include "store/store_recipients.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

static const char sql_get[] =
    "SELECT first_ms, last_ms, count FROM out_recipients WHERE sender = ?1 AND rcpt = ?2";

static const char sql_note[] =
    "INSERT INTO out_recipients (sender, rcpt, org, domain, first_ms, last_ms, count)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?5, 1)"
    " ON CONFLICT (sender, rcpt) DO UPDATE SET last_ms = max(last_ms, excluded.last_ms),"
    " count = count + 1, org = excluded.org, domain = excluded.domain";

static const char sql_domain[] =
    "SELECT max(coalesce((SELECT sum(count) FROM out_recipients"
    "   WHERE org = ?1 AND domain = ?2), 0),"
    " coalesce((SELECT outbound FROM correspondents WHERE org = ?1 AND domain = ?2), 0))";

static const char sql_since[] =
    "SELECT min(f) FROM (SELECT min(first_ms) AS f FROM out_recipients WHERE org = ?1"
    " UNION ALL SELECT min(first_ms) FROM correspondents WHERE org = ?1 AND outbound > 0)";

static const char sql_frequent[] =
    "SELECT domain, max(n) AS n FROM ("
    "  SELECT domain, sum(count) AS n FROM out_recipients WHERE org = ?1 GROUP BY domain"
    "  UNION ALL SELECT domain, outbound FROM correspondents WHERE org = ?1 AND outbound > 0)"
    " GROUP BY domain HAVING max(n) >= ?2 ORDER BY n DESC, domain";

int
store_rcpt_get(struct store *st, const char *sender, const char *rcpt,
    struct store_rcpt_hist *h)
{
	sqlite3_stmt *s;
	int ret;

	memset(h, 0, sizeof(*h));
	if ((s = store_xstmt(st, sql_get)) == NULL)
		return -1;
	store_bind_text(s, 1, sender);
	store_bind_text(s, 2, rcpt);
	if ((ret = store_step_row(st, s, "get recipient")) == 0) {
		h->first_ms = sqlite3_column_int64(s, 0);
		h->last_ms = sqlite3_column_int64(s, 1);
		h->count = sqlite3_column_int64(s, 2);
	}
	store_stmt_done(s);
	return ret;
}

int
store_rcpt_note(struct store *st, const char *org, const char *sender, const char *rcpt,
    const char *domain, int64_t now_ms)
{
	sqlite3_stmt *s;
	enum tx_kind own;

	if (store_tx_enter(st, 1, &own) < 0)
		return -1;
	if ((s = store_xstmt(st, sql_note)) == NULL)
		return store_tx_leave(st, own, -1);
	store_bind_text(s, 1, sender);
	store_bind_text(s, 2, rcpt);
	store_bind_text(s, 3, org);
	store_bind_text(s, 4, domain);
	sqlite3_bind_int64(s, 5, now_ms);
	return store_tx_leave(st, own, store_stmt_run(st, s, "note recipient"));
}

int
store_rcpt_domain_count(struct store *st, const char *org, const char *domain, int64_t *count)
{
	sqlite3_stmt *s;
	int ret = -1;

	*count = 0;
	if ((s = store_xstmt(st, sql_domain)) == NULL)
		return -1;
	store_bind_text(s, 1, org);
	store_bind_text(s, 2, domain);
	if (sqlite3_step(s) == SQLITE_ROW) {
		*count = sqlite3_column_int64(s, 0);
		ret = 0;
	} else
		store_db_fail(st, "recipient domain");
	store_stmt_done(s);
	return ret;
}

int
store_rcpt_since(struct store *st, const char *org, int64_t *first_ms)
{
	sqlite3_stmt *s;
	int ret = -1;

	if ((s = store_xstmt(st, sql_since)) == NULL)
		return -1;
	store_bind_text(s, 1, org);
	if (sqlite3_step(s) == SQLITE_ROW) {
		if (sqlite3_column_type(s, 0) == SQLITE_NULL)
			ret = 1;
		else {
			*first_ms = sqlite3_column_int64(s, 0);
			ret = 0;
		}
	} else
		store_db_fail(st, "recipient history since");
	store_stmt_done(s);
	return ret;
}

int
store_rcpt_frequent(struct store *st, const char *org, int64_t min_count,
    store_rcpt_domain_cb cb, void *arg)
{
	sqlite3_stmt *s;
	int rc, ret = 0;

	if ((s = store_xstmt(st, sql_frequent)) == NULL)
		return -1;
	store_bind_text(s, 1, org);
	sqlite3_bind_int64(s, 2, min_count);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const unsigned char *d = sqlite3_column_text(s, 0);

		if (d != NULL && cb((const char *)d, sqlite3_column_int64(s, 1), arg) != 0)
			break;
	}
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		ret = store_db_fail(st, "frequent recipient domains");
	store_stmt_done(s);
	return ret;
}
