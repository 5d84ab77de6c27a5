/*
 * test_queue_admin.c - release, delete and learn of a quarantined message
 * (queue_admin.c, shared by "sekisho quarantine" and the console API) on a
 * real SQLite store and spool: the state moves only from QUARANTINED, a
 * second action on the same message fails cleanly, delete removes the file
 * after the row, learn trains the model with source "user", and ids that
 * are not queue ids never reach the file system.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "detect/learn.h"
#include "queue/queue_admin.h"
#include "queue/queue_spool.h"
#include "store/store.h"
#include "util/util.h"
#include "testutil.h"

struct fixture {
	char dir[64];
	struct store *st;
	struct spool *sp;
};

static const char msg_text[] =
    "From: a@example.org\r\nTo: b@sekisho.test\r\nSubject: cheap pills\r\n\r\n"
    "buy cheap pills now, limited offer, click here\r\n";

static int
setup(void **state)
{
	struct fixture *fx = xcalloc(1, sizeof(*fx));
	char err[256], *p;

	snprintf(fx->dir, sizeof(fx->dir), "/tmp/qadmin-test-XXXXXX");
	if (mkdtemp(fx->dir) == NULL)
		return -1;
	p = xasprintf("%s/sekisho.db", fx->dir);
	fx->st = store_open(p, err, sizeof(err));
	free(p);
	p = xasprintf("%s/spool", fx->dir);
	fx->sp = spool_open(p);
	free(p);
	if (fx->st == NULL || fx->sp == NULL)
		return -1;
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	store_close(fx->st);
	spool_close(fx->sp);
	tu_rmtree(fx->dir);
	free(fx);
	return 0;
}

/* A message in the given state, with its file; the id goes to id. */
static void
add_msg(struct fixture *fx, enum msg_state state, char id[QUEUE_ID_SIZE])
{
	struct envelope *env = envelope_new();
	struct queue_info qi;
	struct spool_file *f;

	spool_new_id(id);
	util_strlcpy(env->id, id, QUEUE_ID_SIZE);
	env->listener = xstrdup("inbound");
	env->mail_from = xstrdup("a@example.org");
	env->received_ms = util_now_ms();
	envelope_add_rcpt(env, "b@sekisho.test", NULL, 0);
	assert_non_null(f = spool_create(fx->sp, id));
	assert_int_equal(spool_write(f, msg_text, sizeof(msg_text) - 1), 0);
	assert_int_equal(spool_commit(f), 0);
	memset(&qi, 0, sizeof(qi));
	qi.state = state;
	qi.action = "quarantine";
	assert_int_equal(store_msg_insert(fx->st, env, &qi), 0);
	envelope_free(env);
}

static enum msg_state
state_of(struct fixture *fx, const char *id)
{
	struct queue_info qi;
	enum msg_state s;
	int rc = store_msg_get(fx->st, id, NULL, &qi);

	if (rc != 0)
		return 0;
	s = qi.state;
	queue_info_clear(&qi);
	return s;
}

static void
test_release(void **state)
{
	struct fixture *fx = *state;
	char id[QUEUE_ID_SIZE], err[512];
	struct queue_info qi;

	add_msg(fx, MSG_QUARANTINED, id);
	assert_int_equal(quarantine_release(fx->st, id, err, sizeof(err)), QADMIN_OK);
	assert_int_equal(store_msg_get(fx->st, id, NULL, &qi), 0);
	assert_int_equal(qi.state, MSG_QUEUED);
	assert_string_equal(qi.action, "release");
	assert_true(qi.next_try_ms <= util_now_ms());
	queue_info_clear(&qi);
	/* a second release: the message is no longer quarantined */
	assert_int_equal(quarantine_release(fx->st, id, err, sizeof(err)), QADMIN_WRONG_STATE);
	assert_non_null(strstr(err, "not quarantined"));
	assert_int_equal(quarantine_release(fx->st, "NOSUCHID", err, sizeof(err)),
	    QADMIN_NOT_FOUND);
	/* the store is usable afterwards (no transaction left open) */
	assert_int_equal(store_begin(fx->st), 0);
	assert_int_equal(store_rollback(fx->st), 0);
}

static void
test_delete(void **state)
{
	struct fixture *fx = *state;
	char id[QUEUE_ID_SIZE], held[QUEUE_ID_SIZE], err[512], *path;
	struct stat sb;

	add_msg(fx, MSG_QUARANTINED, id);
	add_msg(fx, MSG_HELD, held);
	path = spool_path(fx->sp, id);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(quarantine_delete(fx->st, fx->sp, id, err, sizeof(err)), QADMIN_OK);
	assert_int_equal(state_of(fx, id), 0);
	assert_int_equal(stat(path, &sb), -1);
	assert_int_equal(quarantine_delete(fx->st, fx->sp, id, err, sizeof(err)),
	    QADMIN_NOT_FOUND);
	/* a held message is not the quarantine's to delete */
	assert_int_equal(quarantine_delete(fx->st, fx->sp, held, err, sizeof(err)),
	    QADMIN_WRONG_STATE);
	assert_int_equal(state_of(fx, held), MSG_HELD);
	free(path);
}

static void
test_learn(void **state)
{
	struct fixture *fx = *state;
	char id[QUEUE_ID_SIZE], err[512], digest[LEARN_DIGEST_HEX];
	struct store_learned l;
	enum learn_outcome o;

	add_msg(fx, MSG_QUARANTINED, id);
	assert_int_equal(quarantine_learn(fx->st, fx->sp, id, 1, 16, "user", &o, err,
	    sizeof(err)), QADMIN_OK);
	assert_int_equal(o, LEARN_LEARNED);
	learn_digest(msg_text, sizeof(msg_text) - 1, digest);
	assert_int_equal(store_learned_get(fx->st, LEARN_MODEL, digest, &l), 0);
	assert_int_equal(l.spam, 1);
	assert_string_equal(l.source, "user");
	/* again: already learned; then as ham: relabelled */
	assert_int_equal(quarantine_learn(fx->st, fx->sp, id, 1, 16, "user", &o, err,
	    sizeof(err)), QADMIN_OK);
	assert_int_equal(o, LEARN_ALREADY);
	assert_int_equal(quarantine_learn(fx->st, fx->sp, id, 0, 16, "user", &o, err,
	    sizeof(err)), QADMIN_OK);
	assert_int_equal(o, LEARN_RELABELLED);
	assert_int_equal(state_of(fx, id), MSG_QUARANTINED);	/* learning moves nothing */
	assert_int_equal(quarantine_learn(fx->st, fx->sp, "NOSUCHID", 1, 16, "user", &o, err,
	    sizeof(err)), QADMIN_NOT_FOUND);
}

static void
test_read_refuses_paths(void **state)
{
	struct fixture *fx = *state;
	size_t len;

	assert_null(quarantine_read(fx->sp, "../sekisho.db", &len));
	assert_null(quarantine_read(fx->sp, "/etc/passwd", &len));
	assert_null(quarantine_read(fx->sp, "", &len));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_release, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(test_learn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_refuses_paths, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
