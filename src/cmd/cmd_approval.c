/*
 * cmd_approval.c - sekisho approval list | approve ID | reject ID
 *                  [--comment TEXT]
 *
 * Mail waiting for an approver (hold kind "approval").  approve sends it,
 * reject keeps it from leaving; either way a running sekishod tells the
 * sender the outcome (with the comment).  The decision goes through
 * outbound_act(), the same call the approvers' signed links make.
 */
#include "cmd/cmd.h"
#include "cmd/common.h"
#include "outbound/outbound.h"
#include "queue/queue_spool.h"
#include "store/store.h"
#include "store/store_outbound.h"

#include <stdio.h>
#include <string.h>

int
cmd_approval(const struct config *cfg, int argc, char **argv)
{
	static const char use[] =
	    "usage: sekisho approval list | approve ID [--comment TEXT] | reject ID "
	    "[--comment TEXT]\n";
	struct store *st = NULL;
	struct spool *sp = NULL;
	const char *sub = argc > 0 ? argv[0] : "", *comment = NULL;
	int rc = 1;

	if (strcmp(sub, "list") != 0) {
		if (argc < 2 || (strcmp(sub, "approve") != 0 && strcmp(sub, "reject") != 0)) {
			fputs(use, stderr);
			return 2;
		}
		for (int i = 2; i < argc; i++) {
			if (strcmp(argv[i], "--comment") == 0 && i + 1 < argc) {
				comment = argv[++i];
			} else if (strncmp(argv[i], "--comment=", 10) == 0) {
				comment = argv[i] + 10;
			} else {
				fputs(use, stderr);
				return 2;
			}
		}
	}
	if (cmd_open_state(cfg, &st, &sp) < 0)
		return 1;
	if (strcmp(sub, "list") == 0) {
		struct cmd_hold_list la = { st, "approval", 0 };
		printf("%-20s %-8s %-9s %-19s %5s %s\n", "ID", "KIND", "STATUS", "DEADLINE",
		    "RISK", "SENDER SUBJECT");
		if (store_hold_foreach(st, "held", cmd_hold_print, &la) < 0)
			fprintf(stderr, "sekisho: %s\n", store_errmsg(st));
		else {
			printf("-- %d waiting for approval\n", la.n);
			rc = 0;
		}
	} else {
		rc = cmd_hold_act(st, argv[1], sub, comment);
	}
	store_close(st);
	spool_close(sp);
	return rc;
}
