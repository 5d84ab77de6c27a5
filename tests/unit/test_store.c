/*
 * test_store.c - the SQLite store: round trips of full envelopes (UTF-8
 * addresses, several recipients, NULL fields), update, the due list,
 * foreach, delete, count, transactions, two writer threads on one file,
 * reopening, and the schema version guard.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"
#include "util/util.h"
#include "testutil.h"

static struct envelope *
make_env(const char *id, int nrcpt)
{
	static const char *const addrs[] = {
		"ユーザー@例え.jp",
		"θσερ@παράδειγμα.δοκιμή",
		"plain@example.com",
		"用户@例子.广告",
	};
	struct envelope *env = envelope_new();

	util_strlcpy(env->id, id, sizeof(env->id));
	env->listener = xstrdup("inbound");
	env->client_addr = xstrdup("2001:db8::25");
	env->client_name = xstrdup("mx.例え.jp");
	env->helo = xstrdup("mx.example.jp");
	env->tls = xstrdup("TLSv1.3 TLS_AES_256_GCM_SHA384");
	env->auth_user = NULL;
	env->mail_from = xstrdup("送信者@例え.jp");
	env->body = BODY_8BITMIME;
	env->smtputf8 = 1;
	env->ret = DSN_RET_HDRS;
	env->envid = xstrdup("QQ314159");
	env->received_ms = 1700000000123;
	env->size = 4242;
	for (int i = 0; i < nrcpt; i++) {
		struct rcpt *r = envelope_add_rcpt(env, addrs[i % 4],
		    i % 2 ? NULL : "utf-8;user+40example.jp",
		    i % 2 ? 0 : DSN_NOTIFY_FAILURE | DSN_NOTIFY_DELAY);
		(void)r;
	}
	return env;
}

static void
assert_str_or_null(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		assert_ptr_equal(a, b);
	else
		assert_string_equal(a, b);
}

static void
assert_env_equal(const struct envelope *a, const struct envelope *b)
{
	assert_string_equal(a->id, b->id);
	assert_str_or_null(a->listener, b->listener);
	assert_str_or_null(a->client_addr, b->client_addr);
	assert_str_or_null(a->client_name, b->client_name);
	assert_str_or_null(a->helo, b->helo);
	assert_str_or_null(a->tls, b->tls);
	assert_str_or_null(a->auth_user, b->auth_user);
	assert_str_or_null(a->mail_from, b->mail_from);
	assert_int_equal(a->body, b->body);
	assert_int_equal(a->smtputf8, b->smtputf8);
	assert_int_equal(a->ret, b->ret);
	assert_str_or_null(a->envid, b->envid);
	assert_int_equal(a->received_ms, b->received_ms);
	assert_int_equal(a->size, b->size);
	assert_int_equal(a->nrcpt, b->nrcpt);
	for (size_t i = 0; i < a->nrcpt; i++) {
		assert_string_equal(a->rcpt[i].addr, b->rcpt[i].addr);
		assert_str_or_null(a->rcpt[i].orcpt, b->rcpt[i].orcpt);
		assert_int_equal(a->rcpt[i].notify, b->rcpt[i].notify);
		assert_int_equal(a->rcpt[i].status, b->rcpt[i].status);
		assert_str_or_null(a->rcpt[i].reply, b->rcpt[i].reply);
	}
}

static struct queue_info
qinfo(enum msg_state state, int64_t created, int64_t next_try)
{
	struct queue_info qi = {
		.state = state, .attempts = 0, .created_ms = created,
		.next_try_ms = next_try, .action = NULL, .last_error = NULL,
	};
	return qi;
}

static void
insert(struct store *st, const char *id, enum msg_state state, int64_t created,
    int64_t next_try)
{
	struct envelope *env = make_env(id, 2);
	struct queue_info qi = qinfo(state, created, next_try);

	if (store_msg_insert(st, env, &qi) != 0)
		fail_msg("insert %s: %s", id, store_errmsg(st));
	envelope_free(env);
}

static void
test_roundtrip(void **state)
{
	struct tu_store *fx = *state;
	struct envelope *env = make_env("ROUNDTRIP1", 4), *got = NULL;
	struct queue_info qi = qinfo(MSG_RECEIVED, 1700000000500, 0), gq;

	/* The null sender and an empty string are not NULL. */
	free(env->mail_from);
	env->mail_from = xstrdup("");
	env->auth_user = xstrdup("山田@例え.jp");
	qi.action = xstrdup("deliver");
	assert_int_equal(store_msg_insert(fx->st, env, &qi), 0);
	assert_int_equal(store_msg_get(fx->st, "ROUNDTRIP1", &got, &gq), 0);
	assert_non_null(got);
	assert_env_equal(env, got);
	assert_int_equal(gq.state, MSG_RECEIVED);
	assert_int_equal(gq.attempts, 0);
	assert_int_equal(gq.created_ms, 1700000000500);
	assert_int_equal(gq.next_try_ms, 0);
	assert_string_equal(gq.action, "deliver");
	assert_null(gq.last_error);
	envelope_free(got);
	queue_info_clear(&gq);
	assert_null(gq.action);

	/* Either output may be left out. */
	assert_int_equal(store_msg_get(fx->st, "ROUNDTRIP1", NULL, &gq), 0);
	assert_int_equal(gq.state, MSG_RECEIVED);
	queue_info_clear(&gq);
	assert_int_equal(store_msg_get(fx->st, "ROUNDTRIP1", &got, NULL), 0);
	assert_int_equal(got->nrcpt, 4);
	envelope_free(got);
	assert_int_equal(store_msg_get(fx->st, "ROUNDTRIP1", NULL, NULL), 0);

	/* Not found. */
	got = (struct envelope *)1;
	assert_int_equal(store_msg_get(fx->st, "NOSUCHID", &got, NULL), 1);
	assert_null(got);

	/* A duplicate id is an error and leaves the first one alone. */
	assert_int_equal(store_msg_insert(fx->st, env, &qi), -1);
	assert_non_null(strstr(store_errmsg(fx->st), "UNIQUE"));
	assert_int_equal(store_msg_count(fx->st, 0), 1);

	/* No recipients at all is a valid row too. */
	{
		struct envelope *e0 = make_env("NORCPT", 0);

		assert_int_equal(store_msg_insert(fx->st, e0, &qi), 0);
		assert_int_equal(store_msg_get(fx->st, "NORCPT", &got, NULL), 0);
		assert_env_equal(e0, got);
		envelope_free(got);
		envelope_free(e0);
	}
	queue_info_clear(&qi);
	envelope_free(env);
}

