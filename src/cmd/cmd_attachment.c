/*
 * cmd_attachment.c - sekisho attachment list | show ID | revoke ID
 *
 * Protected attachments (src/outbound/attach_link.h), by the queue id of
 * their message: list shows every set (mode, state, downloads, expiry,
 * sender, subject); show adds the files and every download (time,
 * address, user agent, result); revoke stops a link at once (a running
 * sekishod removes the files at its next tick).  Codes and passwords are
 * never printed.
 */
#include "cmd/cmd.h"
#include "cmd/common.h"
#include "outbound/attach_link.h"
#include "store/store.h"
#include "store/store_attach.h"
#include "util/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void
when(int64_t ms, char *buf, size_t len)
{
	if (ms <= 0) {
		snprintf(buf, len, "-");
		return;
	}
	util_local_time(ms, "%Y-%m-%d %H:%M:%S", buf, len);
}

static int
print_set(const struct attach_set *s, void *arg)
{
	char until[32];

	(void)arg;
	when(s->expires_ms, until, sizeof(until));
	printf("%-20s %-4s %-8s %3lld/%-3lld %s <%s> %s\n", s->id, s->mode, s->state,
	    (long long)s->downloads, (long long)s->max_downloads, until, s->sender,
	    s->subject ? s->subject : "");
	return 0;
}

static int
show(struct store *st, const char *id)
{
	struct attach_set s;
	struct attach_file *f;
	struct attach_download *d;
	char t[32];
	size_t nf;
	int rc, nd;

	if ((rc = store_attach_get(st, id, &s)) != 0) {
		fprintf(stderr, "sekisho: %s\n", rc < 0 ? store_errmsg(st) : "no such attachment set");
		return 1;
	}
	printf("id:          %s\nmode:        %s\nstate:       %s\nsender:      %s\n"
	    "recipients:  %s\nsubject:     %s\n", s.id, s.mode, s.state, s.sender,
	    s.recipients, s.subject ? s.subject : "");
	when(s.created_ms, t, sizeof(t));
	printf("created:     %s\n", t);
	when(s.expires_ms, t, sizeof(t));
	printf("expires:     %s\ndownloads:   %lld of %lld%s\ncode:        %s\n", t,
	    (long long)s.downloads, (long long)s.max_downloads,
	    s.max_downloads == 0 ? " (no limit)" : "", s.has_code ? "yes" : "no");
	if (s.revoked_ms > 0) {
		when(s.revoked_ms, t, sizeof(t));
		printf("revoked:     %s by %s\n", t, s.revoked_by ? s.revoked_by : "-");
	}
	if (store_attach_files(st, id, &f, &nf) == 0) {
		printf("files:\n");
		for (size_t i = 0; i < nf; i++)
			printf("  %d. %s (%s, %lld bytes)\n", f[i].idx, f[i].name, f[i].ctype,
			    (long long)f[i].size);
		attach_files_free(f, nf);
	}
	nd = store_attach_log_get(st, id, &d);
	printf("downloads log:\n");
	for (int i = 0; i < nd; i++) {
		when(d[i].t_ms, t, sizeof(t));
		printf("  %s %-5s file=%d ip=%s agent=\"%s\"\n", t, d[i].result, d[i].idx,
		    d[i].ip ? d[i].ip : "-", d[i].agent ? d[i].agent : "");
	}
	if (nd > 0)
		attach_downloads_free(d, nd);
	attach_set_clear(&s);
	return 0;
}

int
cmd_attachment(const struct config *cfg, int argc, char **argv)
{
	const char *usage = "usage: sekisho attachment list | show ID | revoke ID\n";
	struct store *st;
	int rc = 0;

	if (argc < 1) {
		fputs(usage, stderr);
		return 2;
	}
	if ((st = cmd_open_store(cfg)) == NULL)
		return 1;
	if (strcmp(argv[0], "list") == 0) {
		if (store_attach_foreach(st, print_set, NULL) < 0) {
			fprintf(stderr, "sekisho: %s\n", store_errmsg(st));
			rc = 1;
		}
	} else if (argc < 2) {
		fputs(usage, stderr);
		rc = 2;
	} else if (strcmp(argv[0], "show") == 0) {
		rc = show(st, argv[1]);
	} else if (strcmp(argv[0], "revoke") == 0) {
		const char *user = getenv("USER");
		char *by = xasprintf("cli:%s", user && *user ? user : "root");

		rc = attach_link_revoke(st, argv[1], by);
		free(by);
		if (rc < 0)
			fprintf(stderr, "sekisho: %s\n", store_errmsg(st));
		else if (rc == 1)
			fprintf(stderr, "sekisho: %s: no such link, or already revoked\n", argv[1]);
		else
			printf("%s: revoked\n", argv[1]);
		rc = rc == 0 ? 0 : 1;
	} else {
		fputs(usage, stderr);
		rc = 2;
	}
	store_close(st);
	return rc;
}
