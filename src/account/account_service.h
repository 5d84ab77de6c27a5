/*
 * account_service.h - the daemon's account-takeover side in one call:
 * the Dovecot auth policy server (auth_policy_listen), the Postfix policy
 * server (policy_listen) and the log watcher (auth_log_files), all over
 * one account_guard.  Nothing starts when none of them is set.
 */
#ifndef SEKISHO_ACCOUNT_SERVICE_H
#define SEKISHO_ACCOUNT_SERVICE_H

#include <stddef.h>

#include "util/config.h"

struct account_service;
struct event_base;

/* NULL with err on failure; with nothing configured, a service that does
 * nothing (err empty).  Free with account_service_stop(). */
struct account_service *account_service_start(const struct config *cfg,
    struct event_base *base, char *err, size_t errlen);
void account_service_stop(struct account_service *as);
/* The guard the servers share, for other login paths (the console);
 * NULL when none of the servers runs. */
struct account_guard;
struct account_guard *account_service_guard(struct account_service *as);

#endif
