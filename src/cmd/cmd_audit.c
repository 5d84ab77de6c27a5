/*
 * cmd_audit.c - sekisho audit sieve: the mailbox-settings audit.
 *
 *   sekisho audit sieve [--user USER] [--json]
 *
 * Audits one user, or every user under sieve_dir (or doveadm's list), and
 * prints each finding: the script, the action, its target, whether it is
 * risky and whether it is new since the previous audit; then the findings
 * that went away.  The state is saved in the store, so running it from
 * cron reports each new forwarding rule once.
 *
 * Exit code: 0 nothing new and risky, 3 at least one new risky finding,
 * 1 an error (a user's scripts could not be read, the store failed),
 * 2 usage.
 */
#include "account/sieve_audit.h"
#include "cmd/cmd.h"
#include "cmd/common.h"
#include "store/store.h"
#include "util/util.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *
audit_json(const struct sieve_user_audit *ua)
{
	json_t *f = json_array(), *rm = json_array();

	for (size_t i = 0; i < ua->nf; i++) {
		const struct sieve_finding *x = &ua->f[i];
		json_array_append_new(f, json_pack("{s:s, s:s, s:s, s:b, s:b, s:b, s:b, s:i}",
		    "script", x->script, "kind", sieve_kind_name(x->kind), "target", x->target,
		    "external", x->external, "conditional", x->conditional, "risky", x->risky,
		    "new", x->is_new, "line", x->line));
	}
	for (size_t i = 0; i < ua->nremoved; i++)
		json_array_append_new(rm, json_string(ua->removed[i]));
	return json_pack("{s:s, s:s?, s:s, s:b, s:b, s:i, s:o, s:o}", "user", ua->user,
	    "error", ua->error, "digest", ua->digest, "changed", ua->changed,
	    "first_audit", ua->first, "new_risky", ua->new_risky, "findings", f,
	    "removed", rm);
}

static void
audit_print(const struct sieve_user_audit *ua)
{
	if (ua->error != NULL) {
		printf("%s: error: %s\n", ua->user, ua->error);
		return;
	}
	printf("%s: %zu finding%s%s%s\n", ua->user, ua->nf, ua->nf == 1 ? "" : "s",
	    ua->first ? " (first audit)" : ua->changed ? " (scripts changed)" : "",
	    ua->new_risky ? " -- NEW RISKY RULES / 新しい危険なルールあり" : "");
	for (size_t i = 0; i < ua->nf; i++) {
		const struct sieve_finding *f = &ua->f[i];
		printf("  %-4s %-5s %-13s %s%s%s (%s line %d%s)\n", f->is_new ? "NEW" : "",
		    f->risky ? "RISK" : "info", sieve_kind_name(f->kind), f->target,
		    f->external ? " [external/社外]" : "", "", f->script, f->line,
		    f->conditional ? ", conditional" : "");
	}
	for (size_t i = 0; i < ua->nremoved; i++)
		printf("  gone %s\n", ua->removed[i]);
}

int
cmd_audit(const struct config *cfg, int argc, char **argv)
{
	struct store *st = NULL;
	const char *user = NULL;
	char **users = NULL, err[512];
	json_t *all = NULL;
	int json = 0, rc = 0, new_risky = 0;

	if (argc < 1 || strcmp(argv[0], "sieve") != 0)
		goto usage;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--user") == 0 && i + 1 < argc)
			user = argv[++i];
		else if (strcmp(argv[i], "--json") == 0)
			json = 1;
		else
			goto usage;
	}
	if ((st = cmd_open_store(cfg)) == NULL)
		return 1;
	if (user != NULL) {
		users = xcalloc(2, sizeof(*users));
		users[0] = xstrdup(user);
	} else if ((users = sieve_users(cfg, err, sizeof(err))) == NULL) {
		fprintf(stderr, "sekisho: %s\n", err);
		rc = 1;
		goto out;
	}
	if (json)
		all = json_array();
	for (size_t i = 0; users[i] != NULL; i++) {
		struct sieve_user_audit ua;
		if (sieve_audit_user(cfg, st, users[i], &ua) < 0) {
			fprintf(stderr, "sekisho: %s: %s\n", users[i], store_errmsg(st));
			sieve_user_audit_clear(&ua);
			rc = 1;
			break;
		}
		if (ua.error != NULL)
			rc = 1;
		new_risky += ua.new_risky;
		if (json)
			json_array_append_new(all, audit_json(&ua));
		else
			audit_print(&ua);
		sieve_user_audit_clear(&ua);
	}
	if (json) {
		json_t *root = json_pack("{s:o, s:i}", "users", all, "new_risky", new_risky);
		json_dumpf(root, stdout, JSON_COMPACT);
		fputc('\n', stdout);
		json_decref(root);
	}
	if (rc == 0 && new_risky > 0)
		rc = 3;
out:
	for (size_t i = 0; users != NULL && users[i] != NULL; i++)
		free(users[i]);
	free(users);
	store_close(st);
	return rc;
usage:
	fprintf(stderr, "usage: sekisho audit sieve [--user USER] [--json]\n");
	return 2;
}