static void
test_update(void **state)
{
	struct tu_store *fx = *state;
	struct envelope *env = make_env("UPD1", 3), *got;
	struct queue_info qi = qinfo(MSG_RECEIVED, 1000, 0), gq;

	assert_int_equal(store_msg_insert(fx->st, env, &qi), 0);

	env->rcpt[0].status = RCPT_DELIVERED;
	env->rcpt[0].reply = xstrdup("250 2.0.0 Ok: queued as 4XyZ");
	env->rcpt[1].status = RCPT_PENDING;
	env->rcpt[1].reply = xstrdup("451 4.3.0 「一時的な」エラー");
	env->rcpt[2].status = RCPT_FAILED;
	env->rcpt[2].reply = xstrdup("550 5.1.1 no such user");
	qi.state = MSG_QUEUED;
	qi.attempts = 3;
	qi.next_try_ms = 99999;
	qi.action = xstrdup("deliver");
	qi.last_error = xstrdup("451 4.3.0 「一時的な」エラー");
	assert_int_equal(store_msg_update(fx->st, env, &qi), 0);

	assert_int_equal(store_msg_get(fx->st, "UPD1", &got, &gq), 0);
	assert_env_equal(env, got);
	assert_int_equal(gq.state, MSG_QUEUED);
	assert_int_equal(gq.attempts, 3);
	assert_int_equal(gq.next_try_ms, 99999);
	assert_int_equal(gq.created_ms, 1000);
	assert_string_equal(gq.action, "deliver");
	assert_string_equal(gq.last_error, qi.last_error);
	envelope_free(got);
	queue_info_clear(&gq);

	/* Clearing a reply and last_error back to NULL. */
	free(env->rcpt[1].reply);
	env->rcpt[1].reply = NULL;
	free(qi.last_error);
	qi.last_error = NULL;
	assert_int_equal(store_msg_update(fx->st, env, &qi), 0);
	assert_int_equal(store_msg_get(fx->st, "UPD1", &got, &gq), 0);
	assert_null(got->rcpt[1].reply);
	assert_null(gq.last_error);
	envelope_free(got);
	queue_info_clear(&gq);

	/* Updating what is not there fails and changes nothing. */
	util_strlcpy(env->id, "NOSUCH", sizeof(env->id));
	assert_int_equal(store_msg_update(fx->st, env, &qi), -1);
	assert_non_null(strstr(store_errmsg(fx->st), "NOSUCH"));
	/* A recipient the row does not have rolls the whole update back. */
	util_strlcpy(env->id, "UPD1", sizeof(env->id));
	envelope_add_rcpt(env, "extra@example.com", NULL, 0);
	qi.attempts = 4;
	assert_int_equal(store_msg_update(fx->st, env, &qi), -1);
	assert_int_equal(store_msg_get(fx->st, "UPD1", NULL, &gq), 0);
	assert_int_equal(gq.attempts, 3);
	queue_info_clear(&gq);

	queue_info_clear(&qi);
	envelope_free(env);
}

