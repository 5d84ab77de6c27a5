/*
 * cmd_directory.c - sekisho directory import [--replace] FILE.csv | list
 *
 * The directory of users, groups and lists that outbound holds and
 * approvals consult (format: docs/outbound.md, outbound_directory.c).
 * An import is one transaction: a bad row stops it with its line number
 * and nothing is kept.  --replace empties the directory first.
 */
#include "cmd/cmd.h"
#include "cmd/common.h"
#include "outbound/outbound.h"
#include "queue/queue_spool.h"
#include "store/store.h"
#include "store/store_outbound.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static int
print_entry(const struct dir_entry *e, void *arg)
{
	static const char *const kinds[] = { "", "user", "group", "list" };
	int *n = arg;
	char hold[24] = "";

	if (e->hold_minutes >= 0)
		snprintf(hold, sizeof(hold), "%lldm", (long long)e->hold_minutes);
	printf("%-5s %-32s %-20s %-12s %-3s %-6s %s%s%s%s%s\n", kinds[e->kind], e->key,
	    e->name ? e->name : "", e->department ? e->department : "",
	    e->language ? e->language : "", hold,
	    e->approvers ? "approvers: " : "", e->approvers ? e->approvers : "",
	    e->delegate ? " delegate: " : "", e->delegate ? e->delegate : "",
	    e->members ? e->members : "");
	(*n)++;
	return 0;
}

int
cmd_directory(const struct config *cfg, int argc, char **argv)
{
	static const char use[] = "usage: sekisho directory import [--replace] FILE.csv | list\n";
	struct store *st = NULL;
	struct spool *sp = NULL;
	const char *sub = argc > 0 ? argv[0] : "";
	int rc = 1, n = 0;

	if (strcmp(sub, "list") != 0 && strcmp(sub, "import") != 0) {
		fputs(use, stderr);
		return 2;
	}
	if (strcmp(sub, "import") == 0) {
		int replace = argc > 1 && strcmp(argv[1], "--replace") == 0;
		const char *file = argc > 1 + replace ? argv[1 + replace] : NULL;
		char err[512];
		FILE *fp;

		if (file == NULL) {
			fputs(use, stderr);
			return 2;
		}
		if ((fp = strcmp(file, "-") == 0 ? stdin : fopen(file, "r")) == NULL) {
			fprintf(stderr, "sekisho: %s: %s\n", file, strerror(errno));
			return 1;
		}
		if (cmd_open_state(cfg, &st, &sp) == 0) {
			n = outbound_dir_import(st, fp, replace, err, sizeof(err));
			if (n < 0)
				fprintf(stderr, "sekisho: %s: %s\n", file, err);
			else {
				printf("%d entries imported\n", n);
				rc = 0;
			}
		}
		if (fp != stdin)
			fclose(fp);
	} else if (cmd_open_state(cfg, &st, &sp) == 0) {
		if (store_dir_foreach(st, print_entry, &n) < 0)
			fprintf(stderr, "sekisho: %s\n", store_errmsg(st));
		else {
			printf("-- %d entries\n", n);
			rc = 0;
		}
	}
	store_close(st);
	spool_close(sp);
	return rc;
}
