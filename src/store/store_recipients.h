/*
 * store_recipients.h - the outbound recipient history: whom each sender
 * has mailed, and so which domains each organisation mails (migration 6,
 * store_sqlite_recipients.c).
 *
 * One row per sender and recipient address: the sender's organisation
 * (one of local_domains), the recipient's registrable domain, when the
 * sender first and last mailed it and how many messages.  Addresses are
 * kept lower-case.  The organisation's domains are read from these rows
 * together with the store's correspondents table (store.h, outbound
 * column), so that the history the phishing check kept before this table
 * existed counts too.
 *
 * Calls return 0, 1 for "not found" where it says so, or -1 with
 * store_errmsg() set.  A note outside store_begin() is its own durable
 * transaction.
 */
#ifndef SEKISHO_STORE_RECIPIENTS_H
#define SEKISHO_STORE_RECIPIENTS_H

#include <stdint.h>

#include "store/store.h"

struct store_rcpt_hist {
	int64_t first_ms, last_ms;
	int64_t count;
};

/* Has sender mailed rcpt?  0 found (*h filled), 1 never, -1 error. */
int store_rcpt_get(struct store *st, const char *sender, const char *rcpt,
    struct store_rcpt_hist *h);
/* One message from sender (of org) to rcpt, whose registrable domain is
 * domain, at now_ms. */
int store_rcpt_note(struct store *st, const char *org, const char *sender,
    const char *rcpt, const char *domain, int64_t now_ms);
/* Messages org has sent to domain (the larger of this history and the
 * correspondents' outbound count): 0 with *count (possibly 0), -1 error. */
int store_rcpt_domain_count(struct store *st, const char *org, const char *domain,
    int64_t *count);
/* When org's outbound history began (either table): 0 with *first_ms,
 * 1 no history, -1 error. */
int store_rcpt_since(struct store *st, const char *org, int64_t *first_ms);
/* Visit the domains org has sent at least min_count messages to, most
 * mailed first; a callback returning non-zero stops.  0 or -1. */
typedef int (*store_rcpt_domain_cb)(const char *domain, int64_t count, void *arg);
int store_rcpt_frequent(struct store *st, const char *org, int64_t min_count,
    store_rcpt_domain_cb cb, void *arg);

#endif
