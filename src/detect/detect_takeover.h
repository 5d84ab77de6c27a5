/*
 * detect_takeover.h - compromised-account detection from outbound mail
 * (detect_takeover.c): the ACCT_* symbols, suspension for sending, and the
 * signature audit.
 *
 * The pieces below are exported for the sent-mail history writer
 * (detect_forward.c), the daemon's wiring and tests/unit/test_takeover.c.
 */
#ifndef SEKISHO_DETECT_TAKEOVER_H
#define SEKISHO_DETECT_TAKEOVER_H

#include <stddef.h>

#include "detect/detect.h"
#include "store/store_account.h"

extern const struct detector detect_takeover;

/*
 * The login whose history an outbound message belongs to: auth_user, else
 * MAIL FROM when the client is in trusted_networks; NULL when neither.
 * Points into env.
 */
const char *takeover_login(const struct config *cfg, const struct envelope *env);

/* The content score of a result: the sum of its symbols but the account,
 * recipient, DLP and forwarding ones (ACCT_, OUT_, DLP_, FWD_), i.e. what
 * spam and phishing checks think of the mail itself. */
double takeover_content_score(const struct scan_result *r);

/*
 * The signature block of a message text: the lines after the last "-- "
 * line, or those between the last two rule lines (━━━, ＝＝＝, ===, ---),
 * at most 12 lines from the end of the sender's own text (a reply's
 * quoted original, from "-----Original Message-----", "From:", "差出人:"
 * or "... wrote:" on, is someone else's).  Its items -- URLs, phone
 * numbers and bank account numbers, normalised (digits only, half-width),
 * sorted, one per line as "url:...", "tel:...", "bank:..." -- into a
 * malloc'ed string; NULL when there is no block or it has no items.
 */
char *takeover_signature_items(const char *text);

/*
 * Where a new suspension's alert goes: account_alert_raise() in the daemon
 * (set before scans start; NULL: the alert is only stored).
 */
typedef int (*takeover_alert_fn)(const struct config *cfg, struct store *st,
    struct store_alert *a);
void takeover_set_alert(takeover_alert_fn fn);

#endif