static void
test_due_ordering(void **state)
{
	struct tu_store *fx = *state;
	static const struct {
		const char *id;
		enum msg_state state;
		int64_t next_try;
	} rows[] = {
		/* Ids deliberately out of time order. */
		{ "A500", MSG_QUEUED, 500 },
		{ "Z100", MSG_QUEUED, 100 },
		{ "M300", MSG_QUEUED, 300 },
		{ "K200B", MSG_QUEUED, 200 },
		{ "K200A", MSG_QUEUED, 200 },	/* tie: by id */
		{ "FUTURE", MSG_QUEUED, 10000 },
		{ "HELD", MSG_HELD, 0 },
		{ "QUAR", MSG_QUARANTINED, 0 },
		{ "RECV", MSG_RECEIVED, 0 },
		{ "DONE", MSG_DONE, 0 },
	};
	static const char *const want[] = { "Z100", "K200A", "K200B", "M300", "A500" };
	char ids[10][QUEUE_ID_SIZE];
	int n;

	for (size_t i = 0; i < UTIL_ARRAY_LEN(rows); i++)
		insert(fx->st, rows[i].id, rows[i].state, (int64_t)i, rows[i].next_try);

	n = store_msg_due(fx->st, 1000, ids, 10);
	assert_int_equal(n, 5);
	for (int i = 0; i < n; i++)
		assert_string_equal(ids[i], want[i]);
	/* max bounds the answer; the soonest come first. */
	assert_int_equal(store_msg_due(fx->st, 1000, ids, 2), 2);
	assert_string_equal(ids[0], "Z100");
	assert_string_equal(ids[1], "K200A");
	/* now is inclusive. */
	assert_int_equal(store_msg_due(fx->st, 200, ids, 10), 3);
	assert_int_equal(store_msg_due(fx->st, 99, ids, 10), 0);
	assert_int_equal(store_msg_due(fx->st, 1000, ids, 0), 0);
	assert_int_equal(store_msg_due(fx->st, INT64_MAX, ids, 10), 6);
	assert_string_equal(ids[5], "FUTURE");
}

struct walk {
	char seen[16][QUEUE_ID_SIZE];
	int n;
	int stop_at;		/* return 7 at this visit (1-based), 0: never */
	struct store *st;
	int delete_next;	/* delete the message that would come next */
};

static int
walk_cb(const struct envelope *env, const struct queue_info *qi, void *arg)
{
	struct walk *w = arg;

	assert_non_null(qi);
	assert_int_equal(env->nrcpt, 2);
	util_strlcpy(w->seen[w->n++], env->id, QUEUE_ID_SIZE);
	if (w->delete_next && w->n == 1)
		assert_int_equal(store_msg_delete(w->st, "C2"), 0);
	if (w->stop_at && w->n == w->stop_at)
		return 7;
	return 0;
}

