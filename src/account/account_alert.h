/*
 * account_alert.h - where the login guard's alerts go.
 *
 * account_alert_raise() stores the alert (store_alert_add), writes one log
 * line ("alert kind=... login=... ip=... detail=...") and hands it to
 * account_alert_notify(), the boundary for mail to the admin and the user.
 *
 * The alert is raised where the guard decides: inside the auth policy or
 * Postfix policy answer, with the guard's mutex held.  So the mail is not
 * composed there: account_alert_notify() only copies the alert into a
 * bounded in-memory list (a few microseconds) and wakes the mailer thread,
 * which applies the throttle (store_notify.h), composes the mails
 * (templates alert-admin and alert-user, Japanese and English) and queues
 * them.  Without a running mailer (the CLI, tests) it only logs.  When
 * the list is full the oldest alert's mail is dropped and logged: the
 * alert itself is in the store and the log either way.
 */
#ifndef SEKISHO_ACCOUNT_ALERT_H
#define SEKISHO_ACCOUNT_ALERT_H

#include "notify/notify_send.h"
#include "store/store_account.h"
#include "util/config.h"

/* 0, or -1 when the store failed (the log line is written anyway). */
int account_alert_raise(const struct config *cfg, struct store *st,
    struct store_alert *a);
/* Send the alert's notification mails; never blocks on the mail. */
void account_alert_notify(const struct config *cfg, const struct store_alert *a);

/*
 * The mails of one alert, now: one to alert_admins (notify_language) and,
 * for an alert about a login, one to that user (the directory's language,
 * else notify_language), unless a mail of the same kind about the same
 * login (or address) went out within alert_mail_interval.  Returns the
 * mails queued (0: throttled or nobody to tell), or -1.
 */
int account_alert_mail(struct store *st, const struct config *cfg,
    const struct store_alert *a, notify_inject_fn inject, void *arg);

/* sekishod: start the mailer thread (its own store connection) that sends
 * what account_alert_notify() hands it; stop drains nothing, it ends. */
int account_alert_mailer_start(const struct config *cfg, notify_inject_fn inject,
    void *arg, char *err, size_t errlen);
void account_alert_mailer_stop(void);

/* What an alert kind means, in lang ("ja" or "en"). */
const char *account_alert_describe(const char *kind, const char *lang);

#endif
