/*
 * store_int.h - what the SQLite engine's files share; not for callers.
 *
 * store_sqlite.c owns the connection, the schema and the message tables.
 * Each further area of state (console users and sessions, holds and
 * approvals, login windows and incidents...) lives in its own
 * store_sqlite_AREA.c with its calls declared in store_AREA.h, and reaches
 * the connection through these helpers:
 *
 *   store_xstmt(st, SQL)    a prepared statement kept for the connection,
 *                           keyed by the address of the SQL string (pass a
 *                           static const char[], never a built string)
 *   store_tx_enter/leave    the implicit transaction rules of store.h: a
 *                           write outside store_begin() is its own durable
 *                           transaction, inside it a savepoint
 *   store_stmt_run          step a row-less statement and reset it
 *   store_db_fail           "what: sqlite's message" into the error, -1
 *
 * A statement is always reset (store_stmt_done) before the function that
 * stepped it returns.  Tables come from migrations[] in store_sqlite.c
 * (append only; one entry per schema step).
 */
#ifndef SEKISHO_STORE_INT_H
#define SEKISHO_STORE_INT_H

#include <sqlite3.h>

#include "store/store.h"
#include "util/util.h"

#define STORE_XSTMT_MAX	128

struct store_xstmt {
	const char *sql;
	sqlite3_stmt *stmt;
};

enum tx_kind { TX_NONE, TX_OWN, TX_SAVEPOINT };

sqlite3 *store_db(struct store *st);
void store_seterr(struct store *st, const char *fmt, ...) UTIL_PRINTF(2, 3);
/* "what: sqlite's message" into the error; always returns -1. */
int store_db_fail(struct store *st, const char *what);
/* NULL (error set) when it cannot be prepared. */
sqlite3_stmt *store_xstmt(struct store *st, const char *sql);
void store_stmt_done(sqlite3_stmt *s);
/* Step a bound statement that returns no rows, then reset it.  0, or -1
 * with the error recorded as "what: <sqlite message>". */
int store_stmt_run(struct store *st, sqlite3_stmt *s, const char *what);
/* Step a bound statement expected to give at most one row: 0 a row (read
 * its columns, then store_stmt_done), 1 none, -1 error recorded as
 * "what: <sqlite message>".  The caller resets the statement in every case. */
int store_step_row(struct store *st, sqlite3_stmt *s, const char *what);
/* Bind text, or NULL for a NULL pointer. */
int store_bind_text(sqlite3_stmt *s, int i, const char *v);
/* A malloc'ed copy of a text column, or NULL. */
char *store_col_text(sqlite3_stmt *s, int i);
/* The columns HOLD_COLUMNS (store_sqlite_outbound.c), first in a row, into
 * h (zeroed first; strings malloc'ed). */
struct store_hold;
void store_hold_row(sqlite3_stmt *s, struct store_hold *h);
/* A text column into a fixed buffer ("" for NULL), cut to size. */
void store_col_copy(sqlite3_stmt *s, int i, char *dst, size_t size);
/* Begin the transaction a call needs (write: a write lock or a savepoint). */
int store_tx_enter(struct store *st, int write, enum tx_kind *kind);
/* End what store_tx_enter() started: commit when rc >= 0, else roll back.
 * Returns rc, or -1 when the commit fails.  The first error is kept. */
int store_tx_leave(struct store *st, enum tx_kind kind, int rc);

#endif