static void
test_foreach(void **state)
{
	struct tu_store *fx = *state;
	struct walk w;

	/* Inserted out of age order; created_ms decides, then id. */
	insert(fx->st, "C3", MSG_QUEUED, 300, 0);
	insert(fx->st, "C1", MSG_QUEUED, 100, 0);
	insert(fx->st, "H1", MSG_HELD, 150, 0);
	insert(fx->st, "C2", MSG_QUEUED, 200, 0);
	insert(fx->st, "C0", MSG_QUEUED, 200, 0);

	memset(&w, 0, sizeof(w));
	assert_int_equal(store_msg_foreach(fx->st, MSG_QUEUED, walk_cb, &w), 0);
	assert_int_equal(w.n, 4);
	assert_string_equal(w.seen[0], "C1");
	assert_string_equal(w.seen[1], "C0");
	assert_string_equal(w.seen[2], "C2");
	assert_string_equal(w.seen[3], "C3");

	memset(&w, 0, sizeof(w));
	assert_int_equal(store_msg_foreach(fx->st, 0, walk_cb, &w), 0);
	assert_int_equal(w.n, 5);
	assert_string_equal(w.seen[1], "H1");

	memset(&w, 0, sizeof(w));
	assert_int_equal(store_msg_foreach(fx->st, MSG_DONE, walk_cb, &w), 0);
	assert_int_equal(w.n, 0);

	/* A non-zero return stops the walk and is passed on. */
	memset(&w, 0, sizeof(w));
	w.stop_at = 2;
	assert_int_equal(store_msg_foreach(fx->st, MSG_QUEUED, walk_cb, &w), 7);
	assert_int_equal(w.n, 2);

	/* The callback may write to the same store; a message it deletes
	 * is not visited afterwards. */
	memset(&w, 0, sizeof(w));
	w.st = fx->st;
	w.delete_next = 1;
	assert_int_equal(store_msg_foreach(fx->st, MSG_QUEUED, walk_cb, &w), 0);
	assert_int_equal(w.n, 3);
	assert_string_equal(w.seen[2], "C3");
}

static int
count_cb(const struct envelope *env, const struct queue_info *qi, void *arg)
{
	int *n = arg;

	(void)env;
	(void)qi;
	++*n;
	return 0;
}

/* More messages than one page of the walk, with equal created_ms. */
static void
test_foreach_pages(void **state)
{
	struct tu_store *fx = *state;
	char id[QUEUE_ID_SIZE];
	int n = 0;

	assert_int_equal(store_begin(fx->st), 0);
	for (int i = 0; i < 700; i++) {
		snprintf(id, sizeof(id), "P%04d", i);
		insert(fx->st, id, i % 2 ? MSG_QUEUED : MSG_HELD, i / 10, 0);
	}
	assert_int_equal(store_commit(fx->st), 0);
	assert_int_equal(store_msg_foreach(fx->st, 0, count_cb, &n), 0);
	assert_int_equal(n, 700);
	n = 0;
	assert_int_equal(store_msg_foreach(fx->st, MSG_HELD, count_cb, &n), 0);
	assert_int_equal(n, 350);
}

static void
test_delete_count(void **state)
{
	struct tu_store *fx = *state;
	struct envelope *env, *got;
	struct queue_info qi = qinfo(MSG_QUEUED, 1, 1);

	insert(fx->st, "X1", MSG_QUEUED, 1, 1);
	insert(fx->st, "X2", MSG_QUEUED, 2, 2);
	insert(fx->st, "X3", MSG_HELD, 3, 3);
	insert(fx->st, "X4", MSG_QUARANTINED, 4, 4);
	assert_int_equal(store_msg_count(fx->st, 0), 4);
	assert_int_equal(store_msg_count(fx->st, MSG_QUEUED), 2);
	assert_int_equal(store_msg_count(fx->st, MSG_HELD), 1);
	assert_int_equal(store_msg_count(fx->st, MSG_DONE), 0);

	assert_int_equal(store_msg_delete(fx->st, "X1"), 0);
	assert_int_equal(store_msg_delete(fx->st, "X1"), 1);
	assert_int_equal(store_msg_get(fx->st, "X1", NULL, NULL), 1);
	assert_int_equal(store_msg_count(fx->st, 0), 3);
	assert_int_equal(store_msg_count(fx->st, MSG_QUEUED), 1);

	/* The recipients went with the message: the same id again with one
	 * recipient reads back with exactly one. */
	env = make_env("X1", 1);
	assert_int_equal(store_msg_insert(fx->st, env, &qi), 0);
	assert_int_equal(store_msg_get(fx->st, "X1", &got, NULL), 0);
	assert_int_equal(got->nrcpt, 1);
	envelope_free(got);
	envelope_free(env);
}

