/*
 * store_notify.h - what the notification mails remember: the alert mail
 * throttle and the last quarantine digest of each recipient.
 *
 * Both are claims taken in one write transaction before the mail is
 * composed, so that two sekishod nodes sharing the store (or a node and
 * `sekisho quarantine digest`) never both send: whoever takes the claim
 * sends; a crash between the claim and the queue loses that one mail
 * rather than sending it twice.
 *
 * Calls return 1 (claimed: send), 0 (not now), or -1 (store_errmsg()).
 */
#ifndef SEKISHO_STORE_NOTIFY_H
#define SEKISHO_STORE_NOTIFY_H

#include <stdint.h>

#include "store/store.h"

/*
 * Alert mails: at most one per (kind, who) per interval_ms.  who is the
 * login, or the address or network for alerts about no one login.
 */
int store_alert_mail_claim(struct store *st, const char *kind, const char *who,
    int64_t now_ms, int64_t interval_ms);

/*
 * Quarantine digests: claim the digest of rcpt when its last one was sent
 * before due_ms.  On 1 the new row says sent at now_ms, covering mail up
 * to now_ms, and *since_ms gets the end of the previous digest (0: none
 * yet), from which this one lists mail.
 */
int store_digest_claim(struct store *st, const char *rcpt, int64_t due_ms,
    int64_t now_ms, int64_t *since_ms);
/* When rcpt's last digest was sent: 0 found (*sent_ms), 1 none, -1. */
int store_digest_last(struct store *st, const char *rcpt, int64_t *sent_ms);

/*
 * Remove link tokens (hold and digest links alike) that expired before
 * before_ms: once expired they can do nothing, and a digest makes two a
 * message a day.  The number removed, or -1.
 */
int64_t store_link_token_prune(struct store *st, int64_t before_ms);

#endif
