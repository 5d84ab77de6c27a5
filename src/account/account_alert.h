/*
 * account_alert.h - where the login guard's alerts go.
 *
 * account_alert_raise() stores the alert (store_alert_add), writes one log
 * line ("alert kind=... login=... ip=... detail=...") and hands it to
 * account_alert_notify(), the boundary for mail to the admin and the user
 * (Japanese and English, src/notify).  Until that is wired,
 * account_alert_notify() only logs at debug level.
 */
#ifndef SEKISHO_ACCOUNT_ALERT_H
#define SEKISHO_ACCOUNT_ALERT_H

#include "store/store_account.h"
#include "util/config.h"

/* 0, or -1 when the store failed (the log line is written anyway). */
int account_alert_raise(const struct config *cfg, struct store *st,
    struct store_alert *a);
/* Send the alert's notification mails; must not block for long. */
void account_alert_notify(const struct config *cfg, const struct store_alert *a);

#endif