static void
test_transactions(void **state)
{
	struct tu_store *fx = *state;

	/* Rolled back: nothing remains. */
	assert_int_equal(store_begin(fx->st), 0);
	assert_int_equal(store_begin(fx->st), -1);	/* no nesting */
	insert(fx->st, "T1", MSG_QUEUED, 1, 1);
	insert(fx->st, "T2", MSG_QUEUED, 2, 2);
	assert_int_equal(store_msg_count(fx->st, 0), 2);	/* visible inside */
	assert_int_equal(store_rollback(fx->st), 0);
	assert_int_equal(store_msg_count(fx->st, 0), 0);
	assert_int_equal(store_msg_get(fx->st, "T1", NULL, NULL), 1);
	assert_int_equal(store_rollback(fx->st), 0);	/* harmless outside */
	assert_int_equal(store_commit(fx->st), -1);	/* nothing to commit */

	/* A failure inside does not end the caller's transaction. */
	assert_int_equal(store_begin(fx->st), 0);
	insert(fx->st, "T3", MSG_QUEUED, 3, 3);
	{
		struct envelope *env = make_env("T3", 1);
		struct queue_info qi = qinfo(MSG_QUEUED, 3, 3);

		assert_int_equal(store_msg_insert(fx->st, env, &qi), -1);
		envelope_free(env);
	}
	/* Half-way failures inside leave nothing of that call behind: a
	 * message whose second recipient is refused (addr NOT NULL)... */
	{
		struct envelope *env = make_env("T5", 2);
		struct queue_info qi = qinfo(MSG_QUEUED, 5, 5), gq;

		free(env->rcpt[1].addr);
		env->rcpt[1].addr = NULL;
		assert_int_equal(store_msg_insert(fx->st, env, &qi), -1);
		assert_non_null(strstr(store_errmsg(fx->st), "recipient"));
		assert_int_equal(store_msg_get(fx->st, "T5", NULL, NULL), 1);
		envelope_free(env);

		/* ...and an update naming a recipient the row lacks. */
		env = make_env("T3", 3);
		qi.attempts = 9;
		assert_int_equal(store_msg_update(fx->st, env, &qi), -1);
		assert_int_equal(store_msg_get(fx->st, "T3", NULL, &gq), 0);
		assert_int_equal(gq.attempts, 0);
		queue_info_clear(&gq);
		envelope_free(env);
	}
	insert(fx->st, "T4", MSG_QUEUED, 4, 4);
	assert_int_equal(store_commit(fx->st), 0);
	assert_int_equal(store_msg_count(fx->st, 0), 2);
	assert_int_equal(store_msg_get(fx->st, "T5", NULL, NULL), 1);
}

/* Reopen after close: the data, and the schema, are still there. */
static void
test_reopen(void **state)
{
	struct tu_store *fx = *state;
	struct envelope *env = make_env("KEEP1", 3), *got;
	struct queue_info qi = qinfo(MSG_HELD, 77, 0);
	char err[256];

	assert_int_equal(store_msg_insert(fx->st, env, &qi), 0);
	store_close(fx->st);
	fx->st = store_open(fx->path, err, sizeof(err));
	assert_non_null(fx->st);
	assert_int_equal(store_msg_get(fx->st, "KEEP1", &got, NULL), 0);
	assert_env_equal(env, got);
	envelope_free(got);
	envelope_free(env);
}

/* The database really is WAL, FULL, with the current schema version. */
static void
test_schema(void **state)
{
	struct tu_store *fx = *state;
	sqlite3 *db;
	sqlite3_stmt *s;
	char err[256];
	struct store *st;

	assert_int_equal(sqlite3_open(fx->path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
	sqlite3_finalize(s);
	assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(s, 0), 15);
	sqlite3_finalize(s);
	assert_int_equal(sqlite3_prepare_v2(db,
	    "SELECT count(*) FROM schema_version", -1, &s, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(s, 0), 15);
	sqlite3_finalize(s);

	/* A database from a newer sekisho is refused, not guessed at. */
	assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL),
	    SQLITE_OK);
	sqlite3_close(db);
	st = store_open(fx->path, err, sizeof(err));
	assert_null(st);
	assert_non_null(strstr(err, "newer"));

	/* And a path that cannot be opened says so. */
	err[0] = '\0';
	assert_null(store_open("/nonexistent-dir/x/y.db", err, sizeof(err)));
	assert_true(err[0] != '\0');
}

static void
test_state_names(void **state)
{
	static const struct {
		enum msg_state s;
		const char *name;
	} names[] = {
		{ MSG_RECEIVED, "received" },
		{ MSG_QUEUED, "queued" },
		{ MSG_QUARANTINED, "quarantined" },
		{ MSG_HELD, "held" },
		{ MSG_DONE, "done" },
	};
	enum msg_state s;

	(void)state;
	for (size_t i = 0; i < UTIL_ARRAY_LEN(names); i++) {
		assert_string_equal(store_state_name(names[i].s), names[i].name);
		assert_int_equal(store_state_parse(names[i].name, &s), 0);
		assert_int_equal(s, names[i].s);
	}
	assert_int_equal(store_state_parse("HELD", &s), 0);
	assert_int_equal(s, MSG_HELD);
	assert_int_equal(store_state_parse("nope", &s), -1);
	assert_string_equal(store_state_name((enum msg_state)0), "unknown");
	assert_string_equal(store_state_name((enum msg_state)6), "unknown");
	queue_info_clear(NULL);
	store_close(NULL);
}

