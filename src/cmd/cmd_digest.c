/*
 * cmd_digest.c - sekisho quarantine digest [--now] [--to ADDR]
 *
 * Sends the quarantine digests that are due (quarantine_digest_time has
 * passed and today's digest is not out yet), or with --now every digest at
 * once, whatever was sent today; --to limits it to one recipient.  Works
 * whether quarantine_digest is on or not: it is the admin's explicit
 * request.  The same run as the daemon's (queue_digest_run), with the same
 * per-recipient claim in the store, so a digest the daemon sent today is
 * not sent again without --now.
 *
 * The CLI has no queue: the mails go in through notify_spool_inject() (the
 * spool file, then a QUEUED row, due now), and a running sekishod delivers
 * them within queue_scan_interval.
 */
#include "cmd/cmd.h"
#include "cmd/common.h"
#include "notify/notify_send.h"
#include "queue/queue_digest.h"
#include "queue/queue_spool.h"
#include "store/store.h"
#include "util/util.h"

#include <stdio.h>
#include <string.h>

int
cmd_quarantine_digest(const struct config *cfg, int argc, char **argv)
{
	struct notify_spool_sink sink = { NULL, NULL };
	const char *only = NULL;
	int force = 0, n;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--now") == 0) {
			force = 1;
		} else if (strcmp(argv[i], "--to") == 0 && i + 1 < argc) {
			only = argv[++i];
		} else {
			fprintf(stderr, "usage: sekisho quarantine digest [--now] [--to ADDR]\n");
			return 2;
		}
	}
	if (cmd_open_state(cfg, &sink.st, &sink.sp) < 0)
		return 1;
	n = queue_digest_run(sink.st, cfg, util_now_ms(), force, only, notify_spool_inject,
	    &sink);
	if (n < 0)
		fprintf(stderr, "sekisho: digest: %s\n", store_errmsg(sink.st));
	else
		printf("%d digest%s queued\n", n, n == 1 ? "" : "s");
	store_close(sink.st);
	spool_close(sink.sp);
	return n < 0 ? 1 : 0;
}
