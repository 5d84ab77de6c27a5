/*
 * detect_outbound.h - recipient checks of outgoing mail (detect_outbound.c):
 * external, many, wide, first-time and lookalike recipients.
 *
 * The pieces are exported for src/policy (the Bcc rewrite), for the hold
 * and approval flow (noting recipients of released mail, the directory's
 * alias expansion) and for tests/unit/test_outbound_rcpt.c.
 */
#ifndef SEKISHO_DETECT_OUTBOUND_H
#define SEKISHO_DETECT_OUTBOUND_H

#include <stddef.h>
#include <stdint.h>

#include "detect/detect.h"
#include "detect/detect_phish.h"

extern const struct detector detect_outbound;

/*
 * Internal or external.  An address is internal when its domain is one of
 * local_domains or below one.  The directory (src/outbound) refines this
 * once it knows aliases and lists: a hook set at start-up answers first,
 * 1 internal, 0 external, -1 "not mine, use the domains".  The hook must
 * be thread-safe; set it before scans start (not locked).
 */
typedef int (*outbound_internal_fn)(const char *addr, void *arg);
void outbound_set_internal_hook(outbound_internal_fn fn, void *arg);
int outbound_is_internal(const struct config *cfg, const char *addr);

/* The sender of an outbound message as the history keys it: the envelope
 * sender, or the From address for the null sender; lower-case, malloc'ed,
 * NULL when there is none. */
char *outbound_sender(const struct envelope *env, const struct message *msg);

/*
 * Note that env's external recipients were sent mail now (what the
 * detector's verdict callback does for mail delivered at once).  The hold
 * and approval flow calls it when a held message is released.  0 or -1
 * with store_errmsg(st).
 */
struct store;
int outbound_note_recipients(struct store *st, const struct config *cfg,
    const struct envelope *env, const struct message *msg, int64_t now_ms);

/* wide_external_action = bcc: the external addresses of To and Cc, lower-
 * case, NULL-terminated, malloc'ed (free each and the array); NULL when
 * there are none. */
char **outbound_bcc_addrs(const struct config *cfg, const struct message *msg);

/*
 * Does domain (a registrable domain, ASCII or punycode; domain_utf8 its
 * Unicode form or NULL) imitate one of the known domains?  known holds the
 * organisation's frequent correspondents and own domains (brandset_add_own);
 * names the same domains as a list, for the short-name edit distance.
 * Counted: 1 edit on a name of 4-7 letters, 2 from 8 (examp1e.co.jp for
 * example.co.jp counts as look-alike letters), the same name under another
 * suffix (example.jp for example.co.jp), look-alike letters, words added to
 * a name of 5 letters or more.  The imitated domain is copied to imitated.
 */
enum look_kind outbound_lookalike(const struct brandset *known, char *const *names,
    const char *domain, const char *domain_utf8, char *imitated, size_t len);

#endif