/* ---- two connections, two threads, one file ---- */

#define PER_WRITER 150

struct writer {
	const char *path;
	int n;
	int failed;
	char err[256];
};

static void *
writer_main(void *arg)
{
	struct writer *w = arg;
	struct store *st = store_open(w->path, w->err, sizeof(w->err));
	char id[QUEUE_ID_SIZE];

	if (st == NULL) {
		w->failed = 1;
		return NULL;
	}
	for (int i = 0; i < PER_WRITER && !w->failed; i++) {
		struct envelope *env;
		struct queue_info qi = qinfo(MSG_QUEUED, i, i);
		int batch = i % 3 == 0;

		snprintf(id, sizeof(id), "W%dN%04d", w->n, i);
		env = make_env(id, 3);
		/* Mix single writes with small explicit transactions. */
		if (batch && store_begin(st) < 0)
			w->failed = 1;
		if (!w->failed && store_msg_insert(st, env, &qi) < 0)
			w->failed = 1;
		env->rcpt[0].status = RCPT_DELIVERED;
		qi.attempts = 1;
		if (!w->failed && store_msg_update(st, env, &qi) < 0)
			w->failed = 1;
		if (batch && !w->failed && store_commit(st) < 0)
			w->failed = 1;
		if (w->failed)
			util_strlcpy(w->err, store_errmsg(st), sizeof(w->err));
		if (!w->failed && store_msg_count(st, 0) < 0)
			w->failed = 1;
		envelope_free(env);
	}
	store_close(st);
	return NULL;
}

static void
test_two_writers(void **state)
{
	struct tu_store *fx = *state;
	struct writer w[2];
	pthread_t th[2];
	char ids[1][QUEUE_ID_SIZE];

	/* Fresh file, opened by both threads at once: the migration and the
	 * switch to WAL race too. */
	store_close(fx->st);
	fx->st = NULL;
	unlink(fx->path);
	for (int i = 0; i < 2; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].path = fx->path;
		w[i].n = i;
		assert_int_equal(pthread_create(&th[i], NULL, writer_main, &w[i]), 0);
	}
	for (int i = 0; i < 2; i++) {
		pthread_join(th[i], NULL);
		if (w[i].failed)
			fail_msg("writer %d: %s", i, w[i].err);
	}
	fx->st = store_open(fx->path, NULL, 0);
	assert_non_null(fx->st);
	assert_int_equal(store_msg_count(fx->st, 0), 2 * PER_WRITER);
	for (int i = 0; i < 2; i++) {
		struct envelope *got;
		struct queue_info gq;
		char id[QUEUE_ID_SIZE];

		snprintf(id, sizeof(id), "W%dN%04d", i, PER_WRITER - 1);
		assert_int_equal(store_msg_get(fx->st, id, &got, &gq), 0);
		assert_int_equal(got->nrcpt, 3);
		assert_int_equal(got->rcpt[0].status, RCPT_DELIVERED);
		assert_int_equal(gq.attempts, 1);
		envelope_free(got);
		queue_info_clear(&gq);
	}
	assert_int_equal(store_msg_due(fx->st, 0, ids, 1), 1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_roundtrip, tu_store_setup, tu_store_teardown),
		cmocka_unit_test_setup_teardown(test_update, tu_store_setup, tu_store_teardown),
		cmocka_unit_test_setup_teardown(test_due_ordering, tu_store_setup, tu_store_teardown),
		cmocka_unit_test_setup_teardown(test_foreach, tu_store_setup, tu_store_teardown),
		cmocka_unit_test_setup_teardown(test_foreach_pages, tu_store_setup, tu_store_teardown),
		cmocka_unit_test_setup_teardown(test_delete_count, tu_store_setup, tu_store_teardown),
		cmocka_unit_test_setup_teardown(test_transactions, tu_store_setup, tu_store_teardown),
		cmocka_unit_test_setup_teardown(test_reopen, tu_store_setup, tu_store_teardown),
		cmocka_unit_test_setup_teardown(test_schema, tu_store_setup, tu_store_teardown),
		cmocka_unit_test(test_state_names),
		cmocka_unit_test_setup_teardown(test_two_writers, tu_store_setup, tu_store_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
