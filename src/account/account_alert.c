/*
 * account_alert.c - store, log and notify an account alert (account_alert.h).
 */
#include "account/account_alert.h"
#include "store/store.h"
#include "util/log.h"
#include "util/util.h"

int
account_alert_raise(const struct config *cfg, struct store *st, struct store_alert *a)
{
	char ql[300], qi[80], qd[600];
	int rc = 0;

	if (a->time_ms == 0)
		a->time_ms = util_now_ms();
	if (st != NULL && store_alert_add(st, a, &a->id) < 0) {
		log_err("alert: cannot store: %s", store_errmsg(st));
		rc = -1;
	}
	log_warn("alert id=%lld kind=%s login=%s ip=%s detail=%s", (long long)a->id, a->kind,
	    log_kv_quote(ql, sizeof(ql), a->login), log_kv_quote(qi, sizeof(qi), a->ip),
	    log_kv_quote(qd, sizeof(qd), a->detail));
	account_alert_notify(cfg, a);
	return rc;
}

void
account_alert_notify(const struct config *cfg, const struct store_alert *a)
{
	(void)cfg;
	log_debug("alert id=%lld: no notification channel wired yet", (long long)a->id);
}
