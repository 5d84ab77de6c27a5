/*
 * account_service.c - start and stop the account servers (account_service.h).
 */
#include "account/account_service.h"
#include "account/account_guard.h"
#include "account/auth_policy.h"
#include "account/logwatch.h"
#include "account/policyd.h"
#include "util/log.h"
#include "util/util.h"

#include <stdlib.h>
#include <string.h>

#define LOGWATCH_INTERVAL_MS	1000

struct account_service {
	struct account_guard *ag;
	struct auth_policy *ap;
	struct policyd *pd;
	struct logwatch *lw;
};

static void
log_hit(const struct logwatch_hit *h, void *arg)
{
	struct account_guard *ag = arg;
	struct login_attempt a = {
		.login = h->login, .ip = h->ip, .protocol = h->protocol,
		.source = h->source,
	};

	for (int i = 0; i < h->count; i++)
		account_guard_report(ag, &a);
}

struct account_service *
account_service_start(const struct config *cfg, struct event_base *base, char *err,
    size_t errlen)
{
	struct account_service *as = xcalloc(1, sizeof(*as));
	int files = cfg->auth_log_files != NULL && cfg->auth_log_files[0] != NULL;
	int logs = files || cfg->auth_log_journal;

	*err = '\0';
	if (*cfg->auth_policy_listen == '\0' && *cfg->policy_listen == '\0' && !logs)
		return as;
	if ((as->ag = account_guard_new(cfg, err, errlen)) == NULL)
		goto fail;
	if (*cfg->auth_policy_listen != '\0' &&
	    (as->ap = auth_policy_start(cfg, as->ag, err, errlen)) == NULL)
		goto fail;
	if (*cfg->policy_listen != '\0') {
		as->pd = policyd_new(cfg, as->ag);
		if (policyd_listen(as->pd, base, err, errlen) < 0)
			goto fail;
	}
	if (logs) {
		as->lw = logwatch_new(cfg->auth_log_files, log_hit, as->ag);
		if (cfg->auth_log_journal &&
		    logwatch_add_command(as->lw, cfg->auth_log_journal_command, err, errlen) < 0)
			goto fail;
		if (logwatch_schedule(as->lw, base, LOGWATCH_INTERVAL_MS) < 0) {
			snprintf(err, errlen, "auth_log_files: cannot start the timer");
			goto fail;
		}
		if (files)
			log_info("logwatch: following %s%s", cfg->auth_log_files[0],
			    cfg->auth_log_files[1] ? " and more" : "");
		if (cfg->auth_log_journal)
			log_info("logwatch: reading the journal: %s",
			    cfg->auth_log_journal_command);
	}
	return as;
fail:
	account_service_stop(as);
	return NULL;
}

void
account_service_stop(struct account_service *as)
{
	if (as == NULL)
		return;
	auth_policy_stop(as->ap);
	policyd_free(as->pd);
	logwatch_free(as->lw);
	account_guard_free(as->ag);
	free(as);
}

struct account_guard *
account_service_guard(struct account_service *as)
{
	return as != NULL ? as->ag : NULL;
}
