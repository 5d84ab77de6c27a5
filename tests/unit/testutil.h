/*
 * testutil.h - what many unit tests need: a scratch directory of their own
 * and a store in it.  Linked into every tests/unit/test_*.c.
 *
 *   tu_mkdtemp(TAG)     a new empty directory $TMPDIR/TAG-XXXXXX (or /tmp),
 *                       malloc'ed; NULL (and a message) when it cannot be made
 *   tu_rmtree(DIR)      remove it and everything below, not following links
 *   tu_store_open(DIR)  DIR/sekisho.db, created and migrated; NULL + message
 *
 * A cmocka fixture for tests that want only a store in a scratch directory:
 * tu_store_setup/tu_store_teardown with *state a struct tu_store.
 */
#ifndef SEKISHO_TESTUTIL_H
#define SEKISHO_TESTUTIL_H

struct store;

char *tu_mkdtemp(const char *tag);
void tu_rmtree(const char *dir);
struct store *tu_store_open(const char *dir);

struct tu_store {
	char *dir;
	char *path;		/* dir/sekisho.db */
	struct store *st;
};

int tu_store_setup(void **state);
int tu_store_teardown(void **state);

#endif
