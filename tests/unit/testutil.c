/*
 * testutil.c - scratch directories and stores for the unit tests
 * (testutil.h).
 */
#include "testutil.h"

#include "queue/queue_spool.h"
#include "store/store.h"
#include "util/config.h"
#include "util/util.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *
tu_mkdtemp(const char *tag)
{
	const char *tmp = getenv("TMPDIR");
	char *dir = xasprintf("%s/%s-XXXXXX", tmp != NULL && *tmp != '\0' ? tmp : "/tmp", tag);

	if (mkdtemp(dir) == NULL) {
		perror(dir);
		free(dir);
		return NULL;
	}
	return dir;
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void
tu_rmtree(const char *dir)
{
	if (dir != NULL)
		nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

struct store *
tu_store_open(const char *dir)
{
	char err[256], *path = xasprintf("%s/sekisho.db", dir);
	struct store *st = store_open(path, err, sizeof(err));

	if (st == NULL)
		fprintf(stderr, "store_open %s: %s\n", path, err);
	free(path);
	return st;
}

int
tu_store_setup(void **state)
{
	struct tu_store *ts = xcalloc(1, sizeof(*ts));

	if ((ts->dir = tu_mkdtemp("sekisho-test")) == NULL ||
	    (ts->st = tu_store_open(ts->dir)) == NULL) {
		tu_rmtree(ts->dir);
		free(ts->dir);
		free(ts);
		return -1;
	}
	ts->path = xasprintf("%s/sekisho.db", ts->dir);
	*state = ts;
	return 0;
}

int
tu_store_teardown(void **state)
{
	struct tu_store *ts = *state;

	store_close(ts->st);
	tu_rmtree(ts->dir);
	free(ts->dir);
	free(ts->path);
	free(ts);
	return 0;
}

void
tu_set(struct config *cfg, const char *name, const char *value)
{
	char err[256];

	if (config_set(cfg, name, value, err, sizeof(err)) < 0)
		fail_msg("config_set %s: %s", name, err);
}

void
tu_offline(struct config *cfg, const char *state_dir)
{
	const char *src = getenv("SEKISHO_SRC");
	char *rules = xasprintf("%s/rules", src ? src : ".");

	tu_set(cfg, "rules_dir", rules);
	free(rules);
	tu_set(cfg, "state_dir", state_dir);
	tu_set(cfg, "network_checks", "no");
	tu_set(cfg, "bayes_enable", "no");
	tu_set(cfg, "attach_enable", "no");
}

int
tu_state_open(struct tu_state *ts, const char *tag)
{
	const char *src = getenv("SEKISHO_SRC");
	char *path;

	memset(ts, 0, sizeof(*ts));
	if ((ts->dir = tu_mkdtemp(tag)) == NULL)
		return -1;
	ts->cfg = config_new();
	tu_set(ts->cfg, "state_dir", ts->dir);
	tu_set(ts->cfg, "myhostname", "gw.sekisho.test");
	tu_set(ts->cfg, "local_domains", "sekisho.test");
	tu_set(ts->cfg, "console_url", "https://gw.sekisho.test:8025");
	if (src != NULL) {
		path = xasprintf("%s/templates", src);
		tu_set(ts->cfg, "templates_dir", path);
		free(path);
	}
	ts->st = tu_store_open(ts->dir);
	path = config_state_path(ts->cfg, "spool");
	ts->sp = spool_open(path);
	free(path);
	return ts->st != NULL && ts->sp != NULL ? 0 : -1;
}

void
tu_state_close(struct tu_state *ts)
{
	store_close(ts->st);
	if (ts->sp != NULL)
		spool_close(ts->sp);
	config_free(ts->cfg);
	tu_rmtree(ts->dir);
	free(ts->dir);
	memset(ts, 0, sizeof(*ts));
}
