/*
 * testutil.c - scratch directories and stores for the unit tests
 * (testutil.h).
 */
#include "testutil.h"

#include "store/store.h"
#include "util/util.h"

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
