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

/*
 * A gateway's state in a scratch directory, for tests of the parts that
 * mail (notices, digests, holds): a config with state_dir there, myhostname
 * gw.sekisho.test, local_domains sekisho.test, console_url
 * https://gw.sekisho.test:8025 and templates_dir from $SEKISHO_SRC; the
 * store and the spool of that state_dir.  tu_state_open: 0 or -1.
 */
struct config;
struct spool;

struct tu_state {
	char *dir;
	struct config *cfg;
	struct store *st;
	struct spool *sp;
};

int tu_state_open(struct tu_state *ts, const char *tag);
void tu_state_close(struct tu_state *ts);
/* config_set that fails the test with the reason. */
void tu_set(struct config *cfg, const char *name, const char *value);
/* A config for scanning offline in state_dir: rules_dir from $SEKISHO_SRC
 * (or ./rules), network checks, the classifier and the attachment engines
 * off. */
void tu_offline(struct config *cfg, const char *state_dir);

#endif
