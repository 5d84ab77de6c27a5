/*
 * common.c - option handling shared by sekishod and sekisho.
 */
#include "cmd/common.h"
#include "queue/queue_spool.h"
#include "store/store.h"
#include "util/util.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct config *
cmd_load_config(int argc, char **argv, int *argi, const char *usage)
{
	struct config *cfg = config_new();
	const char *file = NULL;
	char err[512];
	int i;

	/* the file first, then -o in order, whatever their places */
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			file = argv[++i];
		else if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
			i++;
		else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
			fputs(usage, stdout);
			exit(0);
		} else if (argv[i][0] == '-' && (strcmp(argv[i], "-c") == 0 ||
		    strcmp(argv[i], "-o") == 0)) {
			fprintf(stderr, "%s: %s needs an argument\n%s", argv[0], argv[i], usage);
			goto fail;
		} else
			break;
	}
	*argi = i;
	if (file != NULL && config_load_file(cfg, file, stderr) != 0)
		goto fail;
	for (i = 1; i < *argi; i++) {
		if (strcmp(argv[i], "-c") == 0) {
			i++;
		} else if (strcmp(argv[i], "-o") == 0) {
			if (config_override(cfg, argv[++i], err, sizeof(err)) < 0) {
				fprintf(stderr, "%s: -o %s: %s\n", argv[0], argv[i], err);
				goto fail;
			}
		}
	}
	if (*cfg->myhostname == '\0') {
		char host[256];
		if (gethostname(host, sizeof(host)) < 0 || host[0] == '\0')
			util_strlcpy(host, "localhost", sizeof(host));
		host[sizeof(host) - 1] = '\0';
		free(cfg->myhostname);
		cfg->myhostname = xstrdup(host);
	}
	if (config_validate(cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s%s%s\n", argv[0], file ? file : "", file ? ": " : "", err);
		goto fail;
	}
	return cfg;
fail:
	config_free(cfg);
	return NULL;
}

struct store *
cmd_open_store(const struct config *cfg)
{
	char err[256], *db;
	struct store *st;

	if (util_mkdirs(cfg->state_dir, 0700) < 0) {
		fprintf(stderr, "sekisho: %s: %s\n", cfg->state_dir, strerror(errno));
		return NULL;
	}
	db = config_state_path(cfg, "sekisho.db");
	st = store_open(db, err, sizeof(err));
	free(db);
	if (st == NULL)
		fprintf(stderr, "sekisho: %s\n", err);
	return st;
}

int
cmd_open_state(const struct config *cfg, struct store **stp, struct spool **spp)
{
	char err[256], *db, *dir;
	struct stat sb;

	db = config_state_path(cfg, "sekisho.db");
	if (stat(db, &sb) < 0) {
		fprintf(stderr, "sekisho: no store at %s (state_dir %s): has sekishod run here?\n",
		    db, cfg->state_dir);
		free(db);
		return -1;
	}
	*stp = store_open(db, err, sizeof(err));
	free(db);
	if (*stp == NULL) {
		fprintf(stderr, "sekisho: %s\n", err);
		return -1;
	}
	dir = config_state_path(cfg, "spool");
	*spp = spool_open(dir);
	free(dir);
	if (*spp == NULL) {
		fprintf(stderr, "sekisho: cannot open the spool: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}
